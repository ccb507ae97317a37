"""Warning detectors on hand-made frames: each rule fires on its pattern and stays quiet on the noise."""

from __future__ import annotations

import pandas as pd
import pytest

from alerts.store import colour_of, level_of, merge_evidence
from core.settings import WarningSettings
from indicators.warnings import (
    DAY_MS,
    LicencePlace,
    complaint_spikes,
    corridor_surges,
    coverage_gaps,
    day_of,
    day_start_ms,
    inspection_silences,
    level_for,
    parse_meta,
    region_of,
    shift_day,
)
from indicators.warnings_obs import (
    HOUR_MS,
    case_clusters,
    corridor_evidence,
    holder_several,
    inactive_receiving,
    licence_misuse,
)

W = WarningSettings()
PROVINCE = 320000
SEATS = {320102: (118.79, 32.05), 320104: (118.80, 32.04), 320205: (120.3, 31.5), 320281: (120.28, 31.91)}
# Friday 2026-11-20 15:00 local: today is a working day, yesterday too.
NOW = day_start_ms("20261120") + 15 * HOUR_MS
TODAY, YESTERDAY = "20261120", "20261119"
LIC = {
    "320102000001": LicencePlace(320102, 320100, 118.79, 32.05),
    "320104000002": LicencePlace(320104, 320100, 118.80, 32.04),
    "320205000003": LicencePlace(320205, 320200, 120.30, 31.50),
    "320281000004": LicencePlace(320281, 320200, 120.28, 31.91),
}


def days_before(n: int, end: str = YESTERDAY) -> list[str]:
    """The ``n`` calendar days before ``end`` (oldest first)."""
    return [shift_day(end, -k) for k in range(n, 0, -1)]


# -- helpers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counties", "region"),
    [
        ([320102], 320102),
        ([320102, 320102], 320102),
        ([320102, 320104], 320100),
        ([320102, 320205], 320000),
        ([340102, 320102], 320000),  # delivered from another province
    ],
)
def test_region_is_the_smallest_holding_all_counties(counties, region):
    assert region_of(counties, PROVINCE) == region


@pytest.mark.parametrize(("severity", "level"), [(11, 1), (10, 1), (7, 2), (4, 3), (3.9, 4), (0, 4)])
def test_levels_and_colours(severity, level):
    assert level_for(severity, (10, 6, 4)) == level
    assert level_of(colour_of(level)) == level


def test_meta_and_days():
    assert parse_meta(b"1 valid 1 320102 320100 118.79 32.05 c4 c5") == LICENCE_1
    assert parse_meta(b"1 valid - - - - -") is None and parse_meta(None) is None
    assert day_of(NOW) == TODAY and day_of(day_start_ms(TODAY) - 1) == YESTERDAY
    assert day_start_ms(TODAY) - day_start_ms(YESTERDAY) == DAY_MS


LICENCE_1 = LicencePlace(320102, 320100, 118.79, 32.05)


def test_evidence_merges_in_first_seen_order_and_keeps_the_newest():
    old = {"events": ["a", "b"], "licences": ["L1"]}
    assert merge_evidence(old, {"events": ["b", "c"], "cases": ["K"]}, cap=10) == {
        "cases": ["K"],
        "events": ["a", "b", "c"],
        "licences": ["L1"],
    }
    assert merge_evidence(old, {"events": ["c", "d"]}, cap=3)["events"] == ["b", "c", "d"]


# -- corridor surges -------------------------------------------------------------------------------


def flows(rows: dict[tuple[int, int], tuple[list[int], int, int]]) -> tuple[pd.DataFrame, list[str]]:
    """A→B: (cartons on each baseline day, yesterday, today) → the scan-flow frame and its days."""
    base = days_before(len(next(iter(rows.values()))[0]))
    out = []
    for (src, dst), (history, yday, today) in rows.items():
        out += [(d, src, dst, n) for d, n in zip(base, history, strict=True)]
        out += [(YESTERDAY, src, dst, yday), (TODAY, src, dst, today)]
    return pd.DataFrame(out, columns=["day", "src", "dst", "cartons"]), [*base, YESTERDAY, TODAY]


