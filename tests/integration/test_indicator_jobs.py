"""Events → consumer → RQ jobs → indicators in Redis, on a real redis-server with real RQ workers.

The scenario (now = 2026-11-21 15:00 Beijing time) and its oracle, worked out by hand, are in
indicator_scenario.py; incremental updates, retries (a job failing once, a worker SIGKILLed mid-job),
debouncing and the recurring recompute are checked against it or against a fresh full read.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import orjson
import pytest
from rq import Queue, SimpleWorker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from core import keys
from indicators import jobs
from indicators.compute import compute_indicators, windows_at
from indicators.reader import DayCache, read_inputs
from tests.events import complaint_data, inspection_data, scan_data
from tests.integration.indicator_scenario import JY, NOW, QH, N, add, at, check_oracle, feed
from tests.integration.test_ingest_sources import drain, geo, make_consumer  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]


def fresh_result(r, settings) -> dict[int, dict[int, dict]]:
    """What a full read with an empty cache computes now (the oracle of the incremental paths)."""
    params = jobs.job_params(settings)
    regions = jobs.regions_of(params["data_dir"], params["province"])
    inputs, _ = read_inputs(r, DayCache(), regions, windows_at(NOW, params["windows"]))
    result = compute_indicators(inputs, regions, NOW, params["windows"], params["weights"])
    return {w: {int(a): orjson.loads(orjson.dumps(v)) for a, v in data.items()} for w, data in result.items()}


def stored(r, settings) -> dict[int, dict[int, dict]]:
    return {w: jobs.read_indicators(r, w)[1] for w in settings.indicators.windows_days}


def forget_jobs(r) -> None:
    """Drop the jobs the consumer enqueued after its batches: they run on the wall clock, and these
    tests schedule their own on the scenario's clock."""
    for key in r.scan_iter("rq:*"):
        r.delete(key)


def drop_recurring(r, settings) -> None:
    """Scheduling also seeds the recurring full recompute, which runs on the wall clock: should its slot
    come due while a test waits for a retry, its later result would rightly win over the scenario's."""
    queue = Queue(settings.worker.queue, connection=r)
    for job_id in queue.scheduled_job_registry.get_job_ids():
        if job_id.startswith("wf-ind-full-"):
            Job.fetch(job_id, connection=r).delete()


def work(r, settings, scheduler: bool = False) -> None:
    SimpleWorker([Queue(settings.worker.queue, connection=r)], connection=r).work(
        burst=True, with_scheduler=scheduler, logging_level="WARNING"
    )


@pytest.fixture
def ingested(redis_client, settings_for, geo):  # noqa: F811
    """The scenario ingested by a real consumer; settings with no debounce (jobs enqueued at once)."""
    settings = settings_for(WATCHFLOOR_WORKER_INDICATOR_DEBOUNCE_SECONDS="0")
    consumer = make_consumer(redis_client, settings, geo)
    feed(redis_client)
    drain(consumer)
    forget_jobs(redis_client)
    jobs.CACHE.reset()
    return redis_client, settings, consumer


def test_events_in_indicators_equal_the_oracle(ingested):
    r, settings, _ = ingested
    sub = r.pubsub(ignore_subscribe_messages=True)
    sub.subscribe(keys.UPDATES)
    assert jobs.schedule_indicators(r, settings, now_ms=N) is True
    work(r, settings)
    check_oracle(r)
    assert r.hget(keys.INDICATOR_META, "version") == b"1"
    messages = [m for m in (sub.get_message(timeout=1) for _ in range(3)) if m]
    assert orjson.loads(messages[-1]["data"]) == {"topic": "indicators", "version": 1}
    # the wall's KPI reader still answers in its old shape
    version, licence = jobs.read_licence_indicators(r)
    assert version == 1
    assert licence["regions"]["320100"] == {"active": 2, "population": 9314685, "per_1000": 0.0}
    assert licence["regions"]["320000"]["population"] == 84748016
    assert licence["regions"]["320300"]["active"] == 0  # a city with no licences counts 0, not missing


