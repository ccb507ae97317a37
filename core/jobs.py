"""RQ helpers shared by the job modules: is a job pending, and a repeating job that never piles up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from rq import Queue, Repeat, Retry
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

#: A job in one of these states will run (again): do not enqueue another under its id.
ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def status_of(queue: Queue, job_id: str) -> JobStatus | None:
    """The status of job ``job_id``, or None when there is no such job.

    A job can finish (and, with ``result_ttl=0``, vanish) between the fetch and the status read;
    rq then raises InvalidJobOperation, which means the same as "no such job" here.
    """
    try:
        job = Job.fetch(job_id, connection=queue.connection)
        return job.get_status()
    except (NoSuchJobError, InvalidJobOperation):
        return None


def is_alive(queue: Queue, job_id: str) -> bool:
    """Whether the job ``job_id`` is queued, scheduled, deferred or running."""
    return status_of(queue, job_id) in ALIVE


def ensure_repeating(
    queue: Queue, job_id: str, func: Callable[..., Any], args: tuple, every_seconds: float, retry: Retry
) -> bool:
    """Make sure ``func(*args)`` runs every ``every_seconds`` under the fixed id ``job_id``.

    Returns True when (re)armed, False when the chain is alive already: a worker restart, or a second
    worker, never starts a second chain.
    """
    if is_alive(queue, job_id):
        return False
    every = max(1, round(every_seconds))
    queue.enqueue_in(
        timedelta(seconds=every),
        func,
        *args,
        job_id=job_id,
        repeat=Repeat(times=10**6, interval=every),
        retry=retry,
        result_ttl=every * 3,
        failure_ttl=86400,
    )
    return True
