"""The four other sources through the consumer, on a real redis-server: effects, order, poison, claim."""

from __future__ import annotations

import time

import orjson
import pytest

from core import keys
from core.settings import load_settings
from geo.boundaries import load_regions
from geo.index import RegionIndex
from streams.consumer import Consumer, announce_regions, build_stores
from streams.deadletter import list_dead_letters
from tests.events import case_data, complaint_data, entry, inspection_data, issued_data, scan_data


@pytest.fixture(scope="module")
def geo():
    regions = load_regions(load_settings(environ={}))
    return regions, RegionIndex(regions)


def make_consumer(r, settings, geo, name="test-1") -> Consumer:
    regions, index = geo
    c = Consumer(
        r, settings, build_stores(r, settings, regions, index), announce_regions(settings, regions), name
    )
    c.ensure_groups()
    return c


def drain(c: Consumer) -> None:
    while c.run_once(block_ms=1).read:
        pass


def test_each_source_updates_its_counters_and_records(redis_client, settings, geo):
    r = redis_client
    c = make_consumer(r, settings, geo)
    r.xadd(keys.inbound("inspection"), entry("inspection.completed", inspection_data("i1")))
    r.xadd(
        keys.inbound("inspection"),
        entry(
            "inspection.completed",
            inspection_data("i2", outcome="issues_found", finished="2026-11-21T11:00:00+08:00"),
        ),
    )
    r.xadd(keys.inbound("case"), entry("case.opened", case_data("k1")))
    r.xadd(keys.inbound("scan"), entry("scan.recorded", scan_data("A" * 32, licence_region=320302)))
    r.xadd(keys.inbound("scan"), entry("scan.recorded", scan_data("B" * 32)))
    r.xadd(keys.inbound("complaint"), entry("complaint.received", complaint_data("c1")))
    drain(c)

    assert r.hgetall(keys.day_counts("inspection", "20261121")) == {
        b"320102:ok": b"1",
        b"320102:issues_found": b"1",
    }
    assert (
        int(r.hget(keys.LAST_INSPECTION, "320102000001")) == 1795230000000
    )  # 2026-11-21 11:00+08:00 = 09:00 (1795222800000) + 2 h
    assert r.hgetall(keys.day_counts("scan", "20261121")) == {b"320302>320102": b"1", b"320102>320102": b"1"}
    case = orjson.loads(r.hget(keys.records("case"), "k1"))
    assert (case["status"], case["county"], case["placed_by"]) == ("open", 320102, "point")
    complaint = orjson.loads(r.hget(keys.records("complaint"), "c1"))
    assert (complaint["county"], complaint["placed_by"]) == (320102, "address")
    assert complaint["text"] == complaint_data()["text"]  # stored as text, markup and all
    assert r.hget(keys.day_counts("complaint", "20261121"), "320102:counterfeit") == b"1"
    for source in ("inspection", "case", "scan", "complaint"):
        assert r.xpending(keys.inbound(source), "ingest")["pending"] == 0


def test_a_case_closed_before_it_is_opened_ends_up_closed(redis_client, settings, geo):
    r = redis_client
    c = make_consumer(r, settings, geo)
    closed = {"case_id": "k9", "result": "penalised", "penalty_cny": 5000}
    r.xadd(keys.inbound("case"), entry("case.closed", closed, occurred_at="2026-11-25T09:00:00+08:00"))
    drain(c)
    r.xadd(
        keys.inbound("case"), entry("case.opened", case_data("k9"), occurred_at="2026-11-21T09:00:00+08:00")
    )
    drain(c)
    case = orjson.loads(r.hget(keys.records("case"), "k9"))
    assert (case["status"], case["result"], case["kind"], case["packs"]) == (
        "closed",
        "penalised",
        "counterfeit",
        400,
    )


def test_unplaceable_events_are_dead_letters_naming_the_field(redis_client, settings, geo):
    r = redis_client
    c = make_consumer(r, settings, geo)
    r.xadd(
        keys.inbound("complaint"), entry("complaint.received", complaint_data("c2", address="上海市黄浦区"))
    )
    r.xadd(
        keys.inbound("case"),
        entry("case.opened", case_data("k2", point={"lon": 116.4, "lat": 39.9, "crs": "wgs84"})),
    )
    r.xadd(keys.inbound("scan"), entry("licence.issued", scan_data()))  # a type of another source
    drain(c)
    reasons = sorted(d["reason"] for d in list_dead_letters(r))
    assert reasons[0].startswith("data.address: names no county")
    assert reasons[1].startswith("data.point: (116.40000, 39.90000) WGS-84 lies outside every county")
    assert reasons[2].startswith("type: 'licence.issued' is not an event type of source 'scan'")


