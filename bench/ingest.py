"""Validated events per second through the whole consumer, against raw XREADGROUP+XACK in the same run.

    python bench/ingest.py [--events 200000] [--batch 1000] [--consumers 2] [--repeat 1]

A private redis-server (AOF off, like a bench, not like production) gets a deterministic mix of the
five sources; then (1) a bare loop reads and acknowledges them (the ceiling: what Redis and redis-py
cost with no work at all), and (2) the real consumer validates, places and applies them. Prints both
rates and their ratio; the N-process run is compared with a raw loop timed right before it (the
machine's load drifts). ``--repeat`` runs rounds and prints the median ratios. Goal (issue 3):
≥ 40,000 events/s and ≥ 50 % of raw. Where the time goes: ``bench/ingest_stages.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import keys  # noqa: E402
from core.redis_server import EmbeddedRedis  # noqa: E402
from core.runtime import tune_gc  # noqa: E402
from core.settings import load_settings  # noqa: E402
from geo.boundaries import load_regions  # noqa: E402
from geo.index import RegionIndex  # noqa: E402
from streams.consumer import Consumer, announce_regions, build_stores  # noqa: E402
from streams.schema import SOURCES  # noqa: E402
from streams.simulator import LicenceSimulator  # noqa: E402

MIX = {"licence": 0.25, "inspection": 0.35, "scan": 0.30, "complaint": 0.05, "case": 0.05}
CST = dt.timezone(dt.timedelta(hours=8))


def events(settings, regions, index, n: int) -> list[tuple[str, dict]]:
    """A deterministic mix of valid entries of all five sources."""
    counts = {s: int(n * share) for s, share in MIX.items()}
    sim = LicenceSimulator(
        settings.model_copy(
            update={"simulator": settings.simulator.model_copy(update={"licences": counts["licence"]})}
        ),
        regions,
        index,
    )
    out = [("licence", e) for batch in sim.initial(batch=5000) for e in batch]
    lic = sim.licences
    rng = np.random.default_rng(7)
    pick = rng.integers(len(lic.number), size=n)
    base = dt.datetime(2026, 11, 21, 9, 0, tzinfo=CST)
    for k in range(counts["inspection"]):
        i = pick[k]
        start = base + dt.timedelta(seconds=int(k))
        point = {"lon": float(lic.lon[i]), "lat": float(lic.lat[i]), "crs": "wgs84"}
        data = {
            "inspection_id": f"b{k}",
            "licence_no": str(lic.number[i]),
            "inspector": "李明",
            "unit": "稽查大队",
            "point": point,
            "started_at": start.isoformat(),
            "finished_at": (start + dt.timedelta(minutes=20)).isoformat(),
            "outcome": "ok",
            "issue_codes": [],
        }
        out.append(("inspection", _entry(f"bi{k}", "inspection.completed", start, data)))
    for k in range(counts["scan"]):
        i = pick[-k - 1]
        when = base + dt.timedelta(seconds=int(k))
        data = {
            "carton_code": f"{k:032d}",
            "scanned_at": when.isoformat(),
            "point": {"lon": float(lic.lon[i]), "lat": float(lic.lat[i]), "crs": "wgs84"},
            "licence_no": str(lic.number[i]),
            "licence_region": int(lic.county[i]),
        }
        out.append(("scan", _entry(f"bs{k}", "scan.recorded", when, data)))
    for k in range(counts["complaint"]):
        data = {
            "complaint_id": f"bc{k}",
            "channel": "hotline_12313",
            "category": "counterfeit",
            "address": "江苏省南京市玄武区中山路1号",
            "text": "有人卖假烟",
        }
        out.append(("complaint", _entry(f"bc{k}", "complaint.received", base, data)))
    for k in range(counts["case"]):
        i = pick[k]
        data = {
            "case_id": f"bk{k}",
            "kind": "counterfeit",
            "value_cny": 1000.0,
            "packs": 50,
            "point": {"lon": float(lic.lon[i]), "lat": float(lic.lat[i]), "crs": "wgs84"},
        }
        out.append(("case", _entry(f"bk{k}", "case.opened", base, data)))
    order = rng.permutation(len(out))  # interleave the sources as they would arrive
    return [out[i] for i in order]


def _entry(event_id: str, kind: str, when: dt.datetime, data: dict) -> dict:
    return {"id": event_id, "type": kind, "occurred_at": when.isoformat(), "data": orjson.dumps(data)}


def load(r, entries) -> None:
    pipe = r.pipeline(transaction=False)
    for i, (source, e) in enumerate(entries):
        pipe.xadd(keys.inbound(source), e)
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def redis_cpu(r) -> float:
    """CPU seconds the redis-server has used (user + system): robust to other load on the machine."""
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def raw_rate(r, batch: int) -> float:
    """Bare XREADGROUP + XACK over the same entries: no parsing, no state."""
    streams = {keys.inbound(s): ">" for s in SOURCES}
    for stream in streams:
        r.xgroup_create(stream, "raw", id="0", mkstream=True)
    t0, n = time.perf_counter(), 0
    while True:
        reply = r.xreadgroup("raw", "raw-1", streams, count=batch)
        if not reply:
            break
        pipe = r.pipeline(transaction=True)
        for stream, got in reply:
            pipe.xack(stream, "raw", *[i for i, _ in got])
            n += len(got)
        pipe.execute()
    return n / (time.perf_counter() - t0)


def consumer_rate(r, settings, regions, index, total: int) -> tuple[float, int]:
    """The consumer's own run() loop (two overlapping stages) until every entry is acknowledged."""
    c = Consumer(
        r, settings, build_stores(r, settings, regions, index), announce_regions(settings, regions), "b"
    )
    c.ensure_groups()
    stop = threading.Event()
    t0 = time.perf_counter()
    worker = threading.Thread(target=c.run, args=(stop,))
    worker.start()
    while True:
        applied = sum(int(r.hget(keys.source_status(s), "applied") or 0) for s in SOURCES)
        if applied >= total:
            break
        time.sleep(0.002)
    elapsed = time.perf_counter() - t0
    stop.set()
    worker.join()
    return applied / elapsed, applied


