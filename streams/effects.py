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
    day = keys.day_counts(event.source, local_day(event.occurred_at))
    if isinstance(p, InspectionCompleted):
        return [
            ("incr", day, f"{place.county}:{p.outcome}", "1"),
            ("max", keys.LAST_INSPECTION, p.licence_no, str(int(p.finished_at.timestamp() * 1000))),
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
        return [
            ("merge", keys.records("case"), p.case_id, orjson.dumps(record).decode()),
            ("incr", day, f"{place.county}:{p.kind}", "1"),
            ("incr", day, f"{place.county}:value_cny", str(round(p.value_cny))),
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
        return [("incr", day, f"{p.licence_region}>{place.county}", "1")]
    if isinstance(p, ComplaintReceived):
        record = {
            "channel": p.channel,
            "category": p.category,
            "text": p.text,
            "address": p.address,
            "received_at": event.occurred_at.isoformat(),
            **_where(place),
        }
        return [
            ("merge", keys.records("complaint"), p.complaint_id, orjson.dumps(record).decode()),
            ("incr", day, f"{place.county}:{p.category}", "1"),
        ]
    raise TypeError(f"no effects defined for {type(p).__name__}")
