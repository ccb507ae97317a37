"""core.jobs.status_of on a real Redis: a job that vanishes between the fetch and the status read
(finished with result_ttl=0) counts as absent instead of raising, so the consumer never dies on it."""

from __future__ import annotations

import redis
from rq import Queue
from rq.job import JobStatus

from core.jobs import is_alive, status_of


def _noop() -> None:
    return None


def test_status_of_queued_missing_and_half_gone_jobs(redis_client: redis.Redis) -> None:
    queue = Queue("wf-test-status", connection=redis_client)
    job = queue.enqueue(_noop, job_id="wf-test-job")
    assert status_of(queue, "wf-test-job") == JobStatus.QUEUED
    assert is_alive(queue, "wf-test-job")
    assert status_of(queue, "wf-test-none") is None
    # what a worker deleting the job leaves for a racing reader: the hash without its status field
    redis_client.hdel(job.key, "status")
    assert status_of(queue, "wf-test-job") is None
    assert not is_alive(queue, "wf-test-job")