def test_an_incremental_update_re_reads_dirty_days_and_equals_a_full_read(ingested, geo):  # noqa: F811
    r, settings, consumer = ingested
    jobs.schedule_indicators(r, settings, now_ms=N)
    work(r, settings)
    assert r.hget(keys.INDICATOR_META, "mode") == b"full"  # a cold cache rebuilds
    at1430, at18 = "2026-11-21T14:30:00+08:00", "2026-11-18T13:00:00+08:00"
    add(
        r,
        "inspection.completed",
        inspection_data("i5", "320104000001", "issues_found", at1430, point=at(QH)),
        at1430,
    )
    add(r, "scan.recorded", scan_data("E" * 32, 320104, point=at(JY), scanned_at=at18), at18)
    drain(consumer)
    forget_jobs(r)
    assert jobs.schedule_indicators(r, settings, now_ms=N) is True
    work(r, settings)
    assert r.hget(keys.INDICATOR_META, "mode") == b"incremental"
    after = stored(r, settings)
    assert after[1][320104]["inspections"] == 1 and after[1][320104]["inspected_licences"] == 1
    assert after[1][320281]["flows_in"] == 1 and after[7][320281]["flows_in"] == 2  # 11-18 is in 7, not 1
    assert after == fresh_result(r, settings)


def test_a_cache_behind_other_workers_catches_up_from_the_dirty_log(ingested):
    r, settings, _ = ingested
    params = jobs.job_params(settings)
    regions = jobs.regions_of(params["data_dir"], params["province"])
    windows = windows_at(NOW, params["windows"])
    mine, other = DayCache(), DayCache()
    read_inputs(r, mine, regions, windows)
    read_inputs(r, other, regions, windows)
    r.hincrby(keys.day_counts("complaint", "20261112"), "320281:price", 5)  # as the consumer would
    r.sadd(keys.DIRTY_DAYS, "complaint:20261112")
    read_inputs(r, other, regions, windows)  # the other worker takes the dirty day
    inputs, stats = read_inputs(r, mine, regions, windows)
    assert not stats.full
    complaints = inputs.counts["complaint"]
    assert complaints.totals(20261023)[complaints.fields.id("320281:price")] == 6


def test_two_schedule_calls_within_the_debounce_interval_enqueue_one_job(redis_client, settings_for):
    r = redis_client
    settings = settings_for(WATCHFLOOR_WORKER_INDICATOR_DEBOUNCE_SECONDS="60")
    queue = Queue(settings.worker.queue, connection=r)
    assert jobs.schedule_indicators(r, settings) is True
    assert jobs.schedule_indicators(r, settings) is False
    pending = {jobs.UPDATE_IDS[0], "wf-ind-full-" + next_slot(settings)}  # and the recurring chain's seed
    assert set(queue.scheduled_job_registry.get_job_ids()) == pending
    assert queue.count == 0
    # while the first runs, a batch needs a follow-up (it may have read already): the other id, once
    Job.fetch(jobs.UPDATE_IDS[0], connection=r).set_status(JobStatus.STARTED)
    assert jobs.schedule_indicators(r, settings) is True
    assert jobs.schedule_indicators(r, settings) is False
    assert jobs.UPDATE_IDS[1] in queue.scheduled_job_registry.get_job_ids()


