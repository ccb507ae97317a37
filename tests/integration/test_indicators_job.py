"""Consumer batch → debounced RQ job → indicators in Redis, run by a real worker in burst mode."""

from __future__ import annotations

import orjson
from rq import Queue, SimpleWorker

from core import keys
from indicators.jobs import read_licence_indicators, schedule_licence_indicators


def test_a_batch_schedules_one_recompute_and_the_worker_stores_and_announces_it(redis_client, settings_for):
    r = redis_client
    settings = settings_for(WATCHFLOOR_WORKER_INDICATOR_DEBOUNCE_SECONDS="60")
    r.hset(keys.licence_counts("valid"), mapping={"320000": 3000, "320100": 931, "320102": 10})
    assert schedule_licence_indicators(r, settings) is True
    assert schedule_licence_indicators(r, settings) is False  # debounced: no pile-up
    queue = Queue(settings.worker.queue, connection=r)
    assert queue.count == 1

    sub = r.pubsub(ignore_subscribe_messages=True)
    sub.subscribe(keys.UPDATES)
    SimpleWorker([queue], connection=r).work(burst=True)

    version, data = read_licence_indicators(r)
    assert version == 1
    nanjing = data["regions"]["320100"]
    assert nanjing == {"active": 931, "population": 9314685, "per_1000": round(931 * 1000 / 9314685, 3)}
    assert data["regions"]["320000"]["population"] == 84748016
    assert data["regions"]["320200"]["active"] == 0  # a city with no licences counts 0, not missing
    messages = [sub.get_message(timeout=1) for _ in range(3)]
    assert orjson.loads(next(m for m in messages if m)["data"]) == {
        "topic": "indicators",
        "name": "licence",
        "version": 1,
    }
