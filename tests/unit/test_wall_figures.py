"""Pure maths of the wall (geo/scenes.py, indicators/wall_figures.py), table-driven, hand-computed."""

from __future__ import annotations

import datetime as dt

import pytest

from geo import scenes
from indicators import wall_figures as wf
from web.wall_api import hex_resolution

P = 320000
NOW = int(dt.datetime(2026, 11, 10, 9, 30, tzinfo=wf.CST).timestamp() * 1000)  # Tuesday 09:30 local


@pytest.mark.parametrize(
    ("county", "scope", "node"),
    [
        (320102, 320000, 320100),  # province-wide: counties fold into their city
        (320102, 320100, 320102),  # a city's own county stays a county
        (320508, 320100, 320500),  # outside the city but in the province: its city
        (320102, 320102, 320102),
        (340104, 320000, None),  # outside the province: no node
    ],
)
def test_node_of(county, scope, node):
    assert scenes.node_of(county, scope, P) == node


def test_flow_pairs_group_by_node_and_drop_local_and_foreign():
    counters = {
        "320102>320508": 10,  # Nanjing > Suzhou
        "320104>320506": 5,  # Nanjing > Suzhou again, other counties
        "320102>320104": 7,  # inside Nanjing: no arc province-wide
        "340104>320102": 9,  # from Anhui: no point to draw
        "320508>320102": 2,  # the way back is its own arc
        "bad": 1,
    }
    assert scenes.flow_pairs(counters, P, P) == {(320100, 320500): 15, (320500, 320100): 2}
    # a Nanjing wall: its counties, the other end as a city; Wuxi > Suzhou is not its business
    counters["320205>320508"] = 50
    assert scenes.flow_pairs(counters, 320100, P) == {
        (320102, 320500): 10, (320104, 320500): 5, (320102, 320104): 7, (320500, 320102): 2,
    }  # fmt: skip


def test_pair_levels_take_the_most_severe_open_corridor_warning():
    ws = [
        {"type": "corridor_surge", "condition": "corridor_surge:320102>320508", "level": 3},
        {"type": "corridor_surge", "condition": "corridor_surge:320104>320506", "level": 1},
        {"type": "complaint_spike", "condition": "complaint_spike:320102", "level": 1},
        {"type": "corridor_surge", "condition": "corridor_surge:320102>320104", "level": 2},  # same city
    ]
    assert scenes.pair_levels(ws, P, P) == {(320100, 320500): 1}


def test_arc_starts_and_ends_at_the_points_and_bends_left():
    pts = scenes.arc((118.0, 32.0), (120.0, 32.0), bend=0.25, n=4)
    assert pts[0] == [118.0, 32.0] and pts[-1] == [120.0, 32.0] and len(pts) == 5
    # eastwards, left is north: the midpoint is 0.5 × 0.25 × 2° = 0.25° north of the line
    assert pts[2] == [119.0, 32.25]
    back = scenes.arc((120.0, 32.0), (118.0, 32.0), bend=0.25, n=4)
    assert back[2] == [119.0, 31.75]


@pytest.mark.parametrize(
    ("n", "largest", "cls"), [(100, 100, 5), (25, 100, 3), (1, 100, 1), (0, 100, 1), (4, 0, 1)]
)
def test_width_class(n, largest, cls):
    assert scenes.width_class(n, largest) == cls


def test_flow_features_largest_first_with_levels():
    pairs = {(320100, 320500): 100, (320500, 320100): 25}
    points = {320100: (118.8, 32.06), 320500: (120.6, 31.3)}
    feats = scenes.flow_features(pairs, points, {(320500, 320100): 2})
    assert [(f["properties"]["from"], f["properties"]["w"], f["properties"]["lv"]) for f in feats] == [
        (320100, 5, 0),
        (320500, 3, 2),
    ]


def test_gap_features_keep_cells_mostly_not_inspected():
    valid = {"a": 10, "b": 10, "c": 0, "d": 5}
    inspected = {"a": 9, "b": 2, "d": 5}
    cells = {"a": "8531aa5bfffffff", "b": "8531aa43fffffff", "c": "8531aa47fffffff", "d": "8531aa4bfffffff"}
    feats = scenes.gap_features(
        {cells[k]: v for k, v in valid.items()}, {cells[k]: v for k, v in inspected.items()}, 0.2
    )
    assert [f["properties"] for f in feats] == [{"g": 8, "v": 10, "s": 0.8}]


