"""Pure parts of /meeting: drill levels, breadcrumbs, rankings, colour classes, value formats, daily
series from day counters, the untrusted selection, and the next selection after a click."""

from __future__ import annotations

import datetime as dt

import pytest

from callbacks.meeting import font_px, next_selection
from core.auth import User
from indicators.briefing import Selection
from indicators.compare import (
    RAMP,
    breadcrumb,
    colour_classes,
    contains,
    format_value,
    level_of,
    peers,
    ranking,
)
from indicators.trends import DAILY, FALLBACK, daily_series, day_list, source_of
from layouts.messages import meeting as messages

CITIES = [320100, 320200, 320500]
COUNTIES = [320102, 320104, 320115, 320205, 320505, 320508]
NJ = User("nj", "leader", 320100)


@pytest.mark.parametrize(
    ("code", "level"), [(320000, "province"), (320100, "city"), (321300, "city"), (320102, "county")]
)
def test_level_of(code, level):
    assert level_of(code) == level


@pytest.mark.parametrize(
    ("outer", "inner", "inside"),
    [(320000, 320505, True), (320100, 320102, True), (320100, 320505, False), (320102, 320102, True),
     (320102, 320104, False), (320000, 330100, False), (320100, 320000, False)],
)  # fmt: skip
def test_contains(outer, inner, inside):
    assert contains(outer, inner) is inside


@pytest.mark.parametrize(
    ("code", "scope", "chain"),
    [(320102, 320000, [320000, 320100, 320102]), (320102, 320100, [320100, 320102]),
     (320100, 320100, [320100]), (320505, 320100, []), (320000, 320100, []), (320102, 320102, [320102])],
)  # fmt: skip
def test_breadcrumb_starts_at_the_scope(code, scope, chain):
    assert breadcrumb(code, scope) == chain


@pytest.mark.parametrize(
    ("code", "expected"),
    [(320000, CITIES), (320100, [320102, 320104, 320115]), (320102, [320102, 320104, 320115]),
     (320500, [320505, 320508])],
)  # fmt: skip
def test_peers_are_the_children_or_a_countys_siblings(code, expected):
    assert peers(code, CITIES, COUNTIES) == expected


def test_ranking_largest_first_missing_last_ties_by_adcode():
    values = {1: {"x": 2.0}, 2: {"x": None}, 3: {"x": 5}, 4: {"x": 2.0}, 5: {}}
    assert ranking(values, [1, 2, 3, 4, 5, 6], "x") == [
        (3, 5),
        (1, 2.0),
        (4, 2.0),
        (2, None),
        (5, None),
        (6, None),
    ]


@pytest.mark.parametrize(
    ("values", "classes"),
    [({1: 0.0, 2: 10.0, 3: 5.0, 4: None}, {1: 0, 2: 6, 3: 3, 4: None}), ({1: 3, 2: 3}, {1: 3, 2: 3}),
     ({1: None}, {1: None}), ({}, {})],
)  # fmt: skip
def test_colour_classes(values, classes):
    assert colour_classes(values, len(RAMP)) == classes


@pytest.mark.parametrize(
    ("indicator", "value", "text"),
    [("active", 1234567, "1,234,567"), ("coverage", 0.7684, "76.8%"), ("risk", 35.649, "35.6"),
     ("per_1000", 1.23456, "1.23"), ("case_value_cny", 5014224.4, "5,014,224"), ("coverage", None, "—")],
)  # fmt: skip
def test_format_value(indicator, value, text):
    assert format_value(indicator, value) == text


DAYS = {
    20261120: {"320102:ok": 3, "320102:issues_found": 1, "320104:ok": 2, "320505:ok": 7, "320199:ok": 1},
    20261122: {"320102:issues_found": 2},
}
SCANS = {20261122: {"320102>320102": 5, "320505>320102": 2, "320102>320505": 3, "340100>320104": 4}}


