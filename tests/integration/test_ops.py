"""The /ops figures and dead-letter re-drive, against a real redis-server (see tests/conftest.py)."""

from __future__ import annotations

import json
import time

import orjson
import pytest

from app import create_app
from callbacks.ops import redrive_letters
from core import keys
from core.auth import User, current_user
from streams.deadletter import (
    add_dead_letter,
    dead_letter_counts,
    list_dead_letters,
    recount_dead_letters,
    redrive,
    redrive_audit,
)
from streams.ops import record_ingest, source_stats
from streams.schema import SOURCES
from tests.events import entry
from tests.integration.auth_app import OPS_TICK
from tests.webclient import csrf_client

STREAM = keys.inbound("licence")
BAD = {"id": "bad-1", "type": "licence.issued", "occurred_at": "2026-11-21T09:00:00+08:00", "data": "{no"}


def stats_of(r, source: str = "licence", now_ms: int | None = None):
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    return {s.source: s for s in source_stats(r, SOURCES, "ingest", now_ms)}[source]


def test_lag_pending_and_length_of_a_stream_with_undelivered_and_unacknowledged_entries(redis_client):
    r = redis_client
    ids = [r.xadd(STREAM, entry()).decode() for _ in range(6)]
    r.xgroup_create(STREAM, "ingest", id="0")
    read = r.xreadgroup("ingest", "c1", {STREAM: ">"}, count=3)[0][1]
    r.xack(STREAM, "ingest", read[0][0])  # 1 acknowledged, 2 pending, 3 never delivered
    time.sleep(0.05)

    s = stats_of(r)
    assert (s.length, s.group, s.lag, s.lag_exact, s.pending) == (6, True, 3, True, 2)
    assert s.oldest_pending_idle_ms >= 40
    assert s.last_entry_ms == int(ids[-1].split("-")[0])
    # no consumer counters yet: the rates are the arrivals, counted from the entry ids
    assert (s.rate_basis, s.per_minute, s.per_hour, s.minute_capped, s.hour_capped) == (
        "stream",
        6,
        6,
        False,
        False,
    )
    # an hour later nothing arrived in the last minute or hour
    later = stats_of(r, now_ms=s.last_entry_ms + 3_700_000)
    assert (later.per_minute, later.per_hour) == (0, 0)

    # deleting an undelivered entry makes Redis report no lag: it is counted from the stream instead
    r.xdel(STREAM, ids[4])
    assert r.xinfo_groups(STREAM)[0]["lag"] is None
    s = stats_of(r)
    assert (s.lag, s.lag_exact, s.length) == (2, True, 5)

    # the other sources have sent nothing
    scan = stats_of(r, "scan")
    assert (scan.length, scan.group, scan.lag, scan.pending, scan.last_entry_ms) == (0, False, None, 0, None)


def test_a_stream_without_the_group_reports_no_group(redis_client):
    r = redis_client
    r.xadd(STREAM, entry())
    s = stats_of(r)
    assert (s.length, s.group, s.lag, s.pending) == (1, False, None, 0)


def test_rates_come_from_the_consumer_counters_once_it_records_them(redis_client):
    r = redis_client
    base = 1_800_000_000_000  # on a minute boundary
    pipe = r.pipeline()
    record_ingest(pipe, "case", 10, base - 30_000)  # in the last minute
    record_ingest(pipe, "case", 20, base - 600_000)  # in the last hour
    record_ingest(pipe, "case", 5, base - 7_200_000)  # older than an hour
    record_ingest(pipe, "case", 0, base)  # nothing: no-op
    pipe.execute()
    r.hset(keys.source_status("case"), mapping={"last_ingest_ms": base - 30_000, "last_event_ms": 123})

    s = stats_of(r, "case", now_ms=base)
    assert (s.rate_basis, s.per_minute, s.per_hour) == ("ingest", 10, 30)
    assert (s.last_ingest_ms, s.last_event_ms) == (base - 30_000, 123)
    # half way through a bucket, the bucket the window starts in counts for the half still inside it
    record_ingest(r, "case", 4, base - 55_000)
    assert stats_of(r, "case", now_ms=base + 5_000).per_minute == 10 + 2


