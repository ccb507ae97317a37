"""What each non-licence event does to state, as a list of operations: pure functions, no Redis.

An operation is ``(op, key, field, value)``:

- ``incr``: add an integer to a hash counter (summed per batch; order does not matter);
- ``max``: keep the largest number seen (order does not matter);
- ``merge``: merge a JSON object into a versioned record; newer fields win whatever the arrival
  order, older ones only fill gaps (so out-of-order delivery gives the same record).

``streams/lua/apply_effects.lua`` applies them atomically together with the event's "seen" marker.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import orjson

from core import keys
from streams.payloads import CaseClosed, CaseOpened, ComplaintReceived, InspectionCompleted, ScanRecorded
from streams.schema import Event

CST = dt.timezone(dt.timedelta(hours=8))
Op = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class Place:
    """Where an event happened: WGS-84 point, county and city, and how it was placed."""

    lon: float
    lat: float
    county: int
    city: int
    by: str  # "point" or "address" (the county seat stands in for the point)


@functools.lru_cache(maxsize=4096)
def local_day(when: dt.datetime) -> str:
    """The bureau's local calendar day (UTC+8) of ``when``, as ``YYYYMMDD`` (cached: many events share
    a timestamp)."""
    d = when.astimezone(CST)
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


@functools.lru_cache(maxsize=512)
def day_start_ms(day: str) -> int:
    """Epoch ms of local midnight starting ``day`` (``YYYYMMDD``): the score in the days index."""
    d = dt.datetime(int(day[:4]), int(day[4:6]), int(day[6:]), tzinfo=CST)
    return int(d.timestamp() * 1000)


def day_ops(source: str, day: str) -> list[Op]:
    """Index the day of a counter change and mark it dirty for incremental readers."""
    return [
        ("zadd", keys.days_index(source), day, str(day_start_ms(day))),
        ("sadd", keys.DIRTY_DAYS, f"{source}:{day}", "-"),
    ]


def _where(place: Place) -> dict[str, object]:
    return {
        "county": place.county,
        "city": place.city,
        "lon": round(place.lon, 6),
        "lat": round(place.lat, 6),
        "placed_by": place.by,
    }


def effects(event: Event, place: Place | None) -> list[Op]:
    """The state operations of one validated, placed event (``place`` None for events without one)."""
    p = event.payload
    day = local_day(event.occurred_at)
    counts = keys.day_counts(event.source, day)
    ops = day_ops(event.source, day) if not isinstance(p, CaseClosed) else []
    if isinstance(p, InspectionCompleted):
        where = f"{place.lon:.6f} {place.lat:.6f} {place.county}"
        return ops + [
            ("incr", counts, f"{place.county}:{p.outcome}", "1"),
            ("max", keys.LAST_INSPECTION, p.licence_no, str(int(p.finished_at.timestamp() * 1000))),
            ("cover", p.licence_no, "-", str(int(p.finished_at.timestamp() * 1000))),
            ("check", p.licence_no, where, "f"),
        ]
    if isinstance(p, CaseOpened):
        record = {
            "kind": p.kind,
            "value_cny": p.value_cny,
            "packs": p.packs,
            "licence_no": p.licence_no,
            "status": "open",
            "opened_at": event.occurred_at.isoformat(),
            **_where(place),
        }
        value = str(round(p.value_cny))
        return ops + [
            ("merge", keys.records("case"), p.case_id, orjson.dumps(record).decode()),
            ("incr", counts, f"{place.county}:{p.kind}", "1"),
            ("incr", counts, f"{place.county}:value_cny", value),
            ("incr", counts, f"{place.county}:value_cny:{p.kind}", value),
        ]
    if isinstance(p, CaseClosed):
        record = {
            "status": "closed",
            "result": p.result,
            "penalty_cny": p.penalty_cny,
            "closed_at": event.occurred_at.isoformat(),
        }
        return [("merge", keys.records("case"), p.case_id, orjson.dumps(record).decode())]
    if isinstance(p, ScanRecorded):
        # a corridor delivery-county > scan-county; equal counties are local sales
        where = f"{place.lon:.6f} {place.lat:.6f} {place.county}"
        return ops + [
            ("incr", counts, f"{p.licence_region}>{place.county}", "1"),
            ("check", p.licence_no, where, "fi"),
        ]
    if isinstance(p, ComplaintReceived):
        record = {
            "channel": p.channel,
            "category": p.category,
            "text": p.text,
            "address": p.address,
            "received_at": event.occurred_at.isoformat(),
            **_where(place),
        }
        return ops + [
            ("merge", keys.records("complaint"), p.complaint_id, orjson.dumps(record).decode()),
            ("incr", counts, f"{place.county}:{p.category}", "1"),
        ]
    raise TypeError(f"no effects defined for {type(p).__name__}")