@pytest.mark.parametrize(
    ("days", "indicator", "adcode", "expected"),
    [
        (DAYS, "inspections", 320100, [4 + 2 + 1, 0, 2]),  # 320199: no current county, still Nanjing's
        (DAYS, "inspections", 320102, [4, 0, 2]),
        (DAYS, "inspections", 320000, [4 + 2 + 7 + 1, 0, 2]),
        (DAYS, "inspections_with_issues", 320100, [1, 0, 2]),
        (DAYS, "violation_rate", 320102, [0.25, None, 1.0]),
        (SCANS, "scanned", 320102, [0, 0, 7]),
        (SCANS, "flows_in", 320102, [0, 0, 2]),
        (SCANS, "flows_out", 320102, [0, 0, 3]),
        (SCANS, "flows_in", 320000, [0, 0, 4]),  # from outside the province
        (SCANS, "inflow_share", 320100, [None, None, round(6 / 11, 4)]),  # in: 2 + 4 of 11
    ],
)
def test_daily_series_sums_the_regions_counties(days, indicator, adcode, expected):
    assert daily_series(days, indicator, adcode, [20261120, 20261121, 20261122]) == expected


def test_per_100k_needs_a_population():
    days = {20261122: {"320102:price": 3, "320104:counterfeit": 1}}
    assert daily_series(days, "complaints_per_100k", 320100, [20261122], 2_000_000) == [0.2]
    assert daily_series(days, "complaints_per_100k", 320100, [20261122], 0) == [None]


def test_day_list_ends_today_in_beijing():
    now = dt.datetime(2026, 11, 21, 17, 0, tzinfo=dt.UTC)  # 01:00 on the 22nd in Beijing
    assert day_list(now, 3) == [20261120, 20261121, 20261122]


def test_every_daily_indicator_has_a_source_and_fallback_is_daily():
    assert FALLBACK in DAILY and {source_of(i) for i in DAILY} == {
        "licence",
        "inspection",
        "case",
        "scan",
        "complaint",
    }
    with pytest.raises(KeyError):
        source_of("coverage")


@pytest.mark.parametrize(
    ("data", "expected"),
    [({"region": 320102, "shop": "320102000001"}, Selection(320102, "320102000001")),
     ({"region": "320102", "shop": None}, Selection(320102)), ({"region": True}, Selection(320100)),
     ({"region": 12}, Selection(320100)), ("nonsense", Selection(320100)),
     ({"region": 320102, "shop": "<img src=x>"}, Selection(320102))],
)  # fmt: skip
def test_selection_from_the_browser_is_checked(data, expected):
    assert Selection.parse(data, 320100) == expected


@pytest.mark.parametrize(
    ("trigger", "value", "expected"),
    [
        ("meeting-regions", {"properties": {"adcode": 320102}}, Selection(320102)),
        ("meeting-regions", {"properties": {"adcode": 320505}}, None),  # outside the scope
        ("meeting-regions", {"properties": {"adcode": "320102"}}, None),  # not a number
        ("meeting-shops", {"properties": {"no": "320102000001"}}, Selection(320100, "320102000001")),
        ({"type": "meeting-crumb", "adcode": 320000}, 1, None),  # above the scope
        ({"type": "meeting-crumb", "adcode": 320100}, 1, None),  # already there
        ({"type": "meeting-rank", "adcode": 320104}, 1, Selection(320104)),
        ({"type": "meeting-rank", "adcode": 320104}, 0, None),  # re-rendered, not clicked
        ("meeting-tick", 3, None),
    ],
)
def test_next_selection(trigger, value, expected):
    assert next_selection(trigger, value, Selection(320100), NJ) == expected


@pytest.mark.parametrize(
    ("height", "px"), [(1080, 16.2), (2160, 32.4), (None, 16.2), ("x", 16.2), (400, 11.0)]
)
def test_font_px(height, px):
    assert font_px(height) == px


def test_catalogues_have_the_same_keys_and_every_indicator_a_name():
    from indicators.compare import INDICATORS, KPIS

    assert messages.ZH.keys() == messages.EN.keys()
    assert all(f"meeting.ind.{k}" in messages.ZH for k in INDICATORS) and set(KPIS) <= set(INDICATORS)
