"""XADD → consumer → licence state, against a real redis-server (see tests/conftest.py)."""

from __future__ import annotations

import orjson
import pytest
import redis

from core import keys
from core.settings import Settings
from geo.boundaries import load_regions
from geo.index import RegionIndex
from streams.consumer import Consumer, announce_regions, build_stores
from streams.deadletter import list_dead_letters
from streams.licences import active_counts
from tests.events import NANJING, entry, issued_data

STREAM = keys.inbound("licence")


@pytest.fixture(scope="module")
def geo(request: pytest.FixtureRequest):
    from core.settings import load_settings

    regions = load_regions(load_settings(environ={}))
    return regions, RegionIndex(regions)


@pytest.fixture
def consumer(redis_client: redis.Redis, settings: Settings, geo) -> Consumer:
    regions, index = geo
    stores = build_stores(redis_client, settings, regions, index)
    c = Consumer(redis_client, settings, stores, announce_regions(settings, regions), name="test-1")
    c.ensure_groups()
    return c


def drain(c: Consumer) -> int:
    """Run the consumer until the stream has nothing new; returns the number of entries read."""
    total = 0
    while True:
        report = c.run_once(block_ms=1)
        total += report.read
        if report.read == 0:
            return total


def status_counts(r: redis.Redis, adcode: int) -> dict[str, int]:
    return {s: int(r.hget(keys.licence_counts(s), str(adcode)) or 0) for s in keys.STATUSES}


def test_valid_events_reach_state_and_malformed_ones_land_in_dead_letters(redis_client, consumer):
    r = redis_client
    r.xadd(STREAM, entry(data=issued_data("320102000001")))
    r.xadd(STREAM, entry(data=issued_data("320102000002", crs="gcj02", lon=NANJING[0] + 0.005)))
    r.xadd(
        STREAM,
        {
            "id": "bad-json",
            "type": "licence.issued",
            "occurred_at": "2026-11-21T09:00:00+08:00",
            "data": "{not json",
        },
    )
    r.xadd(STREAM, entry(data=issued_data("320102000003", credit_grade="Z"), event_id="bad-grade"))
    r.xadd(STREAM, entry(data=issued_data("320102000004", lon=121.47, lat=31.23), event_id="shanghai"))
    r.xadd(STREAM, {"id": "no-type", "occurred_at": "2026-11-21T09:00:00+08:00", "data": "{}"})

    assert drain(consumer) == 6
    assert active_counts(r, [320102, 320100, 320000]) == {320102: 2, 320100: 2, 320000: 2}
    record = orjson.loads(r.hget(keys.LICENCES, "320102000002"))
    assert record["shop_name"] == "王记便利店" and record["status"] == "valid"

    dead = {d["entry_id"]: d for d in list_dead_letters(r)}
    reasons = sorted(d["reason"] for d in dead.values())
    assert len(reasons) == 4
    assert any(x.startswith("data: not valid JSON") for x in reasons)
    assert any(x.startswith("data.credit_grade:") for x in reasons)
    assert any(x.startswith("data.point:") and "outside every county" in x for x in reasons)
    assert any(x == "type: field required" for x in reasons)
    original = next(
        orjson.loads(d["entry"]) for d in dead.values() if d["reason"].startswith("data: not valid")
    )
    assert original == {
        "id": "bad-json",
        "type": "licence.issued",
        "occurred_at": "2026-11-21T09:00:00+08:00",
        "data": "{not json",
    }
    assert r.xpending(STREAM, "ingest")["pending"] == 0  # everything acknowledged, good or bad


def test_duplicates_change_nothing(redis_client, consumer):
    r = redis_client
    first = entry(data=issued_data("320102000001"), event_id="dup-1")
    for _ in range(3):
        r.xadd(STREAM, first)
    drain(consumer)
    assert status_counts(r, 320102) == {"valid": 1, "suspended": 0, "revoked": 0, "expired": 0}
    assert r.scard(keys.seen("licence")) == 1


def test_an_older_event_never_overwrites_a_newer_state(redis_client, consumer):
    r = redis_client
    no = "320102000009"
    # the suspension (10:00) arrives before the issue (09:00) and before a stale renewal (08:00)
    r.xadd(
        STREAM,
        entry(
            "licence.suspended", {"licence_no": no, "reason": "整改"}, occurred_at="2026-11-21T10:00:00+08:00"
        ),
    )
    r.xadd(STREAM, entry(data=issued_data(no), occurred_at="2026-11-21T09:00:00+08:00"))
    r.xadd(
        STREAM,
        entry(
            "licence.renewed",
            {"licence_no": no, "valid_to": "2030-01-01"},
            occurred_at="2026-11-21T08:00:00+08:00",
        ),
    )
    drain(consumer)
    assert status_counts(r, 320102)["suspended"] == 1 and status_counts(r, 320102)["valid"] == 0
    record = orjson.loads(r.hget(keys.LICENCES, no))
    assert (record["status"], record["reason"], record["valid_to"]) == ("suspended", "整改", "2029-01-01")
    # a newer revocation does win
    r.xadd(
        STREAM,
        entry(
            "licence.revoked", {"licence_no": no, "reason": "吊销"}, occurred_at="2026-11-21T11:00:00+08:00"
        ),
    )
    drain(consumer)
    assert status_counts(r, 320102) == {"valid": 0, "suspended": 0, "revoked": 1, "expired": 0}


