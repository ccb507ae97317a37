"""One shop for the meeting screen: its licence, latest inspection, cases and warnings; and the shops
of a county for the drill-down map.

Reads only the keys of docs/state.md. What is not stored per licence is said here: inspections are
kept as the latest time per licence (``wf:insp:last``) and as day counters per county, so the card
shows the latest inspection, not a list; cases have no per-licence index, so they are found by
scanning ``wf:rec:case`` (HSCAN, the licence number matched on the raw JSON before parsing), which is
linear in the number of case records (see docs/meeting.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import orjson
import redis

from core import keys
from geo.viewport import KM_PER_DEG_LAT

#: most cases and warnings listed on a card
CARD_ITEMS = 8


@dataclass(frozen=True)
class Shop:
    """A licence's record and place, and what the screen shows about it."""

    licence_no: str
    record: dict
    status: str
    county: int | None
    lon: float | None
    lat: float | None
    last_inspection_ms: int | None
    cases: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)


def parse_meta(meta: bytes | None) -> tuple[str, int | None, float | None, float | None]:
    """``wf:lic:meta``'s ``"status_version status place_version county city lon lat …"`` → status,
    county, lon, lat (``-`` = unknown)."""
    if not meta:
        return "valid", None, None, None
    parts = meta.decode().split(" ")
    status = parts[1] if len(parts) > 1 and parts[1] != "-" else "valid"
    if len(parts) < 7 or parts[3] == "-":
        return status, None, None, None
    return status, int(parts[3]), float(parts[5]), float(parts[6])


def cases_of(r: redis.Redis, licence_no: str, limit: int = CARD_ITEMS) -> list[dict]:
    """Cases naming the licence, newest first (a scan of the case records; see the module docstring)."""
    needle = orjson.dumps({"licence_no": licence_no})[1:-1]  # b'"licence_no":"…"', as stored
    found = []
    for case_id, raw in r.hscan_iter(keys.records("case"), count=2000):
        if needle in raw:
            case = orjson.loads(raw)
            if case.get("licence_no") == licence_no:
                found.append(
                    {"id": case_id.decode()} | {k: v for k, v in case.items() if not k.startswith("_")}
                )
    found.sort(key=lambda c: str(c.get("opened_at", "")), reverse=True)
    return found[:limit]


def names_licence(warning: dict, licence_no: str) -> bool:
    """Whether a warning's evidence or facts name the licence."""
    evidence = warning.get("evidence") or {}
    if any(licence_no in map(str, items) for items in evidence.values() if isinstance(items, list)):
        return True
    return any(str(v) == licence_no for v in (warning.get("facts") or {}).values())


def read_shop(r: redis.Redis, licence_no: str, open_warnings: list[dict]) -> Shop | None:
    """The shop of ``licence_no`` (None when unknown). ``open_warnings``: the warnings to look in
    (the caller's, already limited to what the user may see)."""
    pipe = r.pipeline(transaction=False)
    pipe.hget(keys.LICENCES, licence_no)
    pipe.hget(keys.LICENCE_META, licence_no)
    pipe.hget(keys.LAST_INSPECTION, licence_no)
    raw, meta, last = pipe.execute()
    if raw is None:
        return None
    record = {k: v for k, v in orjson.loads(raw).items() if not k.startswith("_")}
    status, county, lon, lat = parse_meta(meta)
    status = str(record.get("status") or status)
    warnings = [w for w in open_warnings if names_licence(w, licence_no)][:CARD_ITEMS]
    return Shop(
        licence_no, record, status, county, lon, lat, int(last) if last else None,
        cases_of(r, licence_no), warnings,
    )  # fmt: skip


def county_shops(
    r: redis.Redis, county: int, bounds: tuple[float, float, float, float], limit: int
) -> tuple[list[dict], int]:
    """GeoJSON points of the shops placed in ``county`` (at most ``limit``) and how many were found
    in its bounding box. ``bounds`` = (west, south, east, north)."""
    west, south, east, north = bounds
    height = max((north - south) * KM_PER_DEG_LAT, 0.01)
    mid_cos = max(0.1, math.cos(math.radians((south + north) / 2)))
    width = max((east - west) * KM_PER_DEG_LAT * 1.0068 * mid_cos, 0.01)
    found = r.geosearch(
        keys.LICENCE_GEO, longitude=(west + east) / 2, latitude=(south + north) / 2,
        width=width, height=height, unit="km", withcoord=True, sort="ASC",
    )  # fmt: skip
    if not found:
        return [], 0
    numbers = [m for m, _ in found]
    metas = r.hmget(keys.LICENCE_META, numbers)
    mine = []
    for (number, (x, y)), meta in zip(found, metas, strict=True):
        status, placed, _, _ = parse_meta(meta)
        if placed == county:
            mine.append((number.decode(), x, y, status))
    shown = mine[:limit]
    names = r.hmget(keys.LICENCES, [no for no, *_ in shown]) if shown else []
    features = []
    for (no, x, y, status), raw in zip(shown, names, strict=True):
        name = orjson.loads(raw).get("shop_name", "") if raw else ""
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(x, 5), round(y, 5)]},
                "properties": {"no": no, "name": name, "s": status[:1]},  # text: put in the DOM as text
            }
        )
    return features, len(mine)
