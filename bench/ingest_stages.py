"""Where the time of an ingested event goes: Python CPU per stage, redis-server CPU per step.

    python bench/ingest_stages.py [--events 200000] [--batch 1000]

Runs the consumer's stages one after the other on the same scenario as ``bench/ingest.py`` (no overlap
between them, one process), and prints microseconds per event: for each source its validation,
placement, argument building and commit in Python (CPU time of this process) and its apply script in
Redis (``INFO cpu`` of the private redis-server; each reading adds a few µs per batch of its own).
Both are CPU time, so other load on the machine inflates them far less than it does a rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import MIX, events, load, redis_cpu  # noqa: E402

from core import keys  # noqa: E402
from core.redis_server import EmbeddedRedis  # noqa: E402
from core.runtime import tune_gc  # noqa: E402
from core.settings import load_settings  # noqa: E402
from geo.boundaries import load_regions  # noqa: E402
from geo.index import RegionIndex  # noqa: E402
from streams.consumer import Consumer, announce_regions, build_stores  # noqa: E402
from streams.schema import parse_entry  # noqa: E402

STAGES = ("validate", "place", "build", "commit", "redis apply")


def measure(r, consumer: Consumer) -> tuple[dict[tuple[str, str], float], dict[str, int]]:
    """Seconds per (source or "all", stage), and events per source, over every entry in the streams."""
    spent: dict[tuple[str, str], float] = {}
    count: dict[str, int] = {}

    def add(source: str, stage: str, seconds: float) -> None:
        spent[source, stage] = spent.get((source, stage), 0.0) + seconds

    consumer._cursor = ">"
    while True:
        t, cpu = time.process_time(), redis_cpu(r)
        batch = consumer._read(">", None)
        add("all", "read", time.process_time() - t)
        add("all", "redis read", redis_cpu(r) - cpu)
        if not batch:
            return spent, count
        for source, entries in batch.items():
            count[source] = count.get(source, 0) + len(entries)
            store = consumer.stores[source]
            t = time.process_time()
            parsed = [parse_entry(source, fields) for _, fields in entries]
            add(source, "validate", time.process_time() - t)
            t = time.process_time()
            places, _ = store.place(parsed)
            add(source, "place", time.process_time() - t)
            t = time.process_time()
            args = store.prepare(parsed, places)
            add(source, "build", time.process_time() - t)
            t, cpu = time.process_time(), redis_cpu(r)
            store.commit(args)
            add(source, "redis apply", redis_cpu(r) - cpu)
            add(source, "commit", time.process_time() - t)
        t, cpu = time.process_time(), redis_cpu(r)
        pipe = r.pipeline(transaction=True)
        for source, entries in batch.items():
            pipe.xack(keys.inbound(source), consumer.group, *[k for k, _ in entries])
        pipe.execute()
        add("all", "ack", time.process_time() - t)
        add("all", "redis ack", redis_cpu(r) - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    settings = load_settings(
        environ={
            "WATCHFLOOR_REDIS_URL": "redis://unused",
            "WATCHFLOOR_CONSUMER_BATCH_SIZE": str(args.batch),
        }
    )
    regions = load_regions(settings)
    index = RegionIndex(regions)
    entries = events(settings, regions, index, args.events)
    print("load average (1, 5, 15 min) at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedRedis("redis-server", Path(tmp)) as server,
    ):
        r = server.client()
        load(r, entries)
        del entries[:]
        tune_gc()
        consumer = Consumer(
            r,
            settings,
            build_stores(r, settings, regions, index),
            announce_regions(settings, regions),
            "s",
        )
        consumer.ensure_groups()
        spent, count = measure(r, consumer)
    total = sum(count.values())
    print(
        f"µs per event of the source (in brackets: per event of all {total:,}); Python = CPU of this process"
    )
    print(f"{'source':<11}" + "".join(f"{s:>20}" for s in STAGES))
    overall = dict.fromkeys(STAGES, 0.0)
    for source in MIX:
        n = count.get(source, 0)
        cells = []
        for stage in STAGES:
            s = spent.get((source, stage), 0.0)
            overall[stage] += s
            cells.append(f"{s / n * 1e6:8.1f} ({s / total * 1e6:5.1f})" if n else "")
        print(f"{source:<11}" + "".join(f"{c:>20}" for c in cells))
    print(f"{'all':<11}" + "".join(f"{overall[s] / total * 1e6:>20.1f}" for s in STAGES))
    read, ack = spent[("all", "read")], spent[("all", "ack")]
    redis_read, redis_ack = spent[("all", "redis read")], spent[("all", "redis ack")]
    python = read + ack + sum(overall[s] for s in STAGES if s != "redis apply")
    redis = redis_read + redis_ack + overall["redis apply"]
    per = 1e6 / total
    print(
        f"read + XACK: Python {(read + ack) * per:.1f} µs,"
        f" Redis {(redis_read + redis_ack) * per:.1f} µs per event"
    )
    print(f"in all: Python {python * per:.1f} µs, Redis {redis * per:.1f} µs per event")
    print("load average (1, 5, 15 min) at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