def test_a_batch_redelivered_after_a_crash_is_applied_once(redis_client, consumer, settings, geo):
    r = redis_client
    for i in range(5):
        r.xadd(STREAM, entry(data=issued_data(f"32010200010{i}")))
    # the first consumer reads and applies, then "dies" before XACK
    entries = consumer._read(">", 1)["licence"]
    from streams.schema import parse_entry

    events = [parse_entry("licence", f) for _, f in entries]
    store = consumer.stores["licence"]
    places, _ = store.place(events)
    store.apply(events, places)
    assert r.xpending(STREAM, "ingest")["pending"] == 5
    # restarted under the same name it first re-reads its pending entries
    regions, index = geo
    again = Consumer(r, settings, consumer.stores, announce_regions(settings, regions), name="test-1")
    drain(again)
    assert r.xpending(STREAM, "ingest")["pending"] == 0
    assert active_counts(r, [320102])[320102] == 5


def test_each_batch_announces_counts_on_the_updates_channel(redis_client, consumer):
    r = redis_client
    sub = r.pubsub(ignore_subscribe_messages=True)
    sub.subscribe(keys.UPDATES)
    r.xadd(STREAM, entry(data=issued_data("320102000001")))
    drain(consumer)
    messages = [sub.get_message(timeout=1) for _ in range(3)]  # the first read may be the subscribe reply
    update = orjson.loads(next(m for m in messages if m)["data"])
    assert (
        update["topic"] == "licence" and update["active"]["320000"] == 1 and update["active"]["320100"] == 1
    )
    assert update["version"] >= 1


def test_a_change_moves_the_licence_and_keeps_its_status(redis_client, consumer):
    r = redis_client
    no = "320102000077"
    r.xadd(STREAM, entry(data=issued_data(no), occurred_at="2026-11-21T09:00:00+08:00"))
    r.xadd(
        STREAM,
        entry(
            "licence.suspended", {"licence_no": no, "reason": "整改"}, occurred_at="2026-11-21T10:00:00+08:00"
        ),
    )
    # moves to Suzhou's Gusu district (WGS-84 near its seat)
    moved = {"licence_no": no, "shop_name": "新店", "point": {"lon": 120.62, "lat": 31.31, "crs": "wgs84"}}
    r.xadd(STREAM, entry("licence.changed", moved, occurred_at="2026-11-21T11:00:00+08:00"))
    drain(consumer)
    assert status_counts(r, 320102)["suspended"] == 0
    meta = r.hget(keys.LICENCE_META, no).decode().split()
    assert meta[1] == "suspended" and meta[4] == "320500"  # status, then the city of the new place
    assert active_counts(r, [320000])[320000] == 0
    record = orjson.loads(r.hget(keys.LICENCES, no))
    assert (record["shop_name"], record["status"], record["holder"]) == ("新店", "suspended", "王建国")


def test_a_change_that_arrives_before_the_issue_still_wins(redis_client, consumer):
    r = redis_client
    no = "320102000078"
    moved = {"licence_no": no, "shop_name": "新店", "point": {"lon": 120.62, "lat": 31.31, "crs": "wgs84"}}
    r.xadd(STREAM, entry("licence.changed", moved, occurred_at="2026-11-21T11:00:00+08:00"))
    r.xadd(STREAM, entry(data=issued_data(no), occurred_at="2026-11-21T09:00:00+08:00"))
    drain(consumer)
    meta = r.hget(keys.LICENCE_META, no).decode().split()
    assert meta[1] == "valid" and meta[4] == "320500"  # the newer place, the issue's status
    record = orjson.loads(r.hget(keys.LICENCES, no))
    assert record["shop_name"] == "新店" and "_place" not in record
    assert active_counts(r, [320500, 320100])[320500] == 1


def test_a_job_queue_error_after_a_batch_does_not_stop_ingest(redis_client, consumer, monkeypatch, capsys):
    # what rq raised in the demo when an indicator job vanished between fetch and status read
    from rq.exceptions import InvalidJobOperation

    import streams.consumer as consumer_module

    def broken(*args, **kwargs):
        raise InvalidJobOperation("Failed to retrieve status for job: wf-ind-update-a")

    monkeypatch.setattr(consumer_module, "schedule_indicators", broken)
    r = redis_client
    r.xadd(STREAM, entry(data=issued_data("320102000001"), event_id="job-1"))
    assert drain(consumer) == 1
    r.xadd(STREAM, entry(data=issued_data("320102000002"), event_id="job-2"))
    assert drain(consumer) == 1  # the next batch is still read and applied
    assert status_counts(r, 320102)["valid"] == 2
    assert "job scheduling failed" in capsys.readouterr().err
