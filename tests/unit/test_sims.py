"""The multi-source simulator: valid, deterministic, realistic rhythms, anomalies with ground truth."""

from __future__ import annotations

import collections
import datetime as dt

import numpy as np
import orjson
import pytest

from core.settings import load_settings
from geo.boundaries import load_regions
from geo.coords import to_wgs84
from geo.index import RegionIndex
from streams.schema import SOURCES, parse_entry
from streams.sims import clock
from streams.sims.runner import main, read_jsonl, resume_at
from streams.sims.scenario import Scenario, generate
from streams.simulator import LicenceSimulator

MONDAY = clock.ts(clock.DEFAULT_START)
DAY = clock.DAY
SMALL = {"WATCHFLOOR_SIMULATOR_LICENCES": "2000", "WATCHFLOOR_SIMULATOR_SPEED": "720"}


@pytest.fixture(scope="module")
def geo():
    regions = load_regions(load_settings(environ={}))
    return regions, RegionIndex(regions)


def scenario(geo, **env: str) -> Scenario:
    regions, index = geo
    settings = load_settings(environ={**SMALL, **env})
    return Scenario(settings, regions, index, LicenceSimulator(settings, regions, index))


@pytest.fixture(scope="module")
def week(geo):
    """A simulated week (Monday to Sunday) of every source with anomalies, and its ground truth."""
    sc = scenario(geo, WATCHFLOOR_SIMULATOR_RATE_PER_SECOND="0.1")
    return list(sc.events(MONDAY, MONDAY + 7 * DAY)), sc.truth(MONDAY, MONDAY + 7 * DAY), sc


def payloads(events, source):
    return [(f, orjson.loads(f["data"])) for s, f in events if s == source]


def wgs84(point: dict) -> tuple[float, float]:
    return to_wgs84(point["lon"], point["lat"], point["crs"])


def test_every_entry_of_a_day_is_valid_unique_and_placed(geo):
    regions, index = geo
    sc = scenario(geo)
    events = list(sc.events(MONDAY, MONDAY + DAY))
    parsed = [parse_entry(source, fields) for source, fields in events]
    assert {s for s, _ in events} == set(SOURCES)
    for source in SOURCES:
        ids = [f["id"] for s, f in events if s == source]
        assert len(ids) == len(set(ids)), source
    times = [e.occurred_ms for e in parsed]
    assert times == sorted(times) and all(MONDAY * 1000 <= t < (MONDAY + DAY) * 1000 for t in times)
    assert all(f["occurred_at"].endswith("+08:00") for _, f in events)
    points = np.array(
        [wgs84(e.payload.point.model_dump()) for e in parsed if getattr(e.payload, "point", None)]
    )
    assert (index.lookup(points[:, 0], points[:, 1]) != 0).all()


def test_the_same_seed_gives_the_same_entries_and_another_seed_others(geo):
    a = list(scenario(geo).events(MONDAY + 8 * 3600, MONDAY + 11 * 3600))
    b = list(scenario(geo).events(MONDAY + 8 * 3600, MONDAY + 11 * 3600))
    c = list(scenario(geo, WATCHFLOOR_SIMULATOR_SEED="7").events(MONDAY + 8 * 3600, MONDAY + 11 * 3600))
    assert a == b and len(a) > 100
    assert [f["data"] for _, f in a] != [f["data"] for _, f in c]
    # the same interval cut into slices gives the same entries (what resuming relies on)
    sc = scenario(geo)
    cuts = [MONDAY + 8 * 3600, MONDAY + 8 * 3600 + 1234.5, MONDAY + 9 * 3600, MONDAY + 11 * 3600]
    assert [e for lo, hi in zip(cuts, cuts[1:], strict=False) for e in sc.events(lo, hi)] == a


def test_generate_is_the_pure_entry_point(geo):
    regions, index = geo
    settings = load_settings(environ={**SMALL, "WATCHFLOOR_SIMULATOR_SOURCES": "[complaint]"})
    start = clock.DEFAULT_START
    got = list(
        generate(
            settings,
            regions,
            index,
            LicenceSimulator(settings, regions, index),
            start,
            start + dt.timedelta(hours=12),
        )
    )
    assert got and {s for s, _ in got} == {"complaint"}


