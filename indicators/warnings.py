"""Warning detectors: pure functions, data frames and ``now`` in, candidate warnings out (no Redis).

One function per warning type; the rules, thresholds and colours are documented in docs/warnings.md
and set in ``config.yaml`` (``warnings.*``). This module holds what the detectors share and the four
detectors on day counters (corridor surges, inspection silence, coverage gaps, complaint spikes);
:mod:`indicators.warnings_obs` holds the four on observations and records (licence misuse, goods
for inactive licences, one holder with several licences, case clusters). A candidate names its
*condition* (``<type>:<what>``): the store updates the open warning of that condition rather than
raising another.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np
import orjson
import pandas as pd

from core.settings import ComplaintRule, CorridorRule, CoverageRule, SilenceRule

CST = dt.timezone(dt.timedelta(hours=8))
DAY_MS = 86_400_000
#: Seats (or any representative point) of counties: adcode → (lon, lat), WGS-84.
Seats = Mapping[int, tuple[float, float]]


@dataclass(frozen=True)
class Candidate:
    """A warning a detector wants raised (or, if its condition is open, updated)."""

    type: str
    condition: str
    level: int  # 1 red … 4 blue
    region: int
    regions: list[int]
    place: dict[str, float] | None
    facts: dict[str, object]
    evidence: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain JSON types only (numpy numbers and tuples become what the store reads back)."""
        return orjson.loads(orjson.dumps(asdict(self), option=orjson.OPT_SERIALIZE_NUMPY))


class LicencePlace(NamedTuple):
    """Where a licence is registered (from its meta in ``wf:lic:meta``)."""

    county: int
    city: int
    lon: float
    lat: float


def parse_meta(raw: bytes | str | None) -> LicencePlace | None:
    """A licence meta ``"status_version status place_version county city lon lat …"``; None if unplaced."""
    if not raw:
        return None
    parts = (raw.decode() if isinstance(raw, bytes) else raw).split()
    if len(parts) < 7 or parts[3] == "-":
        return None
    return LicencePlace(int(parts[3]), int(parts[4]), float(parts[5]), float(parts[6]))


def day_of(ms: int) -> str:
    """The bureau's local day (UTC+8) of an epoch-ms time, ``YYYYMMDD``."""
    return dt.datetime.fromtimestamp(ms / 1000, CST).strftime("%Y%m%d")


def day_start_ms(day: str) -> int:
    """Epoch ms of the local midnight that starts ``day``."""
    return int(dt.datetime.strptime(day, "%Y%m%d").replace(tzinfo=CST).timestamp() * 1000)


def shift_day(day: str, n: int) -> str:
    """``day`` moved by ``n`` calendar days."""
    return (dt.datetime.strptime(day, "%Y%m%d") + dt.timedelta(days=n)).strftime("%Y%m%d")


