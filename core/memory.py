"""Per-job memory of the RQ worker: a job that needs far more memory than the worker holds is logged.

The 30-minute soak found the worker OOM-killed at 22.9 GB by one detector whose memory grew with n²
(docs/performance.md); the worker's log said nothing. Linux keeps a high-water mark of resident
memory (``VmHWM``) that a process may reset (``/proc/self/clear_refs`` ← ``5``), so each job's own
peak is measurable without a sampling thread.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from pathlib import Path

from rq import SimpleWorker
from rq.job import Job
from rq.queue import Queue

log = logging.getLogger("watchfloor.worker")
STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def resident_mb() -> tuple[float, float] | None:
    """(resident now, high-water mark since the last reset) in MB; None where /proc is not Linux's."""
    try:
        text = STATUS.read_text()
    except OSError:
        return None
    got = {k: re.search(rf"^{k}:\s+(\d+) kB", text, re.M) for k in ("VmRSS", "VmHWM")}
    if not all(got.values()):
        return None
    return int(got["VmRSS"].group(1)) / 1024, int(got["VmHWM"].group(1)) / 1024


def reset_peak() -> bool:
    """Reset the high-water mark to the current resident size; False when the kernel refuses."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class MeteredWorker(SimpleWorker):
    """SimpleWorker that logs a WARNING for a job whose peak resident memory rose ``report_mb`` or
    more above what the worker held when it started (job id, function, MB before/peak/after, seconds)."""

    def __init__(self, *args, report_mb: float = 200.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.report_mb = report_mb

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run the job in-process, measuring its peak memory."""
        measured = reset_peak() and resident_mb()
        started = time.perf_counter()
        try:
            super().execute_job(job, queue)
        finally:
            after = measured and resident_mb()
            if measured and after and after[1] - measured[0] >= self.report_mb:
                with contextlib.suppress(Exception):  # a report must never fail the job
                    log.warning(
                        "job %s (%s): worker at %.0f MB, peak %.0f MB, %.0f MB after, %.1f s",
                        job.id, job.func_name, measured[0], after[1], after[0],
                        time.perf_counter() - started,
                    )  # fmt: skip
