"""``python -m indicators.worker``: an RQ worker for the indicator queue.

SimpleWorker runs jobs in-process (≈1.6 ms a job against ≈9 ms for the forking worker); the jobs are
short and pure, and RQ's Retry covers a job that fails. :class:`core.memory.MeteredWorker` is one
that also logs a job whose peak memory rises ``worker.job_memory_report_mb`` above the worker's.
"""

from __future__ import annotations

import logging

from rq import Queue

from core.memory import MeteredWorker


def main() -> None:
    """Start the worker on the configured queue with an explicit Redis connection."""
    from alerts.jobs import ensure_overdue_check
    from core.connection import connect_or_exit
    from core.runtime import tune_gc
    from core.settings import load_or_exit
    from indicators.jobs import start_recurring
    from indicators.warning_jobs import ensure_periodic

    settings = load_or_exit()
    r = connect_or_exit(settings)
    queue = Queue(settings.worker.queue, connection=r)
    # A full recompute now, which then reschedules itself (a unique id per slot: never piles up).
    start_recurring(r, settings)
    ensure_overdue_check(r, settings)  # the closed loop's overdue check, rescheduling itself likewise
    ensure_periodic(r, settings)  # warning detection every warnings.detect_every_seconds
    tune_gc()
    logging.basicConfig(level=logging.WARNING, format="worker: %(message)s")
    worker = MeteredWorker([queue], connection=r, report_mb=settings.worker.job_memory_report_mb)
    # WARNING: RQ logs three lines per job at INFO, which would drown the demo's console.
    worker.work(with_scheduler=True, logging_level="WARNING")


if __name__ == "__main__":
    main()