def region_of(counties: Sequence[int], province: int) -> int:
    """The smallest region holding all ``counties``: the county, its city, or the province."""
    codes = {int(c) for c in counties}
    if len(codes) == 1:
        return codes.pop()
    cities = {c // 100 for c in codes}
    return cities.pop() * 100 if len(cities) == 1 else province


def level_for(severity: float, levels: Sequence[float]) -> int:
    """Level 1–4 of a severity measure: ≥ levels[0] red, ≥ levels[1] orange, ≥ levels[2] yellow, else blue."""
    for level, bound in enumerate(levels, start=1):
        if severity >= bound:
            return level
    return 4


def point(lon: float, lat: float) -> dict[str, float]:
    return {"lon": round(float(lon), 6), "lat": round(float(lat), 6)}


def seat(seats: Seats, county: int) -> dict[str, float] | None:
    got = seats.get(int(county))
    return point(*got) if got else None


def _daily(frame: pd.DataFrame, index: list[str], value: str, days: Sequence[str]) -> pd.DataFrame:
    """Rows per ``index`` group, one column per day in ``days`` (missing days count 0)."""
    if frame.empty:
        return pd.DataFrame(columns=list(days), dtype=float)
    table = frame.pivot_table(index=index, columns="day", values=value, aggfunc="sum", fill_value=0)
    return table.reindex(columns=list(days), fill_value=0).astype(float)


def corridor_surges(
    flows: pd.DataFrame, days: Sequence[str], now_ms: int, rule: CorridorRule, province: int, seats: Seats
) -> list[Candidate]:
    """Corridors A → B whose cartons of yesterday and today are far above A → B's own baseline.

    ``flows``: columns day, src (delivery county), dst (scan county), cartons — the scan day
    counters. ``days``: the days that have scan counters. The baseline is the median cartons per day
    over the ``baseline_days`` days with counters before yesterday; the window's expectation is that
    baseline times (1 + the share of today gone by). A surge needs the ratio to the expectation and
    ``min_extra`` cartons beyond it; with fewer than ``min_history_days`` days of history, none.
    """
    today = day_of(now_ms)
    yesterday = shift_day(today, -1)
    base_days = sorted(d for d in days if d < yesterday)[-rule.baseline_days :]
    if len(base_days) < rule.min_history_days or flows.empty:
        return []
    f = flows[flows["src"] != flows["dst"]]
    window = f[f["day"].isin([yesterday, today])].groupby(["src", "dst"])["cartons"].sum()
    if window.empty:
        return []
    baseline = _daily(f[f["day"].isin(base_days)], ["src", "dst"], "cartons", base_days).median(axis=1)
    baseline = baseline.reindex(window.index, fill_value=0.0)
    expected = baseline * (1 + (now_ms - day_start_ms(today)) / DAY_MS)
    hit = (window >= rule.ratio * expected) & (window - expected >= rule.min_extra)
    out = []
    for (src, dst), cartons in window[hit].items():
        exp = float(expected[(src, dst)])
        ratio = cartons / max(exp, 1.0)
        out.append(
            Candidate(
                "corridor_surge",
                f"corridor_surge:{src}>{dst}",
                level_for(ratio, rule.levels),
                region_of([src, dst], province),
                sorted({int(src), int(dst)}),
                seat(seats, dst),
                {
                    "from": int(src),
                    "to": int(dst),
                    "cartons": int(cartons),
                    "expected": round(exp, 1),
                    "baseline_per_day": round(float(baseline[(src, dst)]), 1),
                    "ratio": round(ratio, 2),
                    "days": [yesterday, today],
                },
            )
        )
    return out


def _calendar(days: Sequence[str], today: str, horizon: int) -> list[str]:
    """Every calendar day from the first with counters (at most ``horizon`` days back) to today."""
    first = max(min(days, default=today), shift_day(today, -horizon))
    out, d = [], first
    while d <= today:
        out.append(d)
        d = shift_day(d, 1)
    return out


def inspection_silences(
    counts: pd.DataFrame, days: Sequence[str], now_ms: int, rule: SilenceRule, seats: Seats
) -> list[Candidate]:
    """Counties that normally inspect but have had no inspection for ``min_days`` whole working days.

    ``counts``: columns day, county, inspections. A working day is one on which the province as a
    whole inspected (≥ 30 % of its busiest day), so weekends and holidays need no calendar. A county's
    silence is its run of working days with no inspection up to now (today counts once the province
    has inspected today); it is a warning when the run has ``min_days`` whole days and the county's
    usual share of the province's inspections on those days is at least ``min_expected``.
    """
    today = day_of(now_ms)
    cal = _calendar(days, today, rule.baseline_days + 90)
    table = _daily(counts, ["county"], "inspections", cal)
    if table.empty:
        return []
    c = table.to_numpy()
    p = c.sum(axis=0)
    past = p[:-1]
    working = np.append(past >= 0.3 * (past.max() if past.size else 0.0), p[-1] > 0) & (p > 0)
    out = []
    for row, county in enumerate(table.index):
        streak = []
        for j in range(len(cal) - 1, -1, -1):
            if not working[j]:
                continue
            if c[row, j] > 0:
                break
            streak.append(j)
        full = [j for j in streak if cal[j] != today]
        if len(full) < rule.min_days:
            continue
        start = min(streak)
        base = [
            j for j in range(start) if working[j] and cal[j] >= shift_day(cal[start], -rule.baseline_days)
        ]
        if len(base) < 3 or p[base].sum() == 0:
            continue
        share = c[row, base].sum() / p[base].sum()
        expected = share * p[streak].sum()
        if expected < rule.min_expected:
            continue
        out.append(
            Candidate(
                "inspection_silence",
                f"inspection_silence:{county}",
                level_for(len(full), rule.levels),
                int(county),
                [int(county)],
                seat(seats, county),
                {
                    "days": sorted(cal[j] for j in streak),
                    "whole_days": len(full),
                    "expected": round(float(expected), 1),
                    "baseline_per_day": round(float(c[row, base].sum()) / len(base), 1),
                },
            )
        )
    return out


def coverage_gaps(
    covered: Mapping[int, int],
    valid: Mapping[int, int],
    history_start_ms: int | None,
    now_ms: int,
    rule: CoverageRule,
    target: float,
    seats: Seats,
    flagged: Collection[int] = (),
) -> list[Candidate]:
    """Counties whose share of valid licences inspected in the window is below ``target - margin``.

    ``covered``: county → valid licences inspected in the ``window_days`` up to the end of the latest
    day anyone inspected (so a weekend does not erode it); ``valid``: county → valid licences. Judged
    only once inspections have been recorded for the whole window, and only for counties with
    ``min_licences`` valid licences. ``flagged``: counties whose gap is already a live warning; theirs
    holds until the share is back above ``target - margin / 2`` (hysteresis: a county hovering at the
    bar is one warning, not one a day).
    """
    if history_start_ms is None or now_ms - history_start_ms < rule.window_days * DAY_MS:
        return []
    out = []
    for county, n in sorted(valid.items()):
        if county % 100 == 0 or n < rule.min_licences:
            continue  # cities and the province are in the same hash
        share = covered.get(county, 0) / n
        if share >= target - rule.margin / (2 if county in flagged else 1):
            continue
        out.append(
            Candidate(
                "coverage_gap",
                f"coverage_gap:{county}",
                level_for(target - share, rule.levels),
                int(county),
                [int(county)],
                seat(seats, county),
                {
                    "coverage": round(share, 3),
                    "target": target,
                    "inspected": int(covered.get(county, 0)),
                    "valid": int(n),
                    "window_days": rule.window_days,
                },
            )
        )
    return out


def complaint_spikes(
    counts: pd.DataFrame, days: Sequence[str], now_ms: int, rule: ComplaintRule, seats: Seats
) -> list[Candidate]:
    """Counties whose complaints of today are far above their usual day.

    ``counts``: columns day, county, complaints. The usual day is the mean over the
    ``baseline_days`` days with complaint counters before today, leaving out the busiest seventh of
    them (so last week's spike does not hide this week's). A spike needs ``ratio`` times that mean
    and at least ``min_count`` complaints; it holds until the day ends.
    """
    today = day_of(now_ms)
    base_days = sorted(d for d in days if d < today)[-rule.baseline_days :]
    if len(base_days) < rule.min_history_days or counts.empty:
        return []
    table = _daily(counts[counts["day"].isin(base_days)], ["county"], "complaints", base_days)
    keep = len(base_days) - math.ceil(len(base_days) / 7)
    mean = pd.Series(np.sort(table.to_numpy(), axis=1)[:, :keep].mean(axis=1), index=table.index)
    now = counts[counts["day"] == today].groupby("county")["complaints"].sum()
    out = []
    for county, n in now.items():
        m = float(mean.get(county, 0.0))
        if n < max(rule.min_count, rule.ratio * m):
            continue
        ratio = n / max(m, 0.5)
        out.append(
            Candidate(
                "complaint_spike",
                f"complaint_spike:{county}",
                level_for(ratio, rule.levels),
                int(county),
                [int(county)],
                seat(seats, county),
                {
                    "day": today,
                    "complaints": int(n),
                    "baseline_per_day": round(m, 2),
                    "ratio": round(ratio, 2),
                },
            )
        )
    return out


def hotspot(records: pd.DataFrame) -> dict[str, float] | None:
    """The median point of records placed by their point (address-only ones sit at the seat)."""
    placed = records[records["placed_by"] == "point"]
    if placed.empty:
        return None
    return point(placed["lon"].median(), placed["lat"].median())
