"""What the non-licence events of a batch do to state, gathered per batch: pure functions, no Redis.

Every event adds its operations to a :class:`BatchEffects`, which merges what can be merged before
anything is sent:

- counters (``incr``): summed per hash field over the batch (order does not matter);
- days (the days index and the dirty days): once per day, not once per event;
- ``max`` (the latest inspection of a licence) and ``cover`` (the licence's coverage set gets its
  latest inspection, if it is valid): the largest time per licence;
- ``merge``: a JSON patch of a versioned record, kept per event and in order (per-field
  last-writer-wins: newer fields win whatever the arrival order, older ones only fill gaps);
- ``check``: per event, observe a scan / inspection far from the licence's registered point, or goods
  for a suspended / revoked licence.

``streams/lua/apply_effects.lua`` applies a batch atomically together with its "seen" markers, and
only when none of its events was seen before: the store then drops those and gathers again, so a
duplicate never counts twice (see :meth:`streams.event_store.EventStore.commit`).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from core import keys
from streams.payloads import CaseClosed, CaseOpened, ComplaintReceived, InspectionCompleted, ScanRecorded
from streams.schema import Event

CST = dt.timezone(dt.timedelta(hours=8))
DAY_MS = 86_400_000
_CST_MS = 8 * 3_600_000


@dataclass(slots=True)
class Place:
    """Where an event happened: WGS-84 point, county and city, and how it was placed (treat it as
    immutable; not declared frozen because a frozen dataclass is slow to build, one per event)."""

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


@functools.lru_cache(maxsize=65536)
def _day_of_number(number: int) -> str:
    d = dt.date(1970, 1, 1) + dt.timedelta(days=number)
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def event_day(event: Event) -> str:
    """:func:`local_day` of the event's ``occurred_at``, from its epoch milliseconds (no datetime work).

    UTC+8 has no daylight saving, so the local day is the day number of ``occurred_ms`` + 8 h.
    """
    if event.occurred_ms >= 0:
        return _day_of_number((event.occurred_ms + _CST_MS) // DAY_MS)
    return local_day(event.occurred_at)  # before 1970 the millisecond was truncated, not floored


@functools.lru_cache(maxsize=65536)  # a licence load spans years of days: every miss costs ~2 µs
def day_start_ms(day: str) -> int:
    """Epoch ms of local midnight starting ``day`` (``YYYYMMDD``): the score in the days index."""
    d = dt.datetime(int(day[:4]), int(day[4:6]), int(day[6:]), tzinfo=CST)
    return int(d.timestamp() * 1000)


def _where(place: Place) -> dict[str, object]:
    return {
        "county": place.county,
        "city": place.city,
        "lon": round(place.lon, 6),
        "lat": round(place.lat, 6),
        "placed_by": place.by,
    }


@dataclass
class BatchEffects:
    """The operations of a batch of events of one source, merged where order does not matter."""

    source: str
    incr: dict[str, dict[str, int]] = field(default_factory=dict)  # key → field → sum
    days: set[str] = field(default_factory=set)  # days that got a counter change
    last_inspection: dict[str, int] = field(default_factory=dict)  # licence → latest inspection (ms)
    cover: dict[str, int] = field(default_factory=dict)  # licence → latest inspection (ms)
    #: licence, event id, version, lon, lat, county, flags
    checks: list[tuple[str, ...]] = field(default_factory=list)
    merges: dict[str, list[tuple[str, int, dict]]] = field(default_factory=dict)  # key → (id, ver, patch)
    _counts: dict[str, str] = field(default_factory=dict)  # day → its counter key

    def _day_counts(self, event: Event) -> dict[str, int]:
        day = event_day(event)
        key = self._counts.get(day)
        if key is None:
            key = self._counts[day] = keys.day_counts(self.source, day)
            self.days.add(day)
        fields = self.incr.get(key)
        if fields is None:
            fields = self.incr[key] = {}
        return fields

    def _latest(self, table: dict[str, int], licence_no: str, ms: int) -> None:
        if table.get(licence_no, -1) < ms:
            table[licence_no] = ms

    def _check(self, licence_no: str, event: Event, place: Place, flags: str) -> None:
        # the point as text with 6 decimals, as the distance has always been computed from
        where = (f"{place.lon:.6f}", f"{place.lat:.6f}", str(place.county))
        self.checks.append((licence_no, event.id, str(event.occurred_ms), *where, flags))

    def _merge(self, key: str, record_id: str, event: Event, record: dict) -> None:
        self.merges.setdefault(key, []).append((record_id, event.occurred_ms, record))

    def add(self, event: Event, place: Place | None) -> None:
        """Add one validated, placed event (``place`` None for events without one, e.g. ``case.closed``)."""
        p = event.payload
        if isinstance(p, ScanRecorded):
            # a corridor delivery-county > scan-county; equal counties are local sales
            counts = self._day_counts(event)
            f = f"{p.licence_region}>{place.county}"
            counts[f] = counts.get(f, 0) + 1
            self._check(p.licence_no, event, place, "fi")
        elif isinstance(p, InspectionCompleted):
            counts = self._day_counts(event)
            f = f"{place.county}:{p.outcome}"
            counts[f] = counts.get(f, 0) + 1
            finished = int(p.finished_at.timestamp() * 1000)
            self._latest(self.last_inspection, p.licence_no, finished)
            self._latest(self.cover, p.licence_no, finished)
            self._check(p.licence_no, event, place, "f")
        elif isinstance(p, CaseOpened):
            record = {
                "kind": p.kind,
                "value_cny": p.value_cny,
                "packs": p.packs,
                "licence_no": p.licence_no,
                "status": "open",
                "opened_at": event.occurred_at.isoformat(),
                **_where(place),
            }
            self._merge(keys.records("case"), p.case_id, event, record)
            counts = self._day_counts(event)
            value = round(p.value_cny)
            for f, n in (
                (f"{place.county}:{p.kind}", 1),
                (f"{place.county}:value_cny", value),
                (f"{place.county}:value_cny:{p.kind}", value),
            ):
                counts[f] = counts.get(f, 0) + n
        elif isinstance(p, CaseClosed):
            record = {
                "status": "closed",
                "result": p.result,
                "penalty_cny": p.penalty_cny,
                "closed_at": event.occurred_at.isoformat(),
            }
            self._merge(keys.records("case"), p.case_id, event, record)
        elif isinstance(p, ComplaintReceived):
            record = {
                "channel": p.channel,
                "category": p.category,
                "text": p.text,
                "address": p.address,
                "received_at": event.occurred_at.isoformat(),
                **_where(place),
            }
            self._merge(keys.records("complaint"), p.complaint_id, event, record)
            counts = self._day_counts(event)
            f = f"{place.county}:{p.category}"
            counts[f] = counts.get(f, 0) + 1
        else:
            raise TypeError(f"no effects defined for {type(p).__name__}")

    def document(self, ids: list[str]) -> dict[str, list]:
        """The batch's operations for the apply script (layout: the top of apply_effects.lua)."""
        days = sorted(self.days)
        return {
            "ids": ids,
            "counters": [[key, list(fields), list(fields.values())] for key, fields in self.incr.items()],
            "latest": [list(self.last_inspection), list(self.last_inspection.values())],
            "days": [
                [x for day in days for x in (day_start_ms(day), day)],
                [f"{self.source}:{day}" for day in days],
            ],
            "cover": [x for no, ms in self.cover.items() for x in (no, str(ms))],
            "checks": [x for check in self.checks for x in check],
            "merges": [
                [key, [x for patch in patches for x in patch]] for key, patches in self.merges.items()
            ],
        }
