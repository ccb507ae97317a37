"""Daily series of an indicator for one region, from the day counters the indicators are computed from.

No daily series is stored: the indicator jobs keep window totals only. The day counters
(``wf:day:<source>:<day>``, docs/state.md) are per county and day, so a region's daily value is the
sum of the counters of its counties (by adcode prefix, the roll-up rule of docs/indicators.md) on
that day. :func:`daily_series` is pure; :func:`read_days` reads the counters (one pipeline), and
:class:`DayReader` keeps past days for a short while so a screen of leaders does not re-read 90
days on every click.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence

import redis

from core import keys
from core.auth import scope_prefix
from indicators.compute import CANCELLED, CST

#: indicators with a daily series: source → how a day's counters (field → count) give the value
_COUNTS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "issued": ("licence", lambda kind: kind == "issued"),
    "cancelled": ("licence", lambda kind: kind in CANCELLED),
    "inspections": ("inspection", lambda kind: kind in ("ok", "issues_found")),
    "inspections_with_issues": ("inspection", lambda kind: kind == "issues_found"),
    "cases": ("case", lambda kind: not kind.startswith("value_cny")),
    "case_value_cny": ("case", lambda kind: kind == "value_cny"),
    "complaints": ("complaint", lambda kind: True),
}
_SCANS = ("scanned", "flows_in", "flows_out")
#: ratios: (numerator, denominator, factor)
_RATIOS: dict[str, tuple[str, str, float]] = {
    "violation_rate": ("inspections_with_issues", "inspections", 1.0),
    "inflow_share": ("flows_in", "scanned", 1.0),
}
DAILY: tuple[str, ...] = (*_COUNTS, *_SCANS, *_RATIOS, "complaints_per_100k")
#: what the trend shows for an indicator without a daily series (stock figures, risk, warnings)
FALLBACK = "inspections"


def source_of(indicator: str) -> str:
    """The day-counter source an indicator with a daily series is summed from."""
    if indicator in _COUNTS:
        return _COUNTS[indicator][0]
    if indicator in _SCANS or indicator == "inflow_share":
        return "scan"
    if indicator == "violation_rate":
        return "inspection"
    if indicator == "complaints_per_100k":
        return "complaint"
    raise KeyError(f"{indicator} has no daily series")


def day_list(now: dt.datetime, days: int) -> list[int]:
    """The local days (``YYYYMMDD``) of a window of ``days`` ending today, oldest first."""
    today = now.astimezone(CST).date()
    out = []
    for back in range(days - 1, -1, -1):
        d = today - dt.timedelta(days=back)
        out.append(d.year * 10000 + d.month * 100 + d.day)
    return out


def _count(day: Mapping[str, int], indicator: str, prefix: str) -> int:
    if indicator in _COUNTS:
        _, wanted = _COUNTS[indicator]
        total = 0
        for name, n in day.items():
            county, _, kind = name.partition(":")
            if county.startswith(prefix) and wanted(kind):
                total += n
        return total
    total = 0
    for name, n in day.items():  # scans: "<delivery county>><scan county>"
        a, _, b = name.partition(">")
        inside_a, inside_b = a.startswith(prefix), b.startswith(prefix)
        if (
            (indicator == "scanned" and inside_b)
            or (indicator == "flows_in" and inside_b and not inside_a)
            or (indicator == "flows_out" and inside_a and not inside_b)
        ):
            total += n
    return total


def daily_series(
    days: Mapping[int, Mapping[str, int]],
    indicator: str,
    adcode: int,
    wanted: Sequence[int],
    population: int = 0,
) -> list[float | None]:
    """The value of ``indicator`` for region ``adcode`` on each day of ``wanted``.

    ``days`` maps a day to that day's counters of the indicator's source (a missing day: no events,
    so counts are 0 and rates None). Rates are rounded like the stored indicators (4 decimals).
    """
    prefix = scope_prefix(adcode)
    out: list[float | None] = []
    for day in wanted:
        counters = days.get(day, {})
        if indicator in _RATIOS:
            num, den, factor = _RATIOS[indicator]
            d = _count(counters, den, prefix)
            out.append(round(_count(counters, num, prefix) * factor / d, 4) if d else None)
        elif indicator == "complaints_per_100k":
            c = _count(counters, "complaints", prefix)
            out.append(round(c * 100_000 / population, 2) if population else None)
        else:
            out.append(_count(counters, indicator, prefix))
    return out


def _ints(raw: Mapping[bytes, bytes]) -> dict[str, int]:
    out = {}
    for k, v in raw.items():
        try:
            out[k.decode()] = int(v)
        except ValueError:
            continue
    return out


def read_days(r: redis.Redis, source: str, days: Sequence[int]) -> dict[int, dict[str, int]]:
    """The counters of ``source`` on each of ``days`` (one pipeline of HGETALLs)."""
    pipe = r.pipeline(transaction=False)
    for day in days:
        pipe.hgetall(keys.day_counts(source, str(day)))
    return {day: _ints(raw) for day, raw in zip(days, pipe.execute(), strict=True) if raw}


class DayReader:
    """Day counters with past days kept for ``ttl`` seconds (today is always read afresh).

    Past days still change when late events arrive; a short ``ttl`` bounds how stale a trend can be.
    Thread-safe (the web server answers callbacks from several threads).
    """

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._kept: dict[tuple[str, int], tuple[float, dict[str, int]]] = {}
        self._lock = threading.Lock()

    def read(self, r: redis.Redis, source: str, days: Sequence[int], now: float) -> dict[int, dict[str, int]]:
        """Counters of ``source`` for ``days`` (the last one is today), reading only what is not kept."""
        today = max(days)
        kept: dict[int, dict[str, int]] = {}
        with self._lock:
            for d in days:
                hit = self._kept.get((source, d))
                if d != today and hit is not None and now - hit[0] < self.ttl:
                    kept[d] = hit[1]
        missing = [d for d in days if d not in kept]
        fresh = read_days(r, source, missing) if missing else {}
        with self._lock:
            for d in missing:
                if d != today:
                    self._kept[(source, d)] = (now, fresh.get(d, {}))
            if len(self._kept) > 4000:  # old days: forget those not asked for lately
                self._kept = {k: v for k, v in self._kept.items() if now - v[0] < self.ttl}
        return {**kept, **fresh}
