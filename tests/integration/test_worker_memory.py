"""core/memory.py: the worker logs a job whose peak memory rises far above the worker's, on a real Redis."""

from __future__ import annotations

import logging

import numpy as np
from rq import Queue

from core.memory import MeteredWorker, reset_peak, resident_mb


def allocate(mb: int) -> int:
    """A job that touches ``mb`` MB and lets it go (a peak, not a leak)."""
    block = np.ones(mb * 2**20 // 8)
    return int(block.size)


def run_jobs(redis_client, sizes: list[int], report_mb: float) -> None:
    queue = Queue("memtest", connection=redis_client)
    for mb in sizes:
        queue.enqueue(allocate, mb, job_id=f"alloc-{mb}")
    MeteredWorker([queue], connection=redis_client, report_mb=report_mb).work(
        burst=True, logging_level="WARNING"
    )


def test_peak_is_measured_per_job():
    assert reset_peak()
    before = resident_mb()
    assert before is not None
    allocate(300)
    now, peak = resident_mb()
    assert peak - before[0] >= 250  # the freed block still counts in the high-water mark
    assert now < peak - 250


def test_a_job_far_above_the_worker_is_logged(redis_client, caplog):
    caplog.set_level(logging.WARNING, logger="watchfloor.worker")
    run_jobs(redis_client, [5, 400], report_mb=200)
    reports = [r.getMessage() for r in caplog.records if r.name == "watchfloor.worker"]
    assert len(reports) == 1, reports
    assert "alloc-400" in reports[0] and "test_worker_memory.allocate" in reports[0]
    peak = float(reports[0].split("peak ")[1].split(" MB")[0])
    at = float(reports[0].split("worker at ")[1].split(" MB")[0])
    assert peak - at >= 380


def test_small_jobs_are_not_logged_and_jobs_still_finish(redis_client, caplog):
    caplog.set_level(logging.WARNING, logger="watchfloor.worker")
    run_jobs(redis_client, [5, 10], report_mb=200)
    assert [r for r in caplog.records if r.name == "watchfloor.worker"] == []
    queue = Queue("memtest", connection=redis_client)
    assert sorted(queue.finished_job_registry.get_job_ids()) == ["alloc-10", "alloc-5"]
