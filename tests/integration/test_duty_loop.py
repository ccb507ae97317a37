"""The closed loop against a real redis-server: the whole loop with its audit trail, two officers
racing, scope, the overdue check with a controlled clock (directly and as an RQ job), dispatches on
wf:out:dispatch, and an acknowledged transition surviving a SIGKILL of Redis."""

from __future__ import annotations

import os
import signal
import time

import orjson
import pytest
import redis
from rq import Queue, SimpleWorker

from alerts import actions, jobs, loop
from alerts.actions import Conflict, InvalidAction, NotFound, transition
from alerts.store import read_warning, upsert_warnings
from core import keys
from core.auth import Forbidden, User
from core.redis_server import EmbeddedRedis
from core.settings import LoopSettings

T0 = 1_790_000_000_000
H = loop.HOUR_MS
NANJING = User("li.nj", "duty", 320100, "李南京", via="local")
NANJING_2 = User("wang.nj", "duty", 320100, "王南京", via="local")
SUZHOU = User("zhou.sz", "duty", 320500, "周苏州", via="local")
LEADER = User("chen", "leader", 320000, "陈局长", via="local")
WALL = User("wall", "wall", 320000, via="token")


def raise_warning(
    r: redis.Redis, county: int = 320102, level: int = 2, cond: str = "complaint_spike", at: int = 0
) -> dict:
    cand = {
        "type": "complaint_spike", "condition": f"{cond}:{county}", "level": level, "region": county,
        "regions": [county], "place": {"lon": 118.78, "lat": 32.04}, "facts": {"complaints": 14},
        "evidence": {"complaints": ["C1", "C2"]},
    }  # fmt: skip
    result = upsert_warnings(r, [cand], T0 + at, 24 * H, 50)
    return read_warning(r, (result.raised or result.updated or result.unchanged)[0])


def step(r, w, action, user=NANJING, at=0, note="", **fields) -> dict:
    return transition(r, w["id"], action, user, w.get("version", 0), note, T0 + at, LoopSettings(), **fields)


def test_full_loop_with_reject_and_audit_trail(redis_client):
    r = redis_client
    w = raise_warning(r)
    pubsub = r.pubsub()
    pubsub.subscribe(keys.UPDATES)
    pubsub.get_message(timeout=1)
    w = step(r, w, "acknowledge", at=1000)
    w = step(r, w, "dispatch", at=2000, note="请鼓楼区局核查", unit=320102)
    assert w["state"] == "dispatched" and w["unit"] == 320102 and w["due_at"] == T0 + 2000 + 48 * H
    with pytest.raises(InvalidAction):
        step(r, w, "reply")  # a reply says something
    w = step(r, w, "reply", at=3000, note="已核查，系误报")
    w = step(r, w, "reject", at=4000, note="证据不足，请补充现场照片")
    assert w["state"] == "investigating" and w["replied_at"] is None and w["due_at"] == T0 + 4000 + 48 * H
    w = step(r, w, "reply", at=5000, note="已补充现场检查记录")
    w = step(r, w, "accept", at=6000, note="同意办结")
    assert w["state"] == "closed" and w["evaluation"]["result"] == "accept" and w["version"] == 6
    # closed: out of the open set, the condition released, so the same condition raises a new warning
    assert r.zscore(keys.OPEN_WARNINGS, w["id"]) is None
    assert r.hget(keys.WARNING_CONDITIONS, w["condition"]) is None
    again = raise_warning(r, at=7000)
    assert again["id"] != w["id"] and again["state"] == "raised"

    trail = actions.audit_trail(r, w["id"], NANJING)
    assert [(e["action"], e["from"], e["to"]) for e in trail] == [
        ("acknowledge", "raised", "acknowledged"),
        ("dispatch", "acknowledged", "dispatched"),
        ("reply", "dispatched", "replied"),
        ("reject", "replied", "investigating"),
        ("reply", "investigating", "replied"),
        ("accept", "replied", "closed"),
    ]
    assert {e["by"] for e in trail} == {"li.nj"} and trail[3]["note"] == "证据不足，请补充现场照片"
    assert [e["at"] for e in trail] == [T0 + i * 1000 for i in range(1, 7)]
    assert r.xlen(keys.WARNING_AUDIT) == 6
    # one announcement per transition
    seen = []
    while (m := pubsub.get_message(timeout=0.5)) is not None:
        if m["type"] == "message":
            seen.append(orjson.loads(m["data"]))
    assert [m["action"] for m in seen] == ["acknowledge", "dispatch", "reply", "reject", "reply", "accept"]
    assert all(m["topic"] == "warnings" and 320102 in m["regions"] for m in seen)


