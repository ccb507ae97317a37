"""Indicator formulas, table-driven against values computed by hand (docs/indicators.md).

A small made-up province: 南京 320100 (counties 320102, 320104) and 无锡 320200 (county 320281),
populations 100,000 / 200,000 / 50,000. Now is 2026-11-21 15:00 Beijing time, so the windows start on
20261121 (1 day), 20261115 (7), 20261023 (30) and 20260824 (90).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from indicators.compute import CST, Inputs, Window, compute_indicators, windows_at
from indicators.risk import WarningTable, risk_index, scale_across_counties
from indicators.tables import Counts, Fields, Regions

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=CST)
N = int(NOW.timestamp() * 1000)
H, D = 3_600_000, 86_400_000
T, Y, D10, D60, OLD = 20261121, 20261120, 20261111, 20260922, 20260801
P, NJ, WX, XW, QH, JY = 320000, 320100, 320200, 320102, 320104, 320281  # province, cities, counties
CASE_ZERO = dict.fromkeys(
    ["counterfeit", "smuggled", "unlicensed_trade", "cross_region_goods", "licence_misuse"]
    + ["beyond_scope_trade", "other"],
    0,
)
WEIGHTS = {
    "violation_rate": 0.30,
    "coverage_gap": 0.20,
    "cases_per_1000_licences": 0.20,
    "cross_region_inflow": 0.15,
    "complaints_per_100k": 0.15,
}
REGIONS = Regions(
    320000,
    np.array([320100, 320200]),
    np.array([320102, 320104, 320281]),
    {320102: 100_000, 320104: 200_000, 320281: 50_000, 320100: 300_000, 320200: 50_000, 320000: 350_000},
)
ROWS = {
    "licence": [
        (T, "320102:issued", 2), (Y, "320102:suspended", 1), (D10, "320104:revoked", 3),
        (D60, "320281:expired", 4), (OLD, "320102:issued", 100), (T, "320281:renewed", 5),
    ],
    "inspection": [
        (T, "320102:ok", 3), (T, "320102:issues_found", 1),
        (D10, "320104:ok", 4), (D10, "320104:issues_found", 4),
    ],
    "case": [
        (T, "320102:counterfeit", 2), (T, "320102:value_cny", 700), (T, "320102:value_cny:counterfeit", 700),
        (Y, "320104:smuggled", 1), (Y, "320104:value_cny", 300), (Y, "320104:value_cny:smuggled", 300),
    ],
    "scan": [
        (T, "320102>320102", 10), (T, "320102>320104", 4), (T, "320281>320102", 3),
        (T, "340100>320281", 2), (T, "320104>320281", 1),
    ],
    "complaint": [(T, "320102:price", 3), (T, "320281:counterfeit", 1)],
}  # fmt: skip
ACTIVE = {XW: 10, QH: 20, NJ: 30, P: 30}  # JY and 无锡 have none
INSPECTED = {1: {XW: 2, QH: 0, JY: 0}, 7: {XW: 3}, 30: {XW: 5, QH: 10}, 90: {}}


def warning(state: str, region: int, regions: list, raised: int, due: int | None, replied: int | None):
    return {"state": state, "region": region, "regions": regions, "raised_at": raised, "due_at": due,
            "replied_at": replied, "colour": "red", "facts": {}}  # fmt: skip


WARNINGS = [
    warning("raised", XW, [XW], N - H, None, None),  # open, raised today
    warning("dispatched", WX, [JY], N - 10 * D, N - H, None),  # overdue; due today, missed
    warning("closed", P, [QH, JY], N - 20 * D, N - 2 * D, N - 3 * D),  # replied in time
    warning("replied", QH, [], N - 40 * D, N - 35 * D, N - 34 * D),  # replied late; open, not overdue
    warning("raised", 999999, ["x"], N, N - H, None),  # outside the province: counted nowhere
]


@pytest.fixture(scope="module")
def result() -> dict[int, dict[str, dict]]:
    counts = {s: Counts.from_rows(s, rows) for s, rows in ROWS.items()}
    inputs = Inputs(counts, ACTIVE, INSPECTED, WARNINGS)
    return compute_indicators(inputs, REGIONS, NOW, [1, 7, 30, 90], WEIGHTS)


def test_windows_are_local_days_ending_today():
    start = int(dt.datetime(2026, 11, 21, tzinfo=CST).timestamp() * 1000)
    assert windows_at(NOW, [1, 7, 30, 90]) == [
        Window(1, 20261121, start),
        Window(7, 20261115, start - 6 * D),
        Window(30, 20261023, start - 29 * D),
        Window(90, 20260824, start - 89 * D),
    ]
    assert {w.last_day for w in windows_at(NOW, [1, 7, 30, 90])} == {20261121}
    # 17:00 UTC is already 01:00 the next local day
    assert windows_at(dt.datetime(2026, 11, 21, 17, 0, tzinfo=dt.UTC), [1])[0].first_day == 20261122


# (window, region, indicator, expected): every value below is worked out by hand from ROWS above.
CASES = [
    # licences: active now, per 1,000 residents, issued, cancelled = suspended + revoked + expired
    (1, XW, "active", 10), (1, JY, "active", 0), (1, P, "per_1000", round(30 * 1000 / 350_000, 3)),
    (90, XW, "per_1000", 0.1), (1, JY, "per_1000", 0.0),
    (1, XW, "issued", 2), (90, P, "issued", 2),  # the OLD day is outside every window
    (1, P, "cancelled", 0), (7, XW, "cancelled", 1), (7, P, "cancelled", 1),
    (30, QH, "cancelled", 3), (30, NJ, "cancelled", 4), (30, P, "cancelled", 4),
    (90, JY, "cancelled", 4), (90, WX, "cancelled", 4), (90, P, "cancelled", 8),
    (1, JY, "licence_events",
     {"issued": 0, "renewed": 5, "changed": 0, "suspended": 0, "revoked": 0, "expired": 0}),
    # inspections and violation rate = issues / inspections (None without inspections)
    (1, XW, "inspections", 4), (1, XW, "violation_rate", 0.25), (1, QH, "violation_rate", None),
    (30, QH, "violation_rate", 0.5), (30, NJ, "violation_rate", round(5 / 12, 4)),
    (30, P, "inspections_with_issues", 5), (90, JY, "violation_rate", None),
    # coverage = distinct active licences inspected in the window / active licences (None when none)
    (1, XW, "coverage", 0.2), (1, QH, "coverage", 0.0), (1, JY, "coverage", None),
    (1, NJ, "coverage", round(2 / 30, 4)), (1, WX, "coverage", None), (1, P, "inspected_licences", 2),
    (30, NJ, "coverage", 0.5), (90, P, "coverage", 0.0),
    # cases by kind, count and value
    (1, XW, "cases", 2), (1, XW, "case_value_cny", 700), (7, NJ, "cases", 3),
    (7, NJ, "case_value_cny", 1000),
    (7, P, "cases_by_kind", {**CASE_ZERO, "counterfeit": 2, "smuggled": 1}),
    (7, NJ, "case_value_by_kind", {**CASE_ZERO, "counterfeit": 700, "smuggled": 300}),
    (1, XW, "cases_per_1000_licences", 200.0), (1, JY, "cases_per_1000_licences", None),
    # cross-region flows: only cartons crossing THAT region's border count
    (1, XW, "flows_in", 3), (1, XW, "flows_out", 4), (1, XW, "scanned", 13),
    (1, QH, "flows_in", 4), (1, QH, "flows_out", 1),
    (1, JY, "flows_in", 3), (1, JY, "flows_out", 3),
    (1, NJ, "flows_in", 3), (1, NJ, "flows_out", 1), (1, NJ, "scanned", 17),
    (1, WX, "flows_in", 3), (1, WX, "flows_out", 3),
    (1, P, "flows_in", 2), (1, P, "flows_out", 0),  # 340100 is outside; scans are always inside
    (1, P, "scanned", 20), (1, XW, "inflow_share", round(3 / 13, 4)),
    (1, XW, "corridors_in", [{"from": JY, "to": XW, "cartons": 3}]),
    (1, JY, "corridors_in",
     [{"from": 340100, "to": JY, "cartons": 2}, {"from": QH, "to": JY, "cartons": 1}]),
    (1, NJ, "corridors_out", [{"from": QH, "to": JY, "cartons": 1}]),
    (1, NJ, "corridors_inside", [{"from": XW, "to": QH, "cartons": 4}]),
    (1, XW, "corridors_inside", []),
    (1, P, "corridors_inside", [
        {"from": XW, "to": QH, "cartons": 4}, {"from": JY, "to": XW, "cartons": 3},
        {"from": QH, "to": JY, "cartons": 1}]),
    (7, P, "flows_in", 2), (90, JY, "flows_in", 3),
    # complaints per 100,000 residents
    (1, XW, "complaints", 3), (1, XW, "complaints_per_100k", 3.0),
    (1, JY, "complaints_per_100k", 2.0),
    (1, P, "complaints_per_100k", 1.14), (1, QH, "complaints_per_100k", 0.0),
    # warnings: open / overdue now; raised, due and replied within SLA in the window
    (1, XW, "warnings_open", 1), (1, NJ, "warnings_open", 2), (1, P, "warnings_open", 3),
    (1, WX, "warnings_overdue", 1), (1, P, "warnings_overdue", 1), (1, QH, "warnings_overdue", 0),
    (1, NJ, "warnings_raised", 1), (30, P, "warnings_raised", 3), (30, JY, "warnings_raised", 2),
    (1, JY, "sla_rate", 0.0), (1, XW, "sla_rate", None), (7, P, "sla_rate", 0.5),
    (7, QH, "sla_rate", 1.0), (90, QH, "sla_rate", 0.5), (90, P, "sla_due", 3),
    (90, P, "sla_rate", round(1 / 3, 4)),
    # composite risk: see test_risk_components_of_the_scenario for the scaled components; e.g. XW
    # 100 × (0.3×0 + 0.2×0 + 0.2×1 + 0.15×0 + 0.15×1) = 35; QH lacks a violation rate, so
    # 100 × (0.2×1 + 0.2×0 + 0.15×1 + 0.15×0) / 0.7 = 50; JY has inflow 1 and complaints 2/3 only:
    # 100 × (0.15 + 0.1) / 0.3 = 83.3; P: 100 × (0.2×2/3 + 0.2×1/3 + 0.15×(1.142857/3)) = 25.7
    (1, XW, "risk", 35.0), (1, QH, "risk", 50.0), (1, JY, "risk", 83.3),
    (1, NJ, "risk", 25.0), (1, WX, "risk", 83.3), (1, P, "risk", 25.7),
]  # fmt: skip


@pytest.mark.parametrize(("window", "region", "name", "expected"), CASES)
def test_indicator(result, window, region, name, expected):
    assert result[window][str(region)][name] == expected


def test_risk_components_of_the_scenario(result):
    """Today: violation rate known only in XW (all counties equal → 0); coverage gap 0.8 / 1.0 in
    the counties (JY has no licences), cities and province on that scale (0.9333 → 0.6667);
    cases per 1,000 licences 200 / 0; inflow share 3/13 … 1; complaints per 100k 3 / 0 / 2."""
    assert result[1]["320102"]["risk_components"] == {
        "violation_rate": 0.0, "coverage_gap": 0.0, "cases_per_1000_licences": 1.0,
        "cross_region_inflow": 0.0, "complaints_per_100k": 1.0,
    }  # fmt: skip
    assert result[1]["320281"]["risk_components"] == {
        "violation_rate": None, "coverage_gap": None, "cases_per_1000_licences": None,
        "cross_region_inflow": 1.0, "complaints_per_100k": 0.6667,
    }  # fmt: skip
    assert result[1]["320000"]["risk_components"]["coverage_gap"] == 0.6667
    # 南京's inflow share 3/17 is below the counties' minimum 3/13: clipped to 0
    assert result[1]["320100"]["risk_components"]["cross_region_inflow"] == 0.0


def test_an_empty_window_has_counts_of_zero_and_no_rates():
    empty = compute_indicators(Inputs({}), REGIONS, NOW, [1], WEIGHTS)[1]
    for region in ("320000", "320100", "320102"):
        v = empty[region]
        counts = (v["inspections"], v["cases"], v["flows_in"], v["complaints"], v["warnings_open"])
        assert counts == (0, 0, 0, 0, 0)
        assert v["violation_rate"] is v["coverage"] is v["inflow_share"] is v["sla_rate"] is None
        assert v["cases_per_1000_licences"] is None
        # population is known, so 0 complaints is a rate of 0; equal in every county, so it scales to 0
        assert v["complaints_per_100k"] == 0.0 and v["risk"] == 0.0
    assert sorted(empty) == ["320000", "320100", "320102", "320104", "320200", "320281"]


@pytest.mark.parametrize(
    ("raw", "n_counties", "expected"),
    [
        ([0.5, 0.2, 0.4, 0.6], 3, [0.75, 0.0, 0.5, 1.0]),  # counties 0.2…0.6; the province at 0.5 → 0.75
        ([0.9, 0.2, 0.4, 0.6], 3, [1.0, 0.0, 0.5, 1.0]),  # outside the counties' range: clipped
        ([0.3, 0.3, np.nan, 0.3], 3, [0.0, 0.0, np.nan, 0.0]),  # no spread: all 0, unknown stays unknown
        ([0.3, np.nan, np.nan], 2, [np.nan, np.nan, np.nan]),  # no county has data
    ],
)
def test_scale_across_counties(raw, n_counties, expected):
    np.testing.assert_allclose(scale_across_counties(np.array(raw), n_counties), expected)


@pytest.mark.parametrize(
    ("components", "weights", "expected"),
    [
        # two counties, all components known: 100 × Σ w s / Σ w
        ({"violation_rate": [0.1, 0.3], "coverage_gap": [0.0, 1.0]}, {"violation_rate": 3, "coverage_gap": 1},
         [0.0, 100.0]),
        ({"violation_rate": [0.1, 0.3], "coverage_gap": [1.0, 0.0]}, {"violation_rate": 3, "coverage_gap": 1},
         [25.0, 75.0]),
        # a missing component: the weights are renormalised over what the region has
        ({"violation_rate": [np.nan, 0.3, 0.1], "coverage_gap": [1.0, 0.0, 0.5]},
         {"violation_rate": 1, "coverage_gap": 1}, [100.0, 50.0, 25.0]),
        # all weights 0: no index
        ({"violation_rate": [0.1, 0.3]}, {"violation_rate": 0}, [np.nan, np.nan]),
    ],
)  # fmt: skip
def test_risk_index(components, weights, expected):
    size = len(next(iter(components.values())))
    full = {k: np.array(components.get(k, [np.nan] * size), float) for k in WEIGHTS}
    index, _ = risk_index(full, weights, size)
    np.testing.assert_allclose(index, expected)


def test_risk_index_refuses_unknown_weights():
    with pytest.raises(ValueError, match="bogus"):
        risk_index({k: np.zeros(1) for k in WEIGHTS}, {"bogus": 1.0}, 1)


def test_a_warning_counts_once_in_each_region_containing_it():
    table = WarningTable.build(WARNINGS, REGIONS)
    # vector order: P, NJ, WX, XW, QH, JY
    assert table.count(table.open).tolist() == [3, 2, 1, 1, 1, 1]
    assert table.window(N, N)["warnings_overdue"].tolist() == [1, 0, 1, 0, 0, 1]
    assert table.window(N, N - 2 * H)["warnings_overdue"].tolist() == [0] * 6  # not yet due then


def test_counts_sum_the_days_of_a_window_and_tolerate_bad_fields():
    counts = Counts.from_rows("inspection", [(T, "320102:ok", 2), (Y, "320102:ok", 3), (Y, "garbage", 9)])
    ok = counts.fields.id("320102:ok")
    assert counts.totals(T)[ok] == 2 and counts.totals(Y)[ok] == 5 and counts.totals(T + 1).sum() == 0
    fields = Fields("scan")
    assert fields.id(b"320102>320104") == fields.id("320102>320104") == 0
    assert fields.id("nonsense") == 1
    assert fields.columns()[0].tolist() == [XW, 0]  # adcode 0 lies in no region: never counted