def next_slot(settings) -> str:
    return str(int(time.time() // settings.indicators.recompute_every_seconds) + 1)


def test_the_recurring_recompute_runs_once_per_slot_and_reschedules_itself(ingested):
    r, settings, _ = ingested
    params = jobs.job_params(settings)
    assert jobs.schedule_recompute(r, params, immediately=True) is True
    assert jobs.schedule_recompute(r, params, immediately=True) is False  # same slot: no pile-up
    work(r, settings, scheduler=True)
    queue = Queue(settings.worker.queue, connection=r)
    assert queue.scheduled_job_registry.get_job_ids() == ["wf-ind-full-" + next_slot(settings)]
    assert r.hget(keys.INDICATOR_META, "mode") == b"full" and r.hget(keys.INDICATOR_META, "version") == b"1"


def test_a_job_failing_once_is_retried_and_ends_right(ingested, monkeypatch):
    r, settings, _ = ingested
    real, calls = jobs.compute_indicators, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("Redis went away mid-job")
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs, "compute_indicators", flaky)
    jobs.schedule_indicators(r, settings, now_ms=N)
    drop_recurring(r, settings)
    work(r, settings)
    assert r.hget(keys.INDICATOR_META, "version") is None
    assert Job.fetch(jobs.UPDATE_IDS[0], connection=r).get_status() == JobStatus.SCHEDULED  # retry in 1 s
    time.sleep(1.2)
    work(r, settings, scheduler=True)
    assert len(calls) == 2
    check_oracle(r)


SLOW_WORKER = textwrap.dedent(
    """
    import sys, time
    import redis
    from rq import Queue, SimpleWorker
    import indicators.jobs as jobs
    real = jobs.compute_indicators
    def slow(*args, **kwargs):
        time.sleep(120)  # killed in here
        return real(*args, **kwargs)
    jobs.compute_indicators = slow
    r = redis.Redis.from_url(sys.argv[1])
    SimpleWorker([Queue(sys.argv[2], connection=r)], connection=r).work(burst=True, logging_level="WARNING")
    """
)


def test_a_worker_killed_mid_job_is_retried_and_the_result_is_right(ingested, settings, geo):  # noqa: F811
    r, settings, consumer = ingested
    jobs.schedule_indicators(r, settings, now_ms=N)
    work(r, settings)  # this process's cache is now warm
    add(
        r,
        "complaint.received",
        complaint_data("c3", category="smuggled", point=at(QH)),
        "2026-11-21T14:10:00+08:00",
    )
    drain(consumer)
    forget_jobs(r)
    jobs.schedule_indicators(r, settings, now_ms=N)
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WORKER, settings.redis.url, settings.worker.queue],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while Job.fetch(jobs.UPDATE_IDS[0], connection=r).get_status() != JobStatus.STARTED:
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.05)
        time.sleep(1.0)  # inside the job: it has taken the dirty days, then sleeps in compute
        assert r.scard(keys.DIRTY_DAYS) == 0
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    # A live worker's maintenance finds the abandoned job once its heartbeat expires; stand in for it.
    StartedJobRegistry(settings.worker.queue, connection=r).cleanup(timestamp=time.time() + 3600)
    assert Job.fetch(jobs.UPDATE_IDS[0], connection=r).get_status() == JobStatus.SCHEDULED
    drop_recurring(r, settings)
    # the retry is due after its back-off; a burst worker's scheduler only moves due jobs, so under
    # load one pass may come too early: work until the retried job has finished
    deadline = time.monotonic() + 60
    while True:
        time.sleep(0.5)
        work(r, settings, scheduler=True)
        try:
            if Job.fetch(jobs.UPDATE_IDS[0], connection=r).get_status() == JobStatus.FINISHED:
                break
        except NoSuchJobError:  # finished and already cleaned up
            break
        assert time.monotonic() < deadline, "the retried job never finished"
    after = stored(r, settings)
    assert after[1][320104]["complaints"] == 1  # the killed job's dirty day reached this cache via the log
    assert after == fresh_result(r, settings)
    assert r.hget(keys.INDICATOR_META, "mode") == b"incremental"


def test_an_older_result_never_overwrites_a_newer_one(redis_client):
    r = redis_client
    assert jobs.store_indicators(r, {1: {"320000": {"active": 2}}}, {"as_of_ms": 2000}) == 1
    assert jobs.store_indicators(r, {1: {"320000": {"active": 1}}}, {"as_of_ms": 1000}) is None
    assert jobs.read_indicators(r, 1) == (1, {320000: {"active": 2}})
    assert jobs.read_indicators(r, 7) == (1, {})
