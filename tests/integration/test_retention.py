"""Trimming never removes an entry some consumer group has not acknowledged."""

from __future__ import annotations

import time

from streams.retention import safe_trim_id, trim_acknowledged

STREAM = "wf:in:test"


def test_only_acknowledged_entries_older_than_the_retention_are_trimmed(redis_client):
    r = redis_client
    ids = [r.xadd(STREAM, {"n": i}).decode() for i in range(10)]
    r.xgroup_create(STREAM, "ingest", id="0")
    r.xgroup_create(STREAM, "audit", id="0")
    # ingest reads 6 and acknowledges the first 4; audit reads and acknowledges 3
    ingest = r.xreadgroup("ingest", "c1", {STREAM: ">"}, count=6)[0][1]
    r.xack(STREAM, "ingest", *[e for e, _ in ingest[:4]])
    audit = r.xreadgroup("audit", "c2", {STREAM: ">"}, count=3)[0][1]
    r.xack(STREAM, "audit", *[e for e, _ in audit])

    now_ms = int(time.time() * 1000) + 1000
    # a retention covering everything: still bounded by audit's last delivered entry (the 3rd)
    assert safe_trim_id(r, STREAM, now_ms, retention_ms=0) == ids[2]
    assert trim_acknowledged(r, STREAM, now_ms, retention_ms=0) == 2
    remaining = [e.decode() for e, _ in r.xrange(STREAM)]
    assert remaining == ids[2:]
    # ingest's pending entries (5th, 6th) and the undelivered ones are all still there
    assert r.xpending(STREAM, "ingest")["pending"] == 2

    # a long retention trims nothing
    assert trim_acknowledged(r, STREAM, now_ms, retention_ms=3_600_000) == 0


def test_a_stream_without_groups_is_left_alone(redis_client):
    redis_client.xadd(STREAM, {"n": 1})
    assert safe_trim_id(redis_client, STREAM, int(time.time() * 1000), 0) is None
    assert trim_acknowledged(redis_client, "wf:in:none", 0, 0) == 0
