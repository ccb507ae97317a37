"""Comparing regions for the meeting screen: drill levels, breadcrumbs, rankings, colour classes.

Pure functions over the stored indicators (``indicators.jobs.read_indicators``) and adcodes; no Redis,
no clock. A region's level follows from its adcode: ``xx0000`` province, ``xxxx00`` city, else county.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

Level = Literal["province", "city", "county"]
Kind = Literal["int", "pct", "dec", "cny", "score"]

#: every scalar indicator a leader may compare, with how its value reads (docs/indicators.md)
INDICATORS: dict[str, Kind] = {
    "active": "int", "per_1000": "dec", "issued": "int", "cancelled": "int", "inspections": "int",
    "inspections_with_issues": "int", "violation_rate": "pct", "inspected_licences": "int",
    "coverage": "pct", "cases": "int", "case_value_cny": "cny", "cases_per_1000_licences": "dec",
    "flows_in": "int", "flows_out": "int", "scanned": "int", "inflow_share": "pct", "complaints": "int",
    "complaints_per_100k": "dec", "warnings_open": "int", "warnings_overdue": "int",
    "warnings_raised": "int", "sla_rate": "pct", "risk": "score",
}  # fmt: skip
#: the KPI tiles of the screen and the briefing, in order
KPIS: tuple[str, ...] = (
    "active", "inspections", "violation_rate", "coverage", "cases", "case_value_cny", "warnings_open", "risk",
)  # fmt: skip
#: the ramp of the choropleth, low → high (readable on the dark screen and on white paper)
RAMP: tuple[str, ...] = ("#1e3a8a", "#1d4ed8", "#0891b2", "#14b8a6", "#84cc16", "#facc15", "#fb923c")
NO_DATA = "#334155"


def level_of(adcode: int) -> Level:
    """``province`` (``xx0000``), ``city`` (``xxxx00``) or ``county``."""
    if adcode % 10000 == 0:
        return "province"
    return "city" if adcode % 100 == 0 else "county"


def parent_of(adcode: int) -> int | None:
    """The region one level up (county → city → province), None for a province."""
    level = level_of(adcode)
    if level == "province":
        return None
    return adcode // 100 * 100 if level == "county" else adcode // 10000 * 10000


def contains(outer: int, inner: int) -> bool:
    """Whether region ``inner`` lies inside (or is) region ``outer``."""
    level = level_of(outer)
    if level == "province":
        return inner // 10000 == outer // 10000
    if level == "city":
        return inner // 100 == outer // 100
    return inner == outer


def breadcrumb(adcode: int, scope: int) -> list[int]:
    """The regions from the user's ``scope`` down to ``adcode`` (both included); [] when outside."""
    if not contains(scope, adcode):
        return []
    chain = [adcode]
    while chain[-1] != scope:
        up = parent_of(chain[-1])
        if up is None:
            return []
        chain.append(up)
    return chain[::-1]


def children(adcode: int, cities: Iterable[int], counties: Iterable[int]) -> list[int]:
    """The regions one level below ``adcode`` (a province's cities, a city's counties; a county: none)."""
    level = level_of(adcode)
    if level == "province":
        return sorted(c for c in cities if contains(adcode, c))
    if level == "city":
        return sorted(c for c in counties if contains(adcode, c))
    return []


def peers(adcode: int, cities: Iterable[int], counties: Iterable[int]) -> list[int]:
    """The regions a leader compares at ``adcode``: its children, or for a county its city's counties."""
    if level_of(adcode) == "county":
        return children(adcode // 100 * 100, cities, counties)
    return children(adcode, cities, counties)


def ranking(
    by_region: Mapping[int, Mapping], codes: Sequence[int], indicator: str
) -> list[tuple[int, float | None]]:
    """``codes`` with their value of ``indicator``, largest first; those without a value last (by adcode)."""
    values = [(c, _value(by_region.get(c), indicator)) for c in codes]
    known = sorted((x for x in values if x[1] is not None), key=lambda x: (-x[1], x[0]))
    return known + sorted(x for x in values if x[1] is None)


def _value(indicators: Mapping | None, name: str) -> float | None:
    if not indicators:
        return None
    value = indicators.get(name)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def colour_classes(values: Mapping[int, float | None], n: int = len(RAMP)) -> dict[int, int | None]:
    """Linear classes 0 … n-1 between the smallest and largest value; None without a value.

    All values equal: every region gets the middle class (nothing stands out).
    """
    known = [v for v in values.values() if v is not None]
    if not known:
        return {c: None for c in values}
    lo, hi = min(known), max(known)
    out: dict[int, int | None] = {}
    for code, v in values.items():
        if v is None:
            out[code] = None
        elif hi == lo:
            out[code] = n // 2
        else:
            out[code] = min(n - 1, int((v - lo) / (hi - lo) * n))
    return out


def colours(values: Mapping[int, float | None]) -> dict[int, str]:
    """The choropleth colour of each region (grey without a value)."""
    return {c: NO_DATA if k is None else RAMP[k] for c, k in colour_classes(values).items()}


def format_value(indicator: str, value: float | None, lang: str = "zh") -> str:
    """A value as the screen and the briefing show it: ``—`` when unknown, rates in %, thousands grouped."""
    if value is None:
        return "—"
    kind = INDICATORS.get(indicator, "dec")
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind in ("int", "cny"):
        return f"{round(value):,}"
    if kind == "score":
        return f"{value:.1f}"
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.2f}"
