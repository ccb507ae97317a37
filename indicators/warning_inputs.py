"""What the warning detectors read from Redis, as data frames (layout: docs/state.md).

Each reader takes the connection and the time range it needs; nothing here decides anything.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import redis

from alerts.store import live_conditions
from core import keys
from core.settings import WarningSettings
from geo.coords import gcj02_to_wgs84
from indicators.warnings import DAY_MS, LicencePlace, day_of, parse_meta

SEATS_CSV = "jiangsu_seats.csv"
HOUR_MS = 3_600_000


@dataclass
class Inputs:
    """Everything the detectors look at (columns: see each reader below and the detectors)."""

    scan_days: list[str]
    flows: pd.DataFrame
    far: pd.DataFrame
    inactive: pd.DataFrame
    holders: pd.DataFrame
    cases: pd.DataFrame
    inspection_days: list[str]
    inspections: pd.DataFrame
    first_inspection_ms: int | None
    coverage: tuple[dict[int, int], dict[int, int]] | None  # (inspected in the window, valid) by county
    flagged_gaps: set[int]  # counties with a live coverage_gap warning
    complaint_days: list[str]
    complaints: pd.DataFrame
    #: licence numbers → registered places (only what a detector asks for is read)
    places: Callable[[Iterable[str]], dict[str, LicencePlace]]
    #: (counties, days) → those complaints' records (read only when a county spikes)
    complaint_records: Callable[[set[int], set[str]], pd.DataFrame]


def far_horizon(w: WarningSettings) -> int:
    """How far back (ms) the far observations are read: the misuse window, and yesterday for corridors."""
    return int(max(w.misuse.window_hours * HOUR_MS, 2 * DAY_MS))


def read_inputs(r: redis.Redis, w: WarningSettings, now_ms: int) -> Inputs:
    """Read what the detectors need at ``now_ms`` (a few dozen calls, mostly pipelined)."""
    rearm = int(w.rearm_hours * HOUR_MS)
    scan_days = indexed_days(r, "scan", now_ms - (w.corridor.baseline_days + 3) * DAY_MS, now_ms)
    inspection_days = indexed_days(r, "inspection", now_ms - (w.silence.baseline_days + 30) * DAY_MS, now_ms)
    complaint_days = indexed_days(r, "complaint", now_ms - (w.complaint.baseline_days + 3) * DAY_MS, now_ms)
    first = first_day_ms(r, "inspection")
    whole = first is not None and now_ms - first >= w.coverage.window_days * DAY_MS
    last = r.zrange(keys.days_index("inspection"), -1, -1, withscores=True)
    until = min(now_ms, int(last[0][1]) + DAY_MS) if last else now_ms  # the latest day anyone inspected
    return Inputs(
        scan_days=scan_days,
        flows=scan_flows(r, scan_days),
        far=far_frame(observations(r, "far", now_ms - far_horizon(w))),
        inactive=inactive_frame(observations(r, "inactive", int(now_ms - w.inactive.window_hours * HOUR_MS))),
        holders=holder_frame(observations(r, "holder", int(now_ms - w.holder.window_days * DAY_MS))),
        cases=case_frame(r, int(now_ms - 2 * w.cluster.days * DAY_MS)),
        inspection_days=inspection_days,
        inspections=per_county(r, "inspection", inspection_days, "inspections"),
        first_inspection_ms=first,
        coverage=coverage_counts(r, until, w.coverage.window_days) if whole else None,
        flagged_gaps={int(c.split(":")[1]) for c in live_conditions(r, "coverage_gap", now_ms, rearm)}
        if whole
        else set(),
        complaint_days=complaint_days,
        complaints=per_county(r, "complaint", complaint_days, "complaints"),
        places=lambda numbers: licence_places(r, numbers),
        complaint_records=lambda counties, days: complaint_frame(r, counties, days),
    )


def _text(x: bytes | str) -> str:
    return x.decode() if isinstance(x, bytes) else x


@functools.lru_cache(maxsize=4)
def seats(data_dir: str) -> dict[int, tuple[float, float]]:
    """County (and city) seats in WGS-84 from the open seats table (the place of county warnings)."""
    frame = pd.read_csv(Path(data_dir) / SEATS_CSV, dtype={"adcode": np.int64})
    lon, lat = gcj02_to_wgs84(frame["lon_gcj02"].to_numpy(), frame["lat_gcj02"].to_numpy())
    return {int(a): (float(x), float(y)) for a, x, y in zip(frame["adcode"], lon, lat, strict=True)}


def indexed_days(r: redis.Redis, source: str, since_ms: int, until_ms: int) -> list[str]:
    """Days with counters of ``source`` starting in [since, until] (the days index, no SCAN)."""
    return sorted(_text(d) for d in r.zrangebyscore(keys.days_index(source), since_ms, until_ms))


def first_day_ms(r: redis.Redis, source: str) -> int | None:
    """Midnight of the first day with counters of ``source`` (None when there is none)."""
    got = r.zrange(keys.days_index(source), 0, 0, withscores=True)
    return int(got[0][1]) if got else None


def day_counters(r: redis.Redis, source: str, days: Iterable[str]) -> list[tuple[str, str, int]]:
    """(day, field, value) of the day counter hashes of ``source``."""
    days = list(days)
    pipe = r.pipeline(transaction=False)
    for d in days:
        pipe.hgetall(keys.day_counts(source, d))
    out = []
    for d, fields in zip(days, pipe.execute(), strict=True):
        out += [(d, _text(f), int(v)) for f, v in fields.items()]
    return out


def scan_flows(r: redis.Redis, days: list[str]) -> pd.DataFrame:
    """Cross-county cartons per day: columns day, src (delivery county), dst (scan county), cartons."""
    rows = []
    for d, f, v in day_counters(r, "scan", days):
        src, _, dst = f.partition(">")
        if src != dst:
            rows.append((d, int(src), int(dst), v))
    return pd.DataFrame(rows, columns=["day", "src", "dst", "cartons"])


def per_county(r: redis.Redis, source: str, days: list[str], value: str) -> pd.DataFrame:
    """Sum of a source's ``<county>:<kind>`` counters per day and county: columns day, county, ``value``."""
    rows = []
    for d, f, v in day_counters(r, source, days):
        county, _, kind = f.partition(":")
        if kind:
            rows.append((d, int(county), v))
    frame = pd.DataFrame(rows, columns=["day", "county", value])
    return frame.groupby(["day", "county"], as_index=False)[value].sum()


