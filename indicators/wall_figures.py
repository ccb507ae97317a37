"""Pure figures of the wall's panels (docs/wall.md): KPI tiles, ranking, 24 h trend, ticker order.

Inputs are plain dicts and lists read by ``indicators/wall_data.py``; ``now_ms`` is always passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from geo.scenes import in_scope

CST = dt.timezone(dt.timedelta(hours=8))  # the bureau's local days (as indicators/compute.py)
#: the same zone for the browser: the wall's clock and times are the bureau's, whatever the PC's zone
TIME_ZONE = "Asia/Shanghai"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
#: the five upstream sources, in the order of the freshness badges
SOURCES = ("licence", "inspection", "case", "scan", "complaint")


def local_day(now_ms: int, days_back: int = 0) -> str:
    """The local day ``YYYYMMDD`` of ``now_ms``, or ``days_back`` days before it."""
    day = dt.datetime.fromtimestamp(now_ms / 1000, CST).date() - dt.timedelta(days=days_back)
    return day.strftime("%Y%m%d")


def day_start_ms(now_ms: int, days_back: int = 0) -> int:
    """Local midnight (epoch ms) of the day ``days_back`` days before the day of ``now_ms``."""
    day = dt.datetime.fromtimestamp(now_ms / 1000, CST).date() - dt.timedelta(days=days_back)
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=CST).timestamp() * 1000)


def _county_sum(fields: Mapping[str, int], scope: int, kinds: set[str] | None = None) -> int:
    total = 0
    for field, n in fields.items():
        county, sep, kind = field.partition(":")
        if not sep or not county.isdigit() or kind.startswith("value_cny"):
            continue
        if (kinds is None or kind in kinds) and in_scope(int(county), scope):
            total += int(n)
    return total


def cross_region(scan_fields: Mapping[str, int], scope: int) -> int:
    """Cartons scanned in another county than the one they were delivered to, one end in the scope."""
    total = 0
    for field, n in scan_fields.items():
        a, sep, b = field.partition(">")
        if (
            sep
            and a != b
            and a.isdigit()
            and b.isdigit()
            and (in_scope(int(a), scope) or in_scope(int(b), scope))
        ):
            total += int(n)
    return total


def day_figures(counters: Mapping[str, Mapping[str, int]], scope: int) -> dict[str, int]:
    """One day's counts in the scope from the day counters of each source (``{source: fields}``)."""
    insp = counters.get("inspection", {})
    return {
        "inspections": _county_sum(insp, scope, {"ok", "issues_found"}),
        "issues": _county_sum(insp, scope, {"issues_found"}),
        "cases": _county_sum(counters.get("case", {}), scope),
        "complaints": _county_sum(counters.get("complaint", {}), scope),
        "cross": cross_region(counters.get("scan", {}), scope),
    }


def share(part: float | None, whole: float | None) -> float | None:
    """``part / whole``, None when the whole is 0 or unknown."""
    if part is None or not whole:
        return None
    return part / whole


def kpis(today: dict[str, int], yesterday: dict[str, int], ind_today: dict, ind_30: dict,
         open_count: int, overdue: int, raised_today: int, target: float) -> dict[str, dict]:  # fmt: skip
    """The KPI tiles: ``value`` now and what it is compared with.

    Daily counts are compared with yesterday's whole day (``prev`` and ``progress`` = today ÷
    yesterday); state figures with their change since midnight (``delta``)."""
    issued, cancelled = int(ind_today.get("issued") or 0), int(ind_today.get("cancelled") or 0)
    out: dict[str, dict] = {
        "active": {"delta": issued - cancelled},
        "coverage": {"value": ind_30.get("coverage"), "target": target},
        "warnings": {"value": open_count, "delta": raised_today, "overdue": overdue},
    }
    for key in ("inspections", "cases", "cross"):
        out[key] = {
            "value": today.get(key, 0),
            "prev": yesterday.get(key, 0),
            "progress": share(today.get(key, 0), yesterday.get(key, 0)),
        }
    out["inspections"]["rate"] = share(today.get("issues", 0), today.get("inspections", 0))
    return out


def ranking(
    by_region: Mapping[int, dict], children: Iterable[int], metric: str = "risk"
) -> list[tuple[int, float]]:
    """Child regions by ``metric``, highest first (ties by adcode); regions without a value last-out."""
    rows = [(a, by_region.get(a, {}).get(metric)) for a in children]
    return sorted(((a, float(v)) for a, v in rows if v is not None), key=lambda av: (-av[1], av[0]))


def hour_bins(times_ms: Iterable[int], now_ms: int, hours: int = 24) -> list[int]:
    """Counts per hour over the last ``hours`` hours, oldest first; the last bin ends at ``now_ms``.
    Bins are (start, end] like the ZCOUNTs of ``wall_data.inspection_hours``."""
    bins = [0] * hours
    start = now_ms - hours * HOUR_MS
    for t in times_ms:
        if start < t <= now_ms:
            bins[int((t - start - 1) // HOUR_MS)] += 1
    return bins


def ticker_order(warnings: Iterable[dict], limit: int) -> list[dict]:
    """Newest first (by raised_at, then the more severe), at most ``limit``."""
    return sorted(warnings, key=lambda w: (-int(w.get("raised_at", 0)), int(w.get("level", 4))))[:limit]


def colour_counts(warnings: Iterable[dict]) -> dict[str, int]:
    """Open warnings per colour, all four colours present."""
    out = {"red": 0, "orange": 0, "yellow": 0, "blue": 0}
    for w in warnings:
        c = w.get("colour")
        if c in out:
            out[c] += 1
    return out


def stale_after_ms(source: str, default_s: float, overrides: Mapping[str, float]) -> int:
    """Milliseconds without an event after which ``source``'s badge says "stale since"."""
    return int(float(overrides.get(source, default_s)) * 1000)