@pytest.mark.parametrize(
    ("history", "yday", "today", "fires"),
    [
        ([200] * 7, 200, 1500, True),  # a surge today on a baseline corridor
        ([200] * 7, 1700, 100, True),  # yesterday's surge still counts
        ([200] * 7, 210, 160, False),  # an ordinary day
        ([200, 200, 200, 2000, 200, 200, 200], 220, 170, False),  # last week's surge is not the baseline
        ([0] * 7, 0, 25, True),  # a new corridor
        ([0] * 7, 3, 12, False),  # a few stray cartons
        ([200, 200], 200, 1500, False),  # too little history to judge
    ],
)
def test_corridor_surge(history, yday, today, fires):
    frame, days = flows(
        {(320281, 320205): (history, yday, today), (320102, 320104): ([50] * len(history), 50, 40)}
    )
    got = corridor_surges(frame, days, NOW, W.corridor, PROVINCE, SEATS)
    assert [c.condition for c in got] == (["corridor_surge:320281>320205"] if fires else [])
    if fires:
        c = got[0]
        assert (c.region, c.regions, c.place) == (320200, [320205, 320281], {"lon": 120.3, "lat": 31.5})
        assert c.facts["cartons"] == yday + today and c.facts["ratio"] >= W.corridor.ratio


def test_corridor_colour_grows_with_the_ratio():
    frame, days = flows({(320281, 320205): ([200] * 7, 200, 4000)})
    assert colour_of(corridor_surges(frame, days, NOW, W.corridor, PROVINCE, SEATS)[0].level) == "red"
    frame, days = flows({(320281, 320205): ([200] * 7, 200, 900)})
    assert colour_of(corridor_surges(frame, days, NOW, W.corridor, PROVINCE, SEATS)[0].level) == "blue"


def test_corridor_evidence_names_the_dealers_of_the_source_county():
    seen = pd.DataFrame(
        [("320281000004", f"s{k}", 30.0, 320205, NOW - k) for k in range(5)]
        + [("320102000001", "x1", 150.0, 320205, NOW)],
        columns=["licence_no", "event_id", "km", "county", "t"],
    )
    ev = corridor_evidence(seen, LIC, 320281)
    assert ev["licences"] == ["320281000004"] and ev["events"] == [f"s{k}" for k in range(4, -1, -1)]


# -- licence used elsewhere, inactive licences, holders ----------------------------------------------


def far(rows: list[tuple[str, float, int, int]]) -> pd.DataFrame:
    """(licence, km, observed county, hours ago) → far observations."""
    return pd.DataFrame(
        [(no, f"e{k}", km, county, NOW - h * HOUR_MS) for k, (no, km, county, h) in enumerate(rows)],
        columns=["licence_no", "event_id", "km", "county", "t"],
    )


@pytest.mark.parametrize(
    ("rows", "fires"),
    [
        ([("320102000001", 3.21 + k * 0.01, 320102, k) for k in range(6)], True),  # one other shop
        ([("320102000001", 3.2, 320102, k) for k in range(4)], False),  # too few
        ([("320102000001", 3.2, 320102, 80 + k) for k in range(6)], False),  # outside the window
        ([("320102000001", 2.0 + 3 * k, 320205, k) for k in range(30)], False),  # a scattered dealer
        (  # the same shop, drowned in scattered ones: a corridor dealer, not a borrowed licence
            [("320102000001", 3.2, 320102, k) for k in range(6)]
            + [("320102000001", 10.0 + k, 320205, k) for k in range(10)],
            False,
        ),
    ],
)
def test_licence_used_elsewhere(rows, fires):
    got = licence_misuse(far(rows), LIC, NOW, W.misuse, PROVINCE)
    assert [c.condition for c in got] == (["licence_used_elsewhere:320102000001"] if fires else [])
    if fires:
        c = got[0]
        assert (c.region, c.place, c.facts["observations"]) == (320102, {"lon": 118.79, "lat": 32.05}, 6)
        assert c.evidence == {"events": [f"e{k}" for k in range(5, -1, -1)], "licences": ["320102000001"]}


