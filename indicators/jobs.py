"""RQ jobs that compute the indicators, and the helpers that enqueue them without piling up.

- :func:`update_indicators`: incremental — re-reads only the days dirtied since the worker's cache
  last read them, plus today (see indicators/reader.py), recomputes every region and window.
- :func:`recompute_indicators`: full — rebuilds the cache from Redis. Run every
  ``indicators.recompute_every_seconds`` as a self-rescheduling chain: job id
  ``wf-ind-full-<slot>`` (slot = epoch seconds // interval), enqueued with ``unique=True``, so however
  many workers start or reschedule it, a slot runs once.
- :func:`schedule_indicators`: called by the consumer after any applied batch; keeps at most one
  incremental job pending (fixed ids, debounced by ``worker.indicator_debounce_seconds``).

Results are written with a version in one MULTI (``wf:ind:w<days>`` + ``wf:ind:meta``), never over a
newer result, then announced on ``wf:updates``. Jobs get their parameters explicitly
(:func:`job_params`); the Redis connection is the job's own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import time
from datetime import timedelta
from pathlib import Path

import orjson
import pandas as pd
import redis
from rq import Queue, Retry, get_current_job
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

from core import keys
from core.jobs import status_of
from core.settings import IndicatorSettings, Settings
from indicators.compute import compute_indicators, windows_at
from indicators.reader import DayCache, read_inputs
from indicators.tables import Regions

UPDATE_IDS = ("wf-ind-update-a", "wf-ind-update-b")  # a pending one, and one to follow a running one
RETRY = dict(max=3, interval=[1, 5, 15])
#: Seconds a job may run (a full recompute at 1M licences takes < 1 s). Short, because a job whose
#: worker died is only found abandoned after timeout + 60 s (RQ's SimpleWorker heartbeat TTL).
JOB_TIMEOUT = 120
PENDING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}

#: The worker process's day cache (derived from Redis, rebuilt on a miss; indicators/reader.py).
CACHE = DayCache()


def job_params(settings: Settings) -> dict:
    """The plain, picklable parameters every indicator job receives."""
    ind = settings.indicators
    return {
        "data_dir": str(settings.path(settings.geo.data_dir)),
        "province": settings.geo.province_adcode,
        "windows": list(ind.windows_days),
        "weights": ind.weights.model_dump(),
        "every": ind.recompute_every_seconds,
        "queue": settings.worker.queue,
    }


@functools.lru_cache(maxsize=4)
def regions_of(data_dir: str, province: int) -> Regions:
    """The province's regions and 2020 census population, from the divisions table."""
    return Regions.from_divisions(pd.read_csv(Path(data_dir) / "jiangsu_divisions.csv"), province)