def test_warning_pins_fall_back_to_the_region_seat_and_put_red_on_top():
    def w(wid, colour, level, region, place, at):
        return {"id": wid, "colour": colour, "level": level, "type": "t", "region": region, "place": place,
                "raised_at": at}  # fmt: skip

    ws = [
        w("r", "red", 1, 320102, None, 5),
        w("b", "blue", 4, 320500, {"lon": 120.1, "lat": 31.2}, 6),
        w("lost", "blue", 4, 999999, None, 7),
    ]
    feats = scenes.warning_pins(ws, {320102: (118.78, 32.04)})
    assert [(f["properties"]["id"], f["geometry"]["coordinates"]) for f in feats] == [
        ("b", [120.1, 31.2]),
        ("r", [118.78, 32.04]),
    ]


@pytest.mark.parametrize(
    ("back", "day", "start"),
    [(0, "20261110", "2026-11-10T00:00:00+08:00"), (1, "20261109", "2026-11-09T00:00:00+08:00")],
)
def test_local_days(back, day, start):
    assert wf.local_day(NOW, back) == day
    assert wf.day_start_ms(NOW, back) == int(dt.datetime.fromisoformat(start).timestamp() * 1000)


def test_day_figures_sum_the_scope_only():
    counters = {
        "inspection": {"320102:ok": 8, "320102:issues_found": 2, "320508:ok": 100},
        "case": {"320102:counterfeit": 3, "320102:value_cny": 9000, "320102:value_cny:counterfeit": 9000},
        "complaint": {"320104:price": 4},
        "scan": {"320102>320102": 500, "320102>320508": 7, "320508>320104": 3, "320205>320508": 11},
    }
    assert wf.day_figures(counters, 320100) == {
        "inspections": 10,
        "issues": 2,
        "cases": 3,
        "complaints": 4,
        "cross": 10,
    }
    assert wf.day_figures(counters, P)["cross"] == 21


def test_kpis_compare_with_yesterday():
    k = wf.kpis(
        {"inspections": 50, "issues": 5, "cases": 0, "cross": 30},
        {"inspections": 200, "cases": 0, "cross": 60},
        {"issued": 7, "cancelled": 2}, {"coverage": 0.5}, 9, 2, 3, 0.8,
    )  # fmt: skip
    assert k["active"] == {"delta": 5}
    assert k["inspections"] == {"value": 50, "prev": 200, "progress": 0.25, "rate": 0.1}
    assert k["cases"] == {"value": 0, "prev": 0, "progress": None}
    assert k["cross"]["progress"] == 0.5
    assert k["coverage"] == {"value": 0.5, "target": 0.8}
    assert k["warnings"] == {"value": 9, "delta": 3, "overdue": 2}


def test_ranking_highest_first_without_missing_values():
    by = {320100: {"risk": 40.0}, 320200: {"risk": 55.5}, 320300: {"risk": None}, 320400: {"risk": 40.0}}
    assert wf.ranking(by, [320100, 320200, 320300, 320400, 320500]) == [
        (320200, 55.5),
        (320100, 40.0),
        (320400, 40.0),
    ]


def test_hour_bins_last_bin_ends_now():
    h = wf.HOUR_MS
    times = [NOW, NOW - 1, NOW - h + 1, NOW - h, NOW - 24 * h + 1, NOW - 24 * h, NOW + 5]
    bins = wf.hour_bins(times, NOW)
    assert bins[-1] == 3 and bins[-2] == 1 and bins[0] == 1 and sum(bins) == 5


def test_ticker_newest_first_and_colour_counts():
    ws = [{"raised_at": 1, "level": 1, "colour": "red"}, {"raised_at": 3, "level": 4, "colour": "blue"},
          {"raised_at": 3, "level": 2, "colour": "orange"}]  # fmt: skip
    assert [w["colour"] for w in wf.ticker_order(ws, 2)] == ["orange", "blue"]
    assert wf.colour_counts(ws) == {"red": 1, "orange": 1, "yellow": 0, "blue": 1}


@pytest.mark.parametrize(("scope", "res"), [(320000, 5), (320100, 6), (320102, 7)])
def test_hex_resolution(scope, res):
    assert hex_resolution(scope, (4, 5, 6, 7, 8)) == res
    assert hex_resolution(scope, (8,)) == 8


def test_stale_threshold_per_source():
    assert wf.stale_after_ms("case", 60, {"case": 3600}) == 3_600_000
    assert wf.stale_after_ms("scan", 60, {"case": 3600}) == 60_000
