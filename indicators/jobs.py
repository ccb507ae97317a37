"""RQ jobs that compute indicators, and the helpers that enqueue them without piling up.

Jobs receive everything explicitly (the Redis connection is the job's own, the settings are
reloaded from config + environment in the worker process), so they run the same in tests.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import orjson
import pandas as pd
import redis
from rq import Queue, Retry, get_current_job

from core import keys
from core.settings import Settings
from indicators.licences import licence_density


@functools.lru_cache(maxsize=4)
def _population(divisions_csv: str, province_adcode: int) -> dict[int, int]:
    """2020 census population of the province, its cities and counties, from the divisions table."""
    table = pd.read_csv(divisions_csv)
    pop = {int(a): int(p) for a, p in zip(table["adcode"], table["pop2020_census"], strict=True)}
    pop[province_adcode] = int(table.loc[table["level"] == "city", "pop2020_census"].sum())
    return pop


def recompute_licence_indicators(data_dir: str, province_adcode: int, now_iso: str | None = None) -> int:
    """RQ job: recompute licence indicators for every region, store them with a version, announce.

    Returns the new version. ``now_iso`` is for tests; the worker passes none and gets the clock.
    """
    r: redis.Redis = get_current_job().connection
    now = dt.datetime.fromisoformat(now_iso) if now_iso else dt.datetime.now(dt.UTC)
    population = _population(str(Path(data_dir) / "jiangsu_divisions.csv"), province_adcode)
    active = {int(k): int(v) for k, v in r.hgetall(keys.licence_counts("valid")).items()}
    result = licence_density(active, population, now)
    key = keys.indicator("licence")
    version = r.hincrby(key, "version", 1)
    r.hset(key, mapping={"data": orjson.dumps(result), "computed_at": result["computed_at"]})
    r.publish(keys.UPDATES, orjson.dumps({"topic": "indicators", "name": "licence", "version": version}))
    return version


def schedule_licence_indicators(r: redis.Redis, settings: Settings) -> bool:
    """Enqueue one licence-indicator recompute unless one was queued within the debounce interval.

    Called after every consumer batch; the debounce marker (SET NX with expiry) keeps a stream of
    batches from turning into a stream of jobs. Returns True when a job was enqueued.
    """
    debounce_ms = max(1, int(settings.worker.indicator_debounce_seconds * 1000))
    if not r.set(keys.indicator_debounce("licence"), 1, nx=True, px=debounce_ms):
        return False
    queue = Queue(settings.worker.queue, connection=r)
    queue.enqueue(
        recompute_licence_indicators,
        str(settings.path(settings.geo.data_dir)),
        settings.geo.province_adcode,
        retry=Retry(max=3, interval=[1, 5, 15]),
        result_ttl=300,
        failure_ttl=86400,
    )
    return True


def read_licence_indicators(r: redis.Redis) -> tuple[int, dict]:
    """The latest stored licence indicators and their version ((0, {}) before the first run)."""
    version, data = r.hmget(keys.indicator("licence"), ["version", "data"])
    return int(version or 0), orjson.loads(data) if data else {}