def test_dead_letters_newest_first_filtered_by_source_and_paged(redis_client):
    r = redis_client
    for i in range(6):
        add_dead_letter(r, "licence" if i % 2 else "scan", f"1-{i}", {"id": f"e{i}"}, f"reason {i}", 1000 + i)
    rows = list_dead_letters(r)
    assert [x["reason"] for x in rows] == [f"reason {i}" for i in range(5, -1, -1)]
    assert rows[0]["source"] == "licence" and orjson.loads(rows[0]["entry"]) == {"id": "e5"}
    scans = list_dead_letters(r, source="scan")
    assert [x["entry_id"] for x in scans] == ["1-4", "1-2", "1-0"]
    first = list_dead_letters(r, count=2)
    second = list_dead_letters(r, count=2, before=first[-1]["id"])
    assert [x["reason"] for x in first + second] == ["reason 5", "reason 4", "reason 3", "reason 2"]
    assert list_dead_letters(r, source="scan", count=1, before=scans[0]["id"])[0]["entry_id"] == "1-2"
    assert dead_letter_counts(r, SOURCES) == {
        "licence": 3,
        "inspection": 0,
        "case": 0,
        "scan": 3,
        "complaint": 0,
    }
    # letters written before the counter existed are counted once, on first read
    r.delete(keys.DEAD_COUNTS)
    assert dead_letter_counts(r, ["scan"]) == {"scan": 3}
    assert recount_dead_letters(r) == {"licence": 3, "scan": 3}


def test_redrive_puts_the_original_back_removes_the_letter_and_audits(redis_client):
    r = redis_client
    add_dead_letter(r, "licence", "1700000000000-0", BAD, "data: not valid JSON", 1000)
    add_dead_letter(r, "scan", "1700000000000-1", {"id": "s1"}, "type: field required", 1001)
    letters = list_dead_letters(r)
    dead_id = letters[1]["id"]  # the licence one

    result = redrive(r, [dead_id, dead_id, "nonsense", "1-1"], who="alice", now_ms=5000)
    assert list(result.redriven) == [dead_id]
    assert result.missing == ["1-1"] and list(result.failed) == ["nonsense"]
    new_id = result.redriven[dead_id]
    back = r.xrange(STREAM)
    assert [(i.decode(), {k.decode(): v.decode() for k, v in f.items()}) for i, f in back] == [(new_id, BAD)]
    assert [x["source"] for x in list_dead_letters(r)] == ["scan"]
    assert dead_letter_counts(r, ["licence", "scan"]) == {"licence": 0, "scan": 1}
    audit = redrive_audit(r)
    assert len(audit) == 1
    assert {k: audit[0][k] for k in ("who", "at_ms", "dead_id", "source", "entry_id", "new_id")} == {
        "who": "alice",
        "at_ms": "5000",
        "dead_id": dead_id,
        "source": "licence",
        "entry_id": "1700000000000-0",
        "new_id": new_id,
    }
    # a second re-drive of the same letter finds it gone and changes nothing
    again = redrive(r, [dead_id], who="bob")
    assert again.missing == [dead_id] and not again.redriven
    assert r.xlen(STREAM) == 1 and len(redrive_audit(r)) == 1