def test_dispatch_lands_on_the_out_stream(redis_client):
    r = redis_client
    w = step(r, raise_warning(r, level=1), "acknowledge")
    w = step(r, w, "dispatch", at=10, note="立即核查", unit=320100)
    ((_id, fields),) = r.xrange(keys.OUT_DISPATCH)
    assert fields[b"warning"].decode() == w["id"] and fields[b"unit"] == b"320100"
    assert int(fields[b"due_at"]) == T0 + 10 + 24 * H  # red: 24 h
    assert orjson.loads(fields[b"warning_json"])["state"] == "dispatched"
    with pytest.raises(Forbidden):  # a unit outside the officer's scope
        step(r, step(r, raise_warning(r, cond="x"), "acknowledge"), "dispatch", unit=320500)


def test_two_officers_racing_one_wins(redis_client):
    r = redis_client
    w = raise_warning(r)
    seen_by_both = dict(w)
    step(r, seen_by_both, "acknowledge", user=NANJING_2, at=5)
    with pytest.raises(Conflict) as err:
        step(r, seen_by_both, "acknowledge", user=NANJING, at=6)
    assert err.value.by == "wang.nj" and err.value.by_name == "王南京"
    assert err.value.state == "acknowledged" and err.value.version == 1
    trail = actions.audit_trail(r, w["id"], NANJING)
    assert [(e["by"], e["action"]) for e in trail] == [("wang.nj", "acknowledge")]


def test_scope_and_roles(redis_client):
    r = redis_client
    w = raise_warning(r, county=320102)  # Nanjing
    with pytest.raises(Forbidden):
        step(r, w, "acknowledge", user=SUZHOU)
    with pytest.raises(Forbidden):
        actions.read_for(r, w["id"], SUZHOU)
    with pytest.raises(Forbidden):
        actions.audit_trail(r, w["id"], SUZHOU)
    with pytest.raises(Forbidden):
        step(r, w, "acknowledge", user=WALL)
    with pytest.raises(Forbidden):
        step(r, w, "acknowledge", user=LEADER)  # leaders evaluate and escalate, they do not triage
    with pytest.raises(InvalidAction):
        step(r, w, "accept")  # not replied yet
    with pytest.raises(NotFound):
        transition(r, "W0-nothing", "acknowledge", NANJING, 0)
    assert read_warning(r, w["id"])["state"] == "raised" and r.xlen(keys.WARNING_AUDIT) == 0
    assert actions.read_for(r, w["id"], NANJING)["id"] == w["id"]


def test_overdue_is_flagged_and_escalated_to_the_parent_unit(redis_client, settings):
    r = redis_client
    w = step(r, raise_warning(r, level=1), "acknowledge")
    w = step(r, w, "dispatch", at=0, note="核查", unit=320102)
    cfg = jobs.job_config(settings)
    assert jobs.run_overdue_check(r, cfg, T0 + 24 * H) == []  # on the deadline: not yet late
    assert jobs.overdue_count(r, T0 + 24 * H + 1) == 1
    assert jobs.run_overdue_check(r, cfg, T0 + 24 * H + 1) == [w["id"]]
    w = read_warning(r, w["id"])
    assert w["overdue"] is True and w["escalated_to"] == 320100 and w["state"] == "dispatched"
    assert jobs.run_overdue_check(r, cfg, T0 + 30 * H) == []  # once per deadline
    last = actions.audit_trail(r, w["id"], LEADER)[-1]
    assert (last["action"], last["by"], last["data"]["to"]) == ("escalate", "system", 320100)
    # a leader escalates further by hand: city → province
    w = step(r, w, "escalate", user=LEADER, at=31 * H, note="省局督办")
    assert w["escalated_to"] == 320000


def test_overdue_check_as_an_rq_job(redis_client, settings):
    r = redis_client
    w = step(r, raise_warning(r, level=1), "acknowledge")
    step(r, w, "dispatch", at=0, note="核查", unit=320102)
    assert jobs.ensure_overdue_check(r, settings) is True
    assert jobs.ensure_overdue_check(r, settings) is False  # the chain is alive: one job id
    queue = Queue(settings.worker.queue, connection=r)
    queue.enqueue(jobs.check_overdue, jobs.job_config(settings), T0 + 25 * H, job_id="overdue-now")
    SimpleWorker([queue], connection=r).work(burst=True)
    assert read_warning(r, w["id"])["escalated_to"] == 320100


def test_acknowledge_survives_sigkill_of_redis(tmp_path):
    server = EmbeddedRedis(os.environ.get("WATCHFLOOR_REDIS_EMBEDDED_BINARY") or "redis-server", tmp_path)
    server.start()
    try:
        r = server.client()
        w = step(r, raise_warning(r), "acknowledge", at=1)
        # appendfsync everysec: the write reached the AOF file before the reply; wait past one fsync
        # so even an OS-level crash would keep it (docs/duty.md, "Durability")
        time.sleep(1.2)
        os.kill(server.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while server.running and time.monotonic() < deadline:
            time.sleep(0.05)
        r.close()
        server.start()
        r = server.client()
        again = read_warning(r, w["id"])
        assert again["state"] == "acknowledged" and again["version"] == 1
        assert r.xlen(keys.warning_audit(w["id"])) == 1
        r.close()
    finally:
        server.stop()