def run(r: redis.Redis, params: dict, now_ms: int | None = None, full: bool = False) -> int | None:
    """Read, compute, store, announce. Returns the new version (None: a newer result was already stored)."""
    started = time.perf_counter()
    now_ms = int(time.time() * 1000) if now_ms is None else int(now_ms)
    now = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC)
    regions = regions_of(params["data_dir"], params["province"])
    windows = windows_at(now, params["windows"])
    inputs, stats = read_inputs(r, CACHE, regions, windows, full=full)
    result = compute_indicators(inputs, regions, now, params["windows"], params["weights"])
    meta = {
        "computed_at": now.isoformat(),
        "as_of_ms": now_ms,
        "windows": ",".join(map(str, params["windows"])),
        "mode": "full" if stats.full else "incremental",
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return store_indicators(r, result, meta)


def store_indicators(r: redis.Redis, result: dict[int, dict[str, dict]], meta: dict) -> int | None:
    """Write every window and bump the version in one MULTI, unless a result as of a later time is
    stored (two workers finishing out of order); then announce ``{"topic":"indicators","version":v}``."""
    encoded = {w: {a: orjson.dumps(v) for a, v in regions.items()} for w, regions in result.items()}

    def write(pipe: redis.client.Pipeline) -> int | None:
        stored = pipe.hget(keys.INDICATOR_META, "as_of_ms")
        if stored is not None and int(stored) > int(meta["as_of_ms"]):
            pipe.unwatch()
            return None
        pipe.multi()
        for w, mapping in encoded.items():
            pipe.hset(keys.indicator_window(w), mapping=mapping)
        pipe.hincrby(keys.INDICATOR_META, "version", 1)
        pipe.hset(keys.INDICATOR_META, mapping=meta)
        return None

    replies = r.transaction(write, keys.INDICATOR_META, value_from_callable=False)
    if not replies:
        return None
    version = int(replies[len(encoded)])
    r.publish(keys.UPDATES, orjson.dumps({"topic": "indicators", "version": version}))
    return version


def update_indicators(params: dict, now_ms: int | None = None) -> int | None:
    """RQ job: incremental update (dirty days + today) of every indicator; returns the version."""
    return run(get_current_job().connection, params, now_ms)


def recompute_indicators(params: dict, now_ms: int | None = None, recurring: bool = False) -> int | None:
    """RQ job: full recompute from Redis. A ``recurring`` one first schedules its successor, so a
    failure does not break the chain."""
    r = get_current_job().connection
    if recurring:
        schedule_recompute(r, params)
    return run(r, params, now_ms, full=True)


def schedule_recompute(
    r: redis.Redis, params: dict, now: float | None = None, immediately: bool = False
) -> bool:
    """Make sure the recurring full recompute of the next slot (or of this one, ``immediately``) exists."""
    now = time.time() if now is None else now
    every = float(params["every"])
    slot = int(now // every) + (0 if immediately else 1)
    at = dt.datetime.fromtimestamp(now if immediately else slot * every, dt.UTC)
    try:
        Queue(params["queue"], connection=r).enqueue_at(
            at, recompute_indicators, params, recurring=True,
            job_id=f"wf-ind-full-{slot}", unique=True, retry=Retry(**RETRY), job_timeout=JOB_TIMEOUT,
            result_ttl=0, failure_ttl=86400,
        )  # fmt: skip
    except DuplicateJobError:
        return False
    return True


def start_recurring(r: redis.Redis, settings: Settings) -> None:
    """At worker start: a full recompute now (indicators appear without waiting for events), which
    then keeps rescheduling itself every ``indicators.recompute_every_seconds``."""
    schedule_recompute(r, job_params(settings), immediately=True)


def schedule_indicators(r: redis.Redis, settings: Settings, now_ms: int | None = None) -> bool:
    """After a batch: ensure one incremental update is pending; True when this call enqueued it.

    A pending (queued or scheduled) job has not read yet, so it will see this batch: nothing to do.
    A running one may have read already, so the other fixed id is used for a follow-up. New jobs run
    ``worker.indicator_debounce_seconds`` later, so the batches of that interval share one job.
    """
    params = job_params(settings)
    delay = timedelta(seconds=settings.worker.indicator_debounce_seconds)
    queue = Queue(params["queue"], connection=r)
    for job_id in UPDATE_IDS:
        for _attempt in range(2):
            try:
                kwargs = dict(job_id=job_id, unique=True, retry=Retry(**RETRY), job_timeout=JOB_TIMEOUT)
                kwargs.update(result_ttl=0, failure_ttl=3600)
                if delay:
                    queue.enqueue_in(delay, update_indicators, params, now_ms, **kwargs)
                else:
                    queue.enqueue(update_indicators, params, now_ms, **kwargs)
                schedule_recompute(r, params)  # re-seed the recurring chain should it have stopped
                return True
            except DuplicateJobError:
                status = status_of(queue, job_id)
                if status is None:
                    continue  # finished between the two calls: try again
                if status in PENDING:
                    return False
                if status == JobStatus.STARTED:
                    break  # running: use the other id
                with contextlib.suppress(NoSuchJobError, InvalidJobOperation):
                    Job.fetch(job_id, connection=r).delete()  # failed / stopped / canceled: replace it
    return False  # both ids running (several workers): the next batch or the recurring recompute follows


def read_indicators(
    r: redis.Redis, window_days: int, adcodes: list[int] | None = None
) -> tuple[int, dict[int, dict]]:
    """The stored indicators of one window, for ``adcodes`` (default all), with their version.

    ``(0, {})`` before the first run. Meta and data are read in one MULTI, so they match.
    """
    pipe = r.pipeline(transaction=True)
    pipe.hget(keys.INDICATOR_META, "version")
    if adcodes is None:
        pipe.hgetall(keys.indicator_window(window_days))
    else:
        pipe.hmget(keys.indicator_window(window_days), [str(a) for a in adcodes])
    version, data = pipe.execute()
    if adcodes is None:
        return int(version or 0), {int(a): orjson.loads(v) for a, v in data.items()}
    return int(version or 0), {a: orjson.loads(v) for a, v in zip(adcodes, data, strict=True) if v}


def read_licence_indicators(r: redis.Redis) -> tuple[int, dict]:
    """Active licences and density of every region (the wall's KPI), in the shape the wall reads."""
    windows = r.hget(keys.INDICATOR_META, "windows")
    window = min(int(w) for w in windows.decode().split(",")) if windows else 1
    version, data = read_indicators(r, window)
    if not data:
        return 0, {}
    computed_at = r.hget(keys.INDICATOR_META, "computed_at")
    regions = {
        str(a): {
            "active": v.get("active", 0),
            "population": v.get("population", 0),
            "per_1000": v.get("per_1000"),
        }
        for a, v in data.items()
    }
    return version, {"computed_at": computed_at.decode() if computed_at else None, "regions": regions}


# -- kept for callers and queued jobs of the licence-only version -------------------------------------


def schedule_licence_indicators(r: redis.Redis, settings: Settings) -> bool:
    """Former name of :func:`schedule_indicators` (streams/consumer.py calls it after licence batches)."""
    return schedule_indicators(r, settings)


def recompute_licence_indicators(
    data_dir: str, province_adcode: int, now_iso: str | None = None
) -> int | None:
    """A job of the licence-only version still queued (e.g. in an AOF): runs a full recompute."""
    ind = IndicatorSettings()
    params = {
        "data_dir": data_dir, "province": province_adcode, "windows": list(ind.windows_days),
        "weights": ind.weights.model_dump(), "every": ind.recompute_every_seconds, "queue": "indicators",
    }  # fmt: skip
    now_ms = int(dt.datetime.fromisoformat(now_iso).timestamp() * 1000) if now_iso else None
    return run(get_current_job().connection, params, now_ms, full=True)
