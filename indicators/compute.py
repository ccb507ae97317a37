"""Indicators per region and window: pure maths, tables and ``now`` in, values out (docs/indicators.md).

``compute_indicators`` returns ``{window_days: {"<adcode>": {indicator: value}}}`` for the province,
every city and every county. Rates whose denominator is 0 are ``None`` (never 0/0 or 0). Everything
is vectorised over regions (numpy ``bincount``), so the cost hardly depends on event volumes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import get_args

import numpy as np

from indicators.risk import RISK_COMPONENTS, WarningTable, ratio, risk_index
from indicators.tables import Counts, Regions, rollup, rollup_by
from streams.payloads import CaseKind, ComplaintReceived

CST = dt.timezone(dt.timedelta(hours=8))  # the bureau's local days
SOURCES = ("licence", "inspection", "case", "scan", "complaint")
LICENCE_KINDS = ("issued", "renewed", "changed", "suspended", "revoked", "expired")
CANCELLED = ("suspended", "revoked", "expired")
CASE_KINDS: tuple[str, ...] = get_args(CaseKind)
COMPLAINT_CATEGORIES: tuple[str, ...] = get_args(ComplaintReceived.model_fields["category"].annotation)
TOP_CORRIDORS = 10  # corridors listed per region and direction (the wall draws arcs for these)


@dataclass(frozen=True)
class Window:
    """A window of ``days`` local days ending today: from local midnight of ``first_day`` to now."""

    days: int
    first_day: int  # YYYYMMDD
    start_ms: int

    @property
    def last_day(self) -> int:
        """Today (YYYYMMDD): the window's last day."""
        f = self.first_day
        last = dt.date(f // 10000, f // 100 % 100, f % 100) + dt.timedelta(days=self.days - 1)
        return last.year * 10000 + last.month * 100 + last.day


def windows_at(now: dt.datetime, days: Sequence[int]) -> list[Window]:
    """The windows at ``now``: 1 = today since local midnight, 7 = today and the six days before …"""
    today = now.astimezone(CST).replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for n in days:
        first = today - dt.timedelta(days=n - 1)
        out.append(
            Window(n, first.year * 10000 + first.month * 100 + first.day, int(first.timestamp() * 1000))
        )
    return out


@dataclass
class Inputs:
    """Everything the indicators are computed from (``indicators/reader.py`` reads it from Redis).

    ``counts``: day counters per source; ``active``: valid licences now per adcode (county, city,
    province); ``inspected``: window days → county → distinct valid licences inspected since the
    window's start; ``warnings``: parsed warning JSON.
    """

    counts: Mapping[str, Counts]
    active: Mapping[int, int] = field(default_factory=dict)
    inspected: Mapping[int, Mapping[int, int]] = field(default_factory=dict)
    warnings: Sequence[Mapping] = ()

    def source(self, name: str) -> Counts:
        return self.counts.get(name) or Counts.from_rows(name, [])


def _by_kind(regions: Regions, counts: Counts, first_day: int, kinds: Sequence[str]) -> dict[str, np.ndarray]:
    """Per kind, the window's counts per region (kinds not in the data count 0)."""
    totals = counts.totals(first_day)
    _, kind, _ = counts.fields.columns()
    where, _ = counts.fields.located(regions)
    names = counts.fields.kinds
    matrix = rollup_by(regions, where, totals, kind, len(names))
    ids = {k: i for i, k in enumerate(names)}
    zero = np.zeros(regions.size, np.int64)
    return {k: matrix[ids[k]] if k in ids else zero for k in [*kinds, *(k for k in names if k not in kinds)]}


def _flows(regions: Regions, counts: Counts, first_day: int) -> dict[str, object]:
    """Cross-region flows of cartons (delivery county ``a`` → scan county ``b``) per region.

    At each level a carton crosses a region's border when exactly one of ``a``, ``b`` lies in it:
    inflow = scanned in the region, delivered outside; outflow = delivered in it, scanned outside.
    Corridors (county → county) are listed per region, most cartons first, ties by (from, to).
    """
    totals = counts.totals(first_day)
    a_all, b_all, _ = counts.fields.columns()
    la, lb = counts.fields.located(regions)
    keep = np.flatnonzero(totals > 0)
    # one ordering serves every corridor list (a stable sort by region keeps it within each region):
    # most cartons first, ties by (from, to), as one int64 key
    # (unique keys: no need for a stable sort)
    keep = keep[np.argsort(-totals[keep] * len(a_all) + counts.fields.pair_rank()[keep])]
    a, b, n = a_all[keep], b_all[keep], totals[keep]
    wa, wb = la.subset(keep), lb.subset(keep)
    nc, size = len(regions.cities), regions.size
    assert size < 2**15, "region positions must fit int16 for the radix sort below"

    def slot(index: np.ndarray, offset: int) -> np.ndarray:  # position in the region vector, -1: none
        return np.where(index >= 0, offset + index, -1)

    levels = [  # (region of a, region of b, same region) at the province, city and county level
        (slot(wa.province - 1, 0), slot(wb.province - 1, 0), wa.province == wb.province),
        (slot(wa.city, 1), slot(wb.city, 1), a // 100 == b // 100),
        (slot(wa.county, 1 + nc), slot(wb.county, 1 + nc), a == b),
    ]
    out = {name: np.zeros(size, np.int64) for name in ("flows_in", "flows_out", "scanned")}
    corridors: dict[str, list[list]] = {name: [[] for _ in range(size)] for name in ("in", "out", "inside")}
    picked: list[tuple[list, np.ndarray, np.ndarray]] = []
    every = np.arange(size)
    for ga, gb, same in levels:
        cross = ~same
        for name, group, mask in (
            ("flows_in", gb, (gb >= 0) & cross),
            ("flows_out", ga, (ga >= 0) & cross),
            ("scanned", gb, gb >= 0),
        ):
            out[name] += np.bincount(group[mask], n[mask], size).round().astype(np.int64)
        for group, lists in (
            (gb, [("in", (gb >= 0) & cross)]),
            (ga, [("out", (ga >= 0) & cross), ("inside", (ga >= 0) & same & (a != b))]),
        ):
            # by region, cartons order kept within each; int16 lets numpy use a radix sort (5x faster)
            order = np.argsort(group.astype(np.int16), kind="stable")
            in_order = group[order]
            for name, mask in lists:
                m = mask[order]
                rows, g = order[m], in_order[m]
                # rank within the region: position minus where the region's run starts
                top = np.arange(len(g)) - np.searchsorted(g, every)[g] < TOP_CORRIDORS
                picked.append((corridors[name], g[top], rows[top]))
    # one dict per corridor, shared by every list it appears in
    used = np.zeros(len(keep), dtype=bool)
    for _lists, _g, picked_rows in picked:
        used[picked_rows] = True
    rows = np.flatnonzero(used)
    made = {
        i: {"from": x, "to": y, "cartons": z}
        for i, x, y, z in zip(
            rows.tolist(), a[rows].tolist(), b[rows].tolist(), n[rows].tolist(), strict=True
        )
    }
    for lists, regions_of_rows, rows_picked in picked:
        for region, i in zip(regions_of_rows.tolist(), rows_picked.tolist(), strict=True):
            lists[region].append(made[i])
    out["corridors"] = corridors
    return out


def _coverage(regions: Regions, inspected: Mapping[int, int]) -> np.ndarray:
    """Distinct active licences inspected per region (counties summed up to cities and province)."""
    codes = np.array(list(inspected), dtype=np.int64)
    values = np.array(list(inspected.values()), dtype=np.int64)
    return rollup(regions, regions.locate(codes), values)


def _floats(x: np.ndarray, digits: int) -> list[float | None]:
    """Rounded Python floats, None for NaN (no data)."""
    return [None if v != v else round(v, digits) for v in x.tolist()]


def compute_window(
    inputs: Inputs, regions: Regions, window: Window, now_ms: int, weights: Mapping[str, float],
    warnings: WarningTable,
) -> dict[str, dict]:  # fmt: skip
    """The indicators of every region for one window: ``{"<adcode>": {…}}``."""
    codes = regions.adcodes
    population = np.array([regions.population.get(c, 0) for c in codes], dtype=np.int64)
    active = np.array([int(inputs.active.get(c, 0)) for c in codes], dtype=np.int64)
    lic = _by_kind(regions, inputs.source("licence"), window.first_day, LICENCE_KINDS)
    insp = _by_kind(regions, inputs.source("inspection"), window.first_day, ("ok", "issues_found"))
    case = _by_kind(regions, inputs.source("case"), window.first_day, CASE_KINDS)
    comp = _by_kind(regions, inputs.source("complaint"), window.first_day, COMPLAINT_CATEGORIES)
    flows = _flows(regions, inputs.source("scan"), window.first_day)
    inspected = _coverage(regions, inputs.inspected.get(window.days, {}))
    warn = warnings.window(window.start_ms, now_ms)

    zero = np.zeros(regions.size, np.int64)
    case_kinds = [k for k in case if not k.startswith("value_cny")]
    cases = sum((case[k] for k in case_kinds), zero)
    complaints = sum(comp.values(), zero)
    inspections = insp["ok"] + insp["issues_found"]
    raw = {
        "violation_rate": ratio(insp["issues_found"], inspections),
        "coverage": ratio(inspected, active),
        "cases_per_1000_licences": ratio(cases, active, 1000),
        "cross_region_inflow": ratio(flows["flows_in"], flows["scanned"]),
        "complaints_per_100k": ratio(complaints, population, 100_000),
    }
    components = {**raw, "coverage_gap": 1.0 - raw["coverage"]}
    risk, scaled = risk_index({k: components[k] for k in RISK_COMPONENTS}, weights, len(regions.counties))

    # numpy → Python lists once, then plain indexing per region (building the dicts is the hot part)
    ints = {
        "active": active, "population": population, "issued": lic["issued"],
        "cancelled": sum((lic[k] for k in CANCELLED), zero), "inspections": inspections,
        "inspections_with_issues": insp["issues_found"], "inspected_licences": inspected, "cases": cases,
        "case_value_cny": case.get("value_cny", zero), "flows_in": flows["flows_in"],
        "flows_out": flows["flows_out"], "scanned": flows["scanned"], "complaints": complaints, **warn,
    }  # fmt: skip
    i_ = {k: v.tolist() for k, v in ints.items()}
    f_ = {
        "per_1000": _floats(ratio(active, population, 1000), 3),
        "violation_rate": _floats(raw["violation_rate"], 4),
        "coverage": _floats(raw["coverage"], 4),
        "cases_per_1000_licences": _floats(raw["cases_per_1000_licences"], 3),
        "inflow_share": _floats(raw["cross_region_inflow"], 4),
        "complaints_per_100k": _floats(raw["complaints_per_100k"], 2),
        "sla_rate": _floats(ratio(warn["sla_met"], warn["sla_due"]), 4),
        "risk": _floats(risk, 1),
    }
    groups = {
        "licence_events": {k: v.tolist() for k, v in lic.items()},
        "cases_by_kind": {k: case[k].tolist() for k in case_kinds},
        "case_value_by_kind": {k: case.get(f"value_cny:{k}", zero).tolist() for k in case_kinds},
        "complaints_by_category": {k: v.tolist() for k, v in comp.items()},
        "risk_components": {k: _floats(v, 4) for k, v in scaled.items()},
    }
    # rows of columns → one dict per region, built by zip in C rather than key by key
    flat = {**i_, **f_}
    nested = {g: [dict(zip(kinds, row, strict=True)) for row in zip(*kinds.values(), strict=True)]
              for g, kinds in groups.items()}  # fmt: skip
    corridors = flows["corridors"]
    out: dict[str, dict] = {}
    for i, row in enumerate(zip(*flat.values(), strict=True)):
        region = dict(zip(flat, row, strict=True))
        for g, dicts in nested.items():
            region[g] = dicts[i]
        region["corridors_in"] = corridors["in"][i]
        region["corridors_out"] = corridors["out"][i]
        region["corridors_inside"] = corridors["inside"][i]
        out[str(codes[i])] = region
    return out


_last_table: list = [None, None, None]  # warnings list, regions, table: the reader reuses an unchanged list


def _warning_table(warnings: Sequence[Mapping], regions: Regions) -> WarningTable:
    """The warnings as arrays, rebuilt only when given another list (or regions) than last time.

    The reader hands over the very same list object while ``wf:warn`` is unchanged, which is most runs;
    the memo keeps a reference to it, so its id cannot be reused by another list meanwhile.
    """
    if _last_table[0] is not warnings or _last_table[1] is not regions:
        _last_table[:] = [warnings, regions, WarningTable.build(warnings, regions)]
    return _last_table[2]


def compute_indicators(
    inputs: Inputs, regions: Regions, now: dt.datetime, windows: Sequence[int], weights: Mapping[str, float]
) -> dict[int, dict[str, dict]]:
    """Every indicator of every region for each window in ``windows`` (days), at ``now``."""
    now_ms = int(now.timestamp() * 1000)
    warnings = _warning_table(inputs.warnings, regions)
    return {
        w.days: compute_window(inputs, regions, w, now_ms, weights, warnings)
        for w in windows_at(now, windows)
    }