@pytest.mark.parametrize(
    ("hours_ago", "away", "fires"),
    [
        ([k * 2 for k in range(15)], set(), True),  # 15 cartons within two days of the suspension
        ([k * 4 for k in range(10)], set(), False),  # a busy shop's ordinary trickle
        ([k * 8 for k in range(15)], set(), False),  # 15, but over five days
        ([k * 2 for k in range(15)], {f"e{k}" for k in range(5)}, False),  # 5 of them scanned elsewhere
    ],
)
def test_suspended_licence_receiving_goods(hours_ago, away, fires):
    obs = pd.DataFrame(
        [("320104000002", f"e{k}", NOW - h * HOUR_MS) for k, h in enumerate(hours_ago)],
        columns=["licence_no", "event_id", "t"],
    )
    got = inactive_receiving(obs, LIC, NOW, W.inactive, away)
    assert [c.condition for c in got] == (["suspended_licence_receiving_goods:320104000002"] if fires else [])
    if fires:
        assert got[0].region == 320104 and got[0].facts["cartons"] == 15


@pytest.mark.parametrize(
    ("changes", "fires", "region"),
    [
        ([("320102000001", 1), ("320104000002", 2), ("320205000003", 3)], True, 320000),
        ([("320102000001", 1), ("320104000002", 2), ("320104000002", 3)], False, None),  # two licences
        ([("320102000001", 1), ("320104000002", 100), ("320205000003", 200)], False, None),  # weeks apart
    ],
)
def test_holder_with_several_licences(changes, fires, region):
    obs = pd.DataFrame(
        [("王建国", no, NOW - h * HOUR_MS) for no, h in changes] + [("李明", "320281000004", NOW)],
        columns=["holder", "licence_no", "t"],
    )
    got = holder_several(obs, LIC, NOW, W.holder, PROVINCE)
    assert [c.condition for c in got] == (["holder_with_several_licences:王建国"] if fires else [])
    if fires:
        assert got[0].region == region and got[0].evidence["licences"] == sorted(n for n, _ in changes)
        assert got[0].place is None


# -- case clusters ---------------------------------------------------------------------------------


def cases(rows: list[tuple[int, float, float, float]], kind: str = "counterfeit", by: str = "point"):
    """(county, km east, km north of a point, days ago) → case records."""
    return pd.DataFrame(
        [
            (f"AJ{k}", kind, NOW - int(d * DAY_MS), 118.8 + x / 94.4, 32.0 + y / 111.0, c, by)
            for k, (c, x, y, d) in enumerate(rows)
        ],
        columns=["case_id", "kind", "t", "lon", "lat", "county", "placed_by"],
    )


ACROSS_COUNTIES = [(320102, 0.0, 0.0, 5), (320104, 0.8, 0.3, 3), (320102, 0.2, 0.9, 1)]
ACROSS_CITIES = [(320102, 0.0, 0.0, 5), (320205, 0.8, 0.3, 3), (320102, 0.2, 0.9, 1)]
ONE_COUNTY = [(320102, 0.1 * k, 0.0, k) for k in range(3)]


@pytest.mark.parametrize(
    ("frame", "border", "colour"),
    [
        (cases(ACROSS_COUNTIES), "county", "yellow"),
        (cases(ACROSS_CITIES), "city", "orange"),
        (cases(ACROSS_CITIES + [(320205, 0.5, 0.5, 0.5)] * 2), "city", "red"),
        (cases(ONE_COUNTY), None, None),  # three in one county: below k_one_county
        (cases([(320102, 0.1 * k, 0.0, k) for k in range(5)]), None, "blue"),
        (cases(ACROSS_COUNTIES, kind="unlicensed_trade"), None, None),  # not a watched kind
        (cases(ACROSS_COUNTIES, by="address"), None, None),  # address-only cases sit at the seat
        (cases([(320102, 0.0, 0.0, 12), (320104, 0.5, 0.0, 10), (320102, 0.3, 0.3, 9)]), None, None),  # old
        (cases([(320102, 0.0, 0.0, 6), (320104, 5.0, 0.0, 3), (320102, 0.0, 6.0, 1)]), None, None),  # apart
        (cases([(320102, 0.0, 0.0, 0), (320104, 0.5, 0.0, 8), (320102, 0.3, 0.3, 13)]), None, None),  # 13 d
    ],
)
def test_case_cluster(frame, border, colour):
    got = case_clusters(frame, NOW, W.cluster, PROVINCE)
    assert [colour_of(c.level) for c in got] == ([colour] if colour else [])
    if colour:
        c, by_time = got[0], list(frame.sort_values("t")["case_id"])
        assert c.facts["border"] == border and c.condition == f"case_cluster:{by_time[0]}"
        assert c.evidence["cases"] == by_time


