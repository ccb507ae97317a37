"""The scheduled supervision (督): flag overdue warnings and escalate them to the parent unit.

:func:`ensure_overdue_check` schedules :func:`check_overdue` under one fixed job id every
``loop.overdue_check_seconds`` through RQ's ``Repeat`` (RQ re-schedules the same job after each
success; the worker's scheduler moves it to the queue). Call it when the worker starts and now and
then: it is a no-op while the chain is alive and re-arms one broken by a job that failed all its
retries. A run is idempotent (a warning is escalated once per deadline), so a retried or doubled run
is harmless.
"""

from __future__ import annotations

import time

import orjson
import redis
from rq import Queue, Retry, get_current_job

from alerts.actions import escalate_overdue
from core import keys
from core.jobs import ensure_repeating
from core.settings import LoopSettings, Settings

OVERDUE_JOB_ID = "wf-loop-overdue"
RETRY = Retry(max=3, interval=[0, 5, 30])
#: job states in which the chain is alive (RQ keeps a Repeat job's id across its runs)


def job_config(settings: Settings) -> dict:
    """What a run needs, as plain data (RQ pickles job arguments)."""
    return {"province": settings.geo.province_adcode, "loop": settings.loop.model_dump()}


def run_overdue_check(r: redis.Redis, cfg: dict, now_ms: int | None = None) -> list[str]:
    """One check: escalate what is overdue at ``now_ms`` (default: the wall clock); the escalated ids.

    The announcement of each escalation goes out with its transition; one summary follows so the wall
    can refresh its overdue count.
    """
    now_ms = int(time.time() * 1000) if now_ms is None else int(now_ms)
    done = escalate_overdue(r, now_ms, int(cfg["province"]), LoopSettings.model_validate(cfg["loop"]))
    if done:
        r.publish(keys.UPDATES, orjson.dumps({"topic": "warnings", "escalated": done, "at": now_ms}))
    return done


def check_overdue(cfg: dict, now_ms: int | None = None) -> int:
    """RQ job: one overdue check on the job's own connection; the number escalated."""
    return len(run_overdue_check(get_current_job().connection, cfg, now_ms))


def ensure_overdue_check(r: redis.Redis, settings: Settings) -> bool:
    """Make sure the overdue check is scheduled every ``loop.overdue_check_seconds``; True when (re)armed."""
    queue = Queue(settings.worker.queue, connection=r)
    return ensure_repeating(
        queue,
        OVERDUE_JOB_ID,
        check_overdue,
        (job_config(settings), None),
        settings.loop.overdue_check_seconds,
        RETRY,
    )


def overdue_count(r: redis.Redis, now_ms: int, scope: int | None = None) -> int:
    """Open warnings past their reply deadline (for the wall's KPI and ticker)."""
    from alerts.loop import is_overdue
    from alerts.store import list_open

    return sum(1 for w in list_open(r, scope, limit=10**6) if is_overdue(w, now_ms))
