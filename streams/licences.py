"""Licence state: turn validated licence events into one atomic Redis update per batch.

Python does the per-event work that needs libraries (coordinate conversion, point-in-region lookup,
H3 cells); ``lua/apply_licences.lua`` then applies the batch inside Redis, atomically and
idempotently (see the rules at the top of that file).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import redis

from core import keys
from geo.index import RegionIndex
from streams.effects import day_start_ms, event_day
from streams.payloads import LicenceChanged, LicenceIssued, LicenceRenewed
from streams.placement import fields_of, h3_cells, locate, outside
from streams.schema import Event

_LUA = Path(__file__).parent / "lua"


def lua_script(name: str) -> str:
    """An apply script with the shared last-writer-wins helpers (lua/lww.lua) in front of it."""
    return (_LUA / "lww.lua").read_text(encoding="utf-8") + (_LUA / name).read_text(encoding="utf-8")


_SCRIPT = lua_script("apply_licences.lua")


class OutsideRegion(ValueError):
    """The event's point lies outside every county of the configured province."""


@dataclass(frozen=True)
class ApplyResult:
    """What one batch did to the licence state."""

    applied: int
    duplicates: int
    stale: int
    version: int
    last_event_ms: int


class LicenceStore:
    """Writes licence events to Redis; built once per process with an explicit connection."""

    def __init__(self, r: redis.Redis, index: RegionIndex, resolutions: tuple[int, ...]) -> None:
        self.r = r
        self.index = index
        self.resolutions = tuple(sorted(resolutions))  # the Lua script pairs cells with these in order
        self._script = r.register_script(_SCRIPT)

    def place(self, events: list[Event]) -> tuple[list[list[str] | None], list[str | None]]:
        """Compute the place of every event that carries a point (vectorised).

        Returns (places, errors): for each event either its place — ``[county, city, lon, lat, cell
        per resolution ...]`` as text, ``[]`` for events that carry no point — or an error reason for
        a point outside the province.
        """
        full = [
            i for i, e in enumerate(events) if fields_of(type(e.payload))[0] and e.payload.point is not None
        ]
        places: list[list[str] | None] = [[] for _ in events]
        errors: list[str | None] = [None] * len(events)
        if not full:
            return places, errors
        lon, lat, counties, cities = locate(self.index, [events[i].payload.point for i in full])
        cells = h3_cells(lon, lat, self.resolutions)
        for i, x, y, county, city, cell in zip(full, lon, lat, counties, cities, cells, strict=True):
            if county == 0:
                places[i] = None
                errors[i] = outside(x, y)
            else:
                places[i] = [str(county), str(city), f"{x:.6f}", f"{y:.6f}", *cell]
        return places, errors

    def apply(self, events: list[Event], places: list[list[str]], now_ms: int | None = None) -> ApplyResult:
        """Apply already validated and placed events in one atomic script call."""
        return self.commit(self.prepare(events, places, now_ms))

    def prepare(
        self, events: list[Event], places: list[list[str]], now_ms: int | None = None
    ) -> list[str | int | bytes]:
        """The script arguments for a batch (CPU only: may run while the previous batch commits)."""
        flat: list[object] = []
        records: list[bytes] = []
        days: dict[str, str] = {}
        for event, place in zip(events, places, strict=True):
            p = event.payload
            # the record: the payload's fields (JSON from pydantic-core directly for the two events with
            # many), its status, and "_v": every field of the record is last-writer-wins on this
            tail = f'"status":"{event.status}",' if event.status else ""
            tail = f'{tail}"_v":{event.occurred_ms}}}'.encode()
            if isinstance(p, LicenceIssued):
                record = p.__pydantic_serializer__.to_json(p)[:-1] + b"," + tail
            elif isinstance(p, LicenceChanged):
                record = p.__pydantic_serializer__.to_json(p, exclude_none=True)[:-1] + b"," + tail
            elif isinstance(p, LicenceRenewed):
                record = b'{"valid_to":"' + p.valid_to.isoformat().encode() + b'",' + tail
            else:
                record = orjson.dumps({"reason": p.reason})[:-1] + b"," + tail
            day = event_day(event)
            if day not in days:
                days[day] = str(day_start_ms(day))
            holder = p.holder if isinstance(p, LicenceChanged) and p.holder else ""
            flat += [event.id, p.licence_no, str(event.occurred_ms), event.status, place]
            flat += [day, f"{p.licence_no[:6]}:{event.type[8:]}", holder]
            records.append(record)
        return [
            keys.LICENCE_CELLS_PREFIX,
            keys.LICENCE_COUNTS_PREFIX,
            " ".join(str(r) for r in self.resolutions),
            now_ms if now_ms is not None else int(time.time() * 1000),
            orjson.dumps({"days": days, "events": flat}),
            keys.day_counts("licence", ""),  # the prefix: the script appends the day
            keys.days_index("licence"),
            keys.DIRTY_DAYS,
            keys.coverage(""),  # the prefix: the script appends the county
            keys.LAST_INSPECTION,
            keys.observations("holder"),
            *records,
        ]

    def commit(self, args: list[str | int]) -> ApplyResult:
        """Run the apply script on prepared arguments."""
        applied, dups, stale, version, last = self._script(
            keys=[
                keys.seen("licence"),
                keys.LICENCES,
                keys.LICENCE_META,
                keys.LICENCE_GEO,
                keys.LICENCE_VERSION,
                keys.source_status("licence"),
            ],
            args=args,
        )
        return ApplyResult(int(applied), int(dups), int(stale), int(version), int(last))


def active_counts(r: redis.Redis, adcodes: list[int]) -> dict[int, int]:
    """Number of valid licences in each of ``adcodes`` (county, city or province)."""
    if not adcodes:
        return {}
    values = r.hmget(keys.licence_counts("valid"), [str(a) for a in adcodes])
    return {a: int(v or 0) for a, v in zip(adcodes, values, strict=True)}


def licence_freshness(r: redis.Redis) -> tuple[int | None, int]:
    """(when the consumer last took in licence events, epoch ms or None; licence state version)."""
    last, version = r.hget(keys.source_status("licence"), "last_ingest_ms"), r.get(keys.LICENCE_VERSION)
    return (int(last) if last else None), int(version or 0)