def test_inspections_only_in_working_hours_and_nobody_in_two_shops_at_once(week):
    events, _, _ = week
    visits = payloads(events, "inspection")
    assert visits
    by_inspector = collections.defaultdict(list)
    for _, d in visits:
        t0 = dt.datetime.fromisoformat(d["started_at"])
        t1 = dt.datetime.fromisoformat(d["finished_at"])
        assert t0.weekday() < 5 and t0 <= t1
        assert clock.in_working_hours(t0.timestamp()) and clock.in_working_hours(t1.timestamp())
        assert d["unit"].endswith("烟草专卖局稽查大队") and d["licence_no"][:6] == d["inspector"][-10:-4]
        assert (d["outcome"] == "ok") == (d["issue_codes"] == [])
        by_inspector[(d["unit"], d["inspector"])].append((t0, t1))
    for spans in by_inspector.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_worse_credit_grades_are_inspected_more_often(geo):
    sc = scenario(geo, WATCHFLOOR_SIMULATOR_SOURCES="[inspection]", WATCHFLOOR_SIMULATOR_ANOMALIES="false")
    month = [orjson.loads(f["data"]) for _, f in sc.events(MONDAY, MONDAY + 28 * DAY)]
    lic = sc.world.lic
    grade = dict(zip(lic.number.tolist(), lic.grade.tolist(), strict=True))
    visits = np.bincount([grade[d["licence_no"]] for d in month], minlength=4)
    per_licence = visits / np.bincount(lic.grade, minlength=4)
    assert per_licence[3] > 3 * per_licence[1] > 3 * per_licence[0] > 0  # D weekly, B monthly, A quarterly
    assert 3.0 < per_licence[3] < 5.0  # 20 working days, weekly visits plus random picks
    found = np.bincount(
        [grade[d["licence_no"]] for d in month if d["outcome"] == "issues_found"], minlength=4
    )
    assert found[3] / visits[3] > 2 * found[0] / visits[0]


def test_scans_leave_their_county_at_a_low_rate_mostly_along_the_corridors(week, geo):
    _, index = geo
    events, truth, sc = week
    injected = {i for rec in truth for ids in rec["events"].values() for i in ids}
    scans = [d for f, d in payloads(events, "scan") if f["id"] not in injected]
    assert len(scans) > 4000
    assert all(len(d["carton_code"]) == 32 and d["carton_code"].isalnum() for d in scans)
    assert len({d["carton_code"] for d in scans}) == len(scans)
    lon, lat = np.array([wgs84(d["point"]) for d in scans]).T
    where = index.lookup(lon, lat)
    region = np.array([d["licence_region"] for d in scans])
    out = where != region
    assert 0.01 <= out.mean() <= 0.03
    corridors = {(int(sc.world.codes[a]), int(sc.world.codes[b])) for a, b in sc.world.corridors}
    on_corridor = [(int(a), int(b)) in corridors for a, b in zip(region[out], where[out], strict=True)]
    assert np.mean(on_corridor) > 0.45


def test_ground_truth_names_events_of_the_stream_and_each_anomaly_holds(week, geo):
    _, index = geo
    events, truth, sc = week
    ids = collections.defaultdict(set)
    for source, fields in events:
        ids[source].add(fields["id"])
    kinds = {rec["type"]: rec for rec in truth}
    assert set(kinds) == {
        "corridor_surge",
        "licence_used_elsewhere",
        "suspended_licence_receiving_goods",
        "holder_with_several_licences",
        "case_cluster",
        "inspection_silence",
        "complaint_spike",
    }
    for rec in truth:
        orjson.dumps(rec)
        for source, listed in rec["events"].items():
            assert set(listed) <= ids[source], (rec["type"], source)
        assert rec["start"] < rec["end"]
    by_id = {f["id"]: orjson.loads(f["data"]) for _, f in events}
    cluster = kinds["case_cluster"]
    pts = np.array([wgs84(by_id[i]["point"]) for i in cluster["events"]["case"]])
    assert len(pts) >= 3 and len(set(index.lookup(pts[:, 0], pts[:, 1]).tolist())) >= 2
    span = (pts.max(axis=0) - pts.min(axis=0)) * [111.32 * np.cos(np.radians(pts[0, 1])), 111.32]
    assert np.hypot(*span) < 2.0
    silent = kinds["inspection_silence"]
    quiet = {d for d in silent["details"]["days"]}
    county = str(silent["regions"][0])
    assert not [
        d
        for f, d in payloads(events, "inspection")
        if d["licence_no"][:6] == county and d["started_at"][:10] in quiet
    ]
    surge = kinds["corridor_surge"]
    assert surge["details"]["scans"] >= 20 and len(surge["events"]["scan"]) == surge["details"]["scans"]
    suspended = kinds["suspended_licence_receiving_goods"]
    lic_no = suspended["details"]["licence_no"]
    when = by_id[suspended["events"]["licence"][0]]
    assert when["licence_no"] == lic_no and len(suspended["events"]["scan"]) >= 15