def observations(r: redis.Redis, kind: str, since_ms: int) -> list[tuple[str, int]]:
    """(member, time ms) of the observations of ``kind`` since ``since_ms``."""
    got = r.zrangebyscore(keys.observations(kind), f"({since_ms}", "+inf", withscores=True)
    return [(_text(m), int(s)) for m, s in got]


def far_frame(items: list[tuple[str, int]]) -> pd.DataFrame:
    """``licence|event id|km|county`` members (ids may hold ``|``): licence_no, event_id, km, county, t."""
    rows = []
    for member, t in items:
        no, _, rest = member.partition("|")
        head, km, county = rest.rsplit("|", 2)
        rows.append((no, head, float(km), int(county), t))
    return pd.DataFrame(rows, columns=["licence_no", "event_id", "km", "county", "t"])


def inactive_frame(items: list[tuple[str, int]]) -> pd.DataFrame:
    """``licence|event id`` members: licence_no, event_id, t."""
    rows = [(*m.split("|", 1), t) for m, t in items]
    return pd.DataFrame(rows, columns=["licence_no", "event_id", "t"])


def holder_frame(items: list[tuple[str, int]]) -> pd.DataFrame:
    """``holder|licence`` members (a holder may hold ``|``): holder, licence_no, t."""
    rows = [(*m.rsplit("|", 1), t) for m, t in items]
    return pd.DataFrame(rows, columns=["holder", "licence_no", "t"])


def licence_places(r: redis.Redis, numbers: Iterable[str]) -> dict[str, LicencePlace]:
    """Registered county and point of the given licences (unknown or unplaced ones are left out)."""
    nos = sorted(set(numbers))
    if not nos:
        return {}
    got = r.hmget(keys.LICENCE_META, nos)
    return {n: p for n, raw in zip(nos, got, strict=True) if (p := parse_meta(raw)) is not None}


def _ms(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).timestamp() * 1000)


def case_frame(r: redis.Redis, since_ms: int) -> pd.DataFrame:
    """Cases opened since ``since_ms``: case_id, kind, t, lon, lat, county, placed_by."""
    rows = []
    for cid, raw in r.hscan_iter(keys.records("case"), count=2000):
        rec = orjson.loads(raw)
        if "opened_at" not in rec or rec.get("lon") is None:
            continue  # closed before it was opened: nothing to place yet
        t = _ms(rec["opened_at"])
        if t > since_ms:
            rows.append((_text(cid), rec["kind"], t, rec["lon"], rec["lat"], rec["county"], rec["placed_by"]))
    return pd.DataFrame(rows, columns=["case_id", "kind", "t", "lon", "lat", "county", "placed_by"])


def complaint_frame(r: redis.Redis, counties: set[int], days: set[str]) -> pd.DataFrame:
    """Complaints of the given counties on the given days: complaint_id, t, lon, lat, county, placed_by."""
    rows = []
    for cid, raw in r.hscan_iter(keys.records("complaint"), count=2000):
        rec = orjson.loads(raw)
        if rec.get("county") not in counties or "received_at" not in rec:
            continue
        t = _ms(rec["received_at"])
        if day_of(t) in days:
            rows.append((_text(cid), t, rec["lon"], rec["lat"], rec["county"], rec["placed_by"]))
    return pd.DataFrame(rows, columns=["complaint_id", "t", "lon", "lat", "county", "placed_by"])


def coverage_counts(r: redis.Redis, now_ms: int, window_days: int) -> tuple[dict[int, int], dict[int, int]]:
    """(county → valid licences inspected in the window, county → valid licences)."""
    valid = {int(k): int(v) for k, v in r.hgetall(keys.licence_counts("valid")).items()}
    counties = [c for c in valid if c % 100]
    pipe = r.pipeline(transaction=False)
    for c in counties:
        pipe.zcount(keys.coverage(c), now_ms - window_days * DAY_MS, "+inf")
    return dict(zip(counties, pipe.execute(), strict=True)), valid


def trim_observations(r: redis.Redis, older_than: dict[str, int]) -> None:
    """Drop observations older than each kind's horizon (readers trim what they no longer need)."""
    pipe = r.pipeline(transaction=False)
    for kind, ms in older_than.items():
        pipe.zremrangebyscore(keys.observations(kind), "-inf", f"({ms}")
    pipe.execute()