def test_only_an_admin_with_the_province_in_scope_may_redrive(redis_client, settings, settings_for):
    r = redis_client
    add_dead_letter(r, "licence", "1-0", BAD, "data: not valid JSON", 1000)
    dead_id = list_dead_letters(r)[0]["id"]
    wall = current_user(settings)
    assert wall.role == "wall"

    message = redrive_letters(r, settings, wall, [dead_id])
    assert message.startswith("无权操作")
    city_admin = User("x", "admin", 320100)
    assert redrive_letters(r, settings, city_admin, [dead_id]) == "无权查看：运维数据为全省范围"
    assert [x["id"] for x in list_dead_letters(r)] == [dead_id]
    assert r.xlen(STREAM) == 0 and r.xlen(keys.REDRIVE_AUDIT) == 0

    admin_settings = settings_for(WATCHFLOOR_AUTH_ANONYMOUS_ROLE="admin")
    message = redrive_letters(r, admin_settings, current_user(admin_settings), [dead_id])
    assert message.startswith("已重新投递 1 条")
    assert r.xlen(STREAM) == 1 and list_dead_letters(r) == []
    assert redrive_audit(r)[0]["who"] == "admin"


def redrive_payload(dead_id: str) -> dict:
    """The body Dash posts when the per-letter re-drive button of ``dead_id`` is pressed."""
    button = {"id": dead_id, "type": "ops-redrive-one"}
    return {
        "output": "..ops-message.children...ops-redrive-done.data..",
        "outputs": [
            {"id": "ops-message", "property": "children"},
            {"id": "ops-redrive-done", "property": "data"},
        ],
        "inputs": [
            [{"id": button, "property": "n_clicks", "value": 1}],
            {"id": "ops-redrive-selected", "property": "n_clicks", "value": None},
        ],
        "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
        "state": [[], {"id": "ops-redrive-done", "property": "data", "value": 0}],
    }


@pytest.mark.parametrize(("role", "moved"), [("wall", False), ("admin", True)])
def test_a_replayed_redrive_callback_is_checked_on_the_server(redis_client, settings_for, role, moved):
    r = redis_client
    add_dead_letter(r, "licence", "1-0", BAD, "data: not valid JSON", 1000)
    dead_id = list_dead_letters(r)[0]["id"]
    app = create_app(settings_for(WATCHFLOOR_AUTH_ANONYMOUS_ROLE=role), r)

    resp = csrf_client(app.server).post("/_dash-update-component", json=redrive_payload(dead_id))
    assert resp.status_code == 200
    message = resp.get_json()["response"]["ops-message"]["children"]
    assert message.startswith("已重新投递" if moved else "无权操作")
    assert r.xlen(STREAM) == (1 if moved else 0)
    assert r.xlen(keys.DEAD) == (0 if moved else 1)
    assert r.xlen(keys.REDRIVE_AUDIT) == (1 if moved else 0)


def test_the_ops_page_polls_the_figures(redis_client, settings):
    r = redis_client
    r.xadd(STREAM, entry())
    app = create_app(settings, r)
    resp = csrf_client(app.server).post("/_dash-update-component", json=OPS_TICK)
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert all(f"ops-source-{s}" in text for s in SOURCES)
    assert "wf:in:licence" in text


def test_counts_read_from_the_stream_stop_at_the_cap_and_say_so(redis_client, monkeypatch):
    import streams.ops

    r = redis_client
    monkeypatch.setattr(streams.ops, "COUNT_CAP", 3)
    for _ in range(6):
        r.xadd(STREAM, entry())
    r.xgroup_create(STREAM, "ingest", id="0")
    r.xreadgroup("ingest", "c1", {STREAM: ">"}, count=1)
    r.xdel(STREAM, r.xrange(STREAM)[2][0])  # an undelivered entry deleted: Redis no longer knows the lag
    s = stats_of(r)
    assert (s.per_minute, s.per_hour, s.minute_capped, s.hour_capped) == (3, 3, True, True)
    assert (s.lag, s.lag_exact) == (3, False)  # 4 undelivered: more than the cap, so shown as "≥3"
    r.xreadgroup("ingest", "c1", {STREAM: ">"}, count=1)
    assert (stats_of(r).lag, stats_of(r).lag_exact) == (3, True)