def test_complaints_cases_and_escaping(week):
    events, _, _ = week
    complaints = [d for _, d in payloads(events, "complaint")]
    assert collections.Counter(d["channel"] for d in complaints).most_common(1)[0][0] == "hotline_12313"
    assert any(set('<>&"') <= set(d["text"]) for d in complaints)
    assert any("address" in d and "point" not in d for d in complaints)
    opened = {d["case_id"]: d for _, d in payloads(events, "case") if "kind" in d}
    assert 95 * 2 < len(opened) < 95 * 5  # a few per county per week
    assert all(
        10 <= d["packs"] <= 5000 and 20 * d["packs"] <= d["value_cny"] <= 60 * d["packs"]
        for d in opened.values()
    )
    assert sum("licence_no" in d for d in opened.values()) > len(opened) / 4
    assert any("point" not in d and d["address"].startswith("江苏省") for d in opened.values())
    kinds = collections.Counter(d["kind"] for d in opened.values())
    assert len(kinds) == 7


def test_cli_writes_a_valid_jsonl_scenario(tmp_path, monkeypatch):
    for key, value in SMALL.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("WATCHFLOOR_SIMULATOR_RATE_PER_SECOND", "0.1")
    out = tmp_path / "day.jsonl"
    main(["--days", "0.5", "--speed", "0", "--out", str(out)])
    entries = list(read_jsonl(out))
    assert sum(f["id"].startswith("lic-20201101-init-") for _, f in entries) == 2000
    assert {s for s, _ in entries} == set(SOURCES)
    for source, fields in entries:
        parse_entry(source, fields)
    assert (tmp_path / "day.truth.jsonl").exists()


def test_a_clock_starting_mid_week_gets_the_partial_truth_of_anomalies_under_way(geo):
    sc = scenario(geo, WATCHFLOOR_SIMULATOR_RATE_PER_SECOND="0.1")
    start, end = MONDAY + 2 * DAY + 12 * 3600, MONDAY + 7 * DAY
    ids = {f["id"] for _, f in sc.events(start, end)}
    ongoing, later = sc.ongoing(start), sc.truth(start, end)
    assert ongoing and all(rec["partial"] for rec in ongoing) and not any(rec["partial"] for rec in later)
    assert {rec["id"] for rec in ongoing}.isdisjoint(rec["id"] for rec in later)
    for rec in ongoing + later:
        assert {i for listed in rec["events"].values() for i in listed} <= ids, rec["type"]


@pytest.mark.parametrize(
    ("cursor", "now", "limit", "expected"),
    [
        (1000.0, 1000.0, 3600, (1000.0, 1000.0)),  # at the wall clock: unchanged
        (5000.0, 1000.0, 3600, (5000.0, 5000.0)),  # ahead (a fast demo): unchanged
        (1000.0, 2800.0, 3600, (1000.0, 2800.0)),  # 30 min behind: play the gap, then run from now
        (1000.0, 4600.0, 3600, (1000.0, 4600.0)),  # exactly the limit: still played
        (1000.0, 4601.0, 3600, (4601.0, 4601.0)),  # longer: jump to now, the gap is not played
        (1000.0, 1001.0, 0, (1001.0, 1001.0)),  # no catch-up at all: always jump
    ],
)
def test_a_restarted_live_clock_resumes_at(cursor, now, limit, expected):
    assert resume_at(cursor, now, limit) == expected