def test_a_growing_cluster_keeps_its_condition():
    first = case_clusters(cases(ACROSS_COUNTIES), NOW, W.cluster, PROVINCE)
    grown = case_clusters(cases(ACROSS_COUNTIES + [(320104, 0.4, 0.4, 0.2)]), NOW, W.cluster, PROVINCE)
    assert first[0].condition == grown[0].condition and grown[0].facts["cases"] == 4


# -- inspection silence, coverage, complaints -------------------------------------------------------


def inspections(per_day: dict[int, int], silent: dict[int, list[str]], half_today: bool = True):
    """Counties inspecting ``per_day`` on weekdays (half of it today, at 15:00), none at weekends, none
    on their ``silent`` days."""
    rows, days = [], [*days_before(21, TODAY), TODAY]
    for d in days:
        weekday = pd.Timestamp(d).weekday() < 5
        for county, n in per_day.items():
            if weekday and d not in silent.get(county, []):
                rows.append((d, county, n // 2 if d == TODAY and half_today else n))
    return pd.DataFrame(rows, columns=["day", "county", "inspections"]), days


@pytest.mark.parametrize(
    ("silent", "whole_days", "colour"),
    [
        ([YESTERDAY, TODAY], 1, "blue"),
        (["20261118", YESTERDAY, TODAY], 2, "yellow"),
        (["20261116", "20261117", "20261118", YESTERDAY, TODAY], 4, "orange"),
        ([TODAY], 0, None),  # today alone is not a whole day
        (["20261118"], 0, None),  # silent once, inspecting again since
    ],
)
def test_inspection_silence(silent, whole_days, colour):
    frame, days = inspections({320102: 150, 320104: 100, 320205: 1}, {320102: silent, 320205: silent})
    got = inspection_silences(frame, days, NOW, W.silence, SEATS)
    assert [(c.region, colour_of(c.level)) for c in got] == ([(320102, colour)] if colour else [])
    if colour:
        assert got[0].facts["whole_days"] == whole_days and got[0].facts["days"] == sorted(silent)


def test_weekends_do_not_count_as_silence():
    monday = day_start_ms("20261123") + 10 * HOUR_MS
    frame, days = inspections({320102: 150, 320104: 100}, {320102: [YESTERDAY, TODAY]}, half_today=False)
    assert inspection_silences(frame, days, monday, W.silence, SEATS)[0].facts["whole_days"] == 2


@pytest.mark.parametrize(
    ("covered", "valid", "history_days", "flagged", "fires"),
    [
        (600, 1000, 40, False, True),  # 0.6 < 0.8 - 0.1
        (750, 1000, 40, False, False),  # within the margin
        (720, 1000, 40, True, True),  # already flagged: holds until back above 0.8 - 0.05
        (760, 1000, 40, True, False),  # recovered
        (10, 50, 40, False, False),  # too few licences to judge
        (100, 1000, 10, False, False),  # not a whole window of inspections yet
    ],
)
def test_coverage_gap(covered, valid, history_days, flagged, fires):
    got = coverage_gaps(
        {320102: covered, 320100: covered},
        {320102: valid, 320100: valid},
        NOW - history_days * DAY_MS,
        NOW,
        W.coverage,
        0.8,
        SEATS,
        {320102} if flagged else set(),
    )
    assert [c.condition for c in got] == (["coverage_gap:320102"] if fires else [])


@pytest.mark.parametrize(
    ("history", "today", "fires"),
    [
        ([2] * 14, 13, True),
        ([2] * 14, 8, False),  # below min_count
        ([4] * 14, 14, False),  # a busy county's busy day: below ratio × mean
        ([4] * 13 + [30], 20, True),  # last week's spike does not hide this one
        ([2, 2], 20, False),  # too little history
    ],
)
def test_complaint_spike(history, today, fires):
    base = days_before(len(history), TODAY)
    rows = [(d, 320102, n) for d, n in zip(base, history, strict=True)] + [(TODAY, 320102, today)]
    rows += [(d, 320104, 1) for d in [*base, TODAY]]
    got = complaint_spikes(
        pd.DataFrame(rows, columns=["day", "county", "complaints"]), [*base, TODAY], NOW, W.complaint, SEATS
    )
    assert [c.condition for c in got] == (["complaint_spike:320102"] if fires else [])
    if fires:
        assert got[0].facts["complaints"] == today and got[0].facts["day"] == TODAY