def group_rate(server, n_consumers: int, batch: int, total: int) -> float:
    """N consumer processes (``python -m streams.consumer``) in the group, timed from their first
    applied event to the last, so process start-up is not counted."""
    r = server.client()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHFLOOR_")}
    env |= {
        "WATCHFLOOR_REDIS_URL": server.url,
        "WATCHFLOOR_CONSUMER_BATCH_SIZE": str(batch),
        "WATCHFLOOR_CONSUMER_BLOCK_MS": "5",
        "WATCHFLOOR_WORKER_INDICATOR_DEBOUNCE_SECONDS": "3600",
    }
    root = Path(__file__).resolve().parents[1]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "streams.consumer"], cwd=root, env=env, stdout=subprocess.DEVNULL
        )
        for _ in range(n_consumers)
    ]
    try:
        applied = 0
        t0 = None
        deadline = time.monotonic() + 600
        while applied < total and time.monotonic() < deadline:
            applied = sum(int(r.hget(keys.source_status(s), "applied") or 0) for s in SOURCES)
            if applied and t0 is None:
                t0 = time.perf_counter()
            time.sleep(0.002)
        return applied / (time.perf_counter() - t0)
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--consumers", type=int, default=2, help="also time N consumer processes (0: skip)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds, each against its own raw loop")
    args = parser.parse_args()
    settings = load_settings(
        environ={
            "WATCHFLOOR_REDIS_URL": "redis://unused",
            "WATCHFLOOR_CONSUMER_BATCH_SIZE": str(args.batch),
            "WATCHFLOOR_CONSUMER_BLOCK_MS": "5",
            "WATCHFLOOR_WORKER_INDICATOR_DEBOUNCE_SECONDS": "3600",
        }
    )
    regions = load_regions(settings)
    index = RegionIndex(regions)
    entries = events(settings, regions, index, args.events)
    total = len(entries)
    print(
        f"{len(entries):,} events: " + ", ".join(f"{s} {sum(1 for x, _ in entries if x == s):,}" for s in MIX)
    )
    print("load average (1, 5, 15 min) at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    ratios: dict[str, list[float]] = {"1": [], str(args.consumers): []}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis("redis-server", Path(tmp)) as server:
        r = server.client()
        for round_no in range(1, args.repeat + 1):
            if round_no > 1:
                print(f"-- round {round_no} (load average {os.getloadavg()[0]:.2f})")
                r.flushall()
                entries = events(settings, regions, index, args.events)
            load(r, entries)
            del entries[:]  # the consumer process would not hold the whole scenario in memory
            tune_gc()  # as the consumer's main() does
            cpu = redis_cpu(r)
            raw = raw_rate(r, args.batch)
            cpu_raw, cpu = (redis_cpu(r) - cpu) / total * 1e6, redis_cpu(r)
            rate, applied = consumer_rate(r, settings, regions, index, total)
            cpu_one = (redis_cpu(r) - cpu) / total * 1e6
            ratios["1"].append(rate / raw)
            print(f"raw XREADGROUP+XACK:  {raw:>10,.0f} events/s  (batch {args.batch})")
            print(f"whole consumer:       {rate:>10,.0f} events/s  ({applied:,} applied)")
            print(f"ratio consumer / raw: {rate / raw:>10.1%}")
            print(
                f"redis-server CPU per event: raw {cpu_raw:.1f} µs, consumer {cpu_one:.1f} µs"
                f" (one core: at most {1e6 / cpu_one:,.0f} events/s for any number of consumers)"
            )
            if args.consumers:
                r.flushall()
                load(r, events(settings, regions, index, args.events))
                raw = raw_rate(r, args.batch)  # raw again, right before: the load drifts
                many = group_rate(server, args.consumers, args.batch, total)
                ratios[str(args.consumers)].append(many / raw)
                print(
                    f"{args.consumers} consumer processes: {many:>9,.0f} events/s  (one group, timed from the"
                    f" first applied event)  raw just before {raw:,.0f} events/s, ratio {many / raw:.1%}"
                )
        if args.repeat > 1:
            for n, values in ratios.items():
                if values:
                    median = statistics.median(values)
                    print(f"median ratio to raw, {n} process(es), {len(values)} rounds: {median:.1%}")
        print("load average (1, 5, 15 min) at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