def test_entries_of_a_dead_consumer_are_claimed_and_poison_goes_to_dead_letters(
    redis_client, settings_for, geo
):
    r = redis_client
    settings = settings_for(WATCHFLOOR_CONSUMER_CLAIM_IDLE_MS="100", WATCHFLOOR_CONSUMER_MAX_DELIVERIES="3")
    dead = make_consumer(r, settings, geo, name="dead-one")
    stream = keys.inbound("inspection")
    r.xadd(stream, entry("inspection.completed", inspection_data("i7")))
    poison = r.xadd(stream, entry("inspection.completed", inspection_data("i8")))
    dead._read(">", 1)  # read, never acknowledged: the consumer "died"
    for _ in range(2):  # the poison entry keeps being delivered and never acknowledged
        r.xclaim(stream, "ingest", "someone-else", 0, [poison])
    time.sleep(0.15)

    alive = make_consumer(r, settings, geo, name="alive")
    report = alive.claim_stuck()
    assert report.applied == 1 and report.dead == 1
    letter = list_dead_letters(r)[0]
    assert letter["entry_id"] == poison.decode() and "delivered 3 times" in letter["reason"]
    assert orjson.loads(letter["entry"])["type"] == "inspection.completed"  # the original is kept
    assert r.xpending(stream, "ingest")["pending"] == 0
    assert r.hget(keys.day_counts("inspection", "20261121"), "320102:ok") == b"1"


def test_coverage_sets_follow_inspections_and_licence_status(redis_client, settings, geo):
    r = redis_client
    c = make_consumer(r, settings, geo)
    cov = keys.coverage(320102)
    r.xadd(
        keys.inbound("licence"),
        entry(data=issued_data("320102000001"), occurred_at="2026-11-20T09:00:00+08:00"),
    )
    r.xadd(keys.inbound("inspection"), entry("inspection.completed", inspection_data("i1")))
    drain(c)
    # finished 10:30+08:00 on the 21st = 09:00 (1795222800000) + 1.5 h
    assert r.zscore(cov, "320102000001") == 1795228200000
    r.xadd(
        keys.inbound("licence"),
        entry(
            "licence.suspended",
            {"licence_no": "320102000001", "reason": "x"},
            occurred_at="2026-11-21T12:00:00+08:00",
        ),
    )
    drain(c)
    assert r.zscore(cov, "320102000001") is None  # not active: not counted as covered
    r.xadd(
        keys.inbound("licence"),
        entry(
            "licence.renewed",
            {"licence_no": "320102000001", "valid_to": "2030-01-01"},
            occurred_at="2026-11-21T13:00:00+08:00",
        ),
    )
    drain(c)
    assert r.zscore(cov, "320102000001") == 1795228200000  # active again, with its latest inspection
    days = r.hgetall(keys.day_counts("licence", "20261121"))
    assert days == {b"320102:suspended": b"1", b"320102:renewed": b"1"}
    assert r.zrange(keys.days_index("licence"), 0, -1) == [b"20261120", b"20261121"]
    assert {b"licence:20261121", b"inspection:20261121"} <= r.smembers(keys.DIRTY_DAYS)


def test_scans_far_away_or_for_a_suspended_licence_are_observed(redis_client, settings, geo):
    r = redis_client
    c = make_consumer(r, settings, geo)
    r.xadd(
        keys.inbound("licence"),
        entry(data=issued_data("320102000001"), occurred_at="2026-11-20T09:00:00+08:00"),
    )
    drain(c)
    far = {"lon": 118.90, "lat": 32.10, "crs": "wgs84"}  # ~12 km from the shop
    r.xadd(keys.inbound("scan"), entry("scan.recorded", scan_data("F" * 32, point=far), event_id="s-far"))
    r.xadd(keys.inbound("scan"), entry("scan.recorded", scan_data("N" * 32), event_id="s-near"))
    r.xadd(
        keys.inbound("licence"),
        entry(
            "licence.suspended",
            {"licence_no": "320102000001", "reason": "x"},
            occurred_at="2026-11-21T10:00:00+08:00",
        ),
    )
    drain(c)
    r.xadd(
        keys.inbound("scan"),
        entry(
            "scan.recorded", scan_data("S" * 32), event_id="s-after", occurred_at="2026-11-21T11:00:00+08:00"
        ),
    )
    moved = {"licence_no": "320102000001", "holder": "赵大"}
    r.xadd(keys.inbound("licence"), entry("licence.changed", moved, occurred_at="2026-11-21T12:00:00+08:00"))
    drain(c)
    far_obs = [m.decode().split("|") for m in r.zrange(keys.observations("far"), 0, -1)]
    assert [(o[0], o[1]) for o in far_obs] == [("320102000001", "s-far")] and 11 < float(far_obs[0][2]) < 14
    assert r.zrange(keys.observations("inactive"), 0, -1) == [b"320102000001|s-after"]
    assert r.zrange(keys.observations("holder"), 0, -1) == ["赵大|320102000001".encode()]
