"""Indicator recompute times at province scale: a full recompute and an incremental update.

    python bench/indicators.py [--licences 1000000] [--inspections 10000000] [--runs 3]

A private redis-server (in a temporary directory) gets the state of docs/state.md written directly
with pipelined commands — not through the consumer, which would take far longer than the bench:
licence counts, coverage sets with one member per inspected valid licence (latest inspection spread
by credit grade, as the simulator visits them), 91 days of day counters for the five sources
(``--inspections`` over 90 days; 0.4 scanned cartons per licence a day, 2 % of them leaving their
county, mostly along six corridors), the days indexes and 2,000 warnings. Then it times, on one
worker (the job body, as the RQ worker runs it, without the RQ bookkeeping):

1. a full recompute (every region, every window, cache rebuilt from Redis): median of ``--runs``;
2. an incremental update after a batch of 1,000 events' worth of counter changes on today and two
   earlier days (marked dirty as the consumer does): median of ``--runs`` batches.

Goals (issue 4): full ≤ 5 s, incremental ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import keys  # noqa: E402
from core.redis_server import EmbeddedRedis  # noqa: E402
from core.runtime import tune_gc  # noqa: E402
from core.settings import load_settings  # noqa: E402
from indicators import jobs  # noqa: E402
from indicators.compute import CASE_KINDS, COMPLAINT_CATEGORIES, CST, compute_indicators, windows_at  # noqa: E402
from indicators.reader import read_inputs  # noqa: E402

DAY_MS = 86_400_000
GRADES = [(0.30, 91), (0.45, 30), (0.18, 14), (0.07, 7)]  # share, days between visits (A … D)


def day_of(when: dt.datetime) -> str:
    return when.strftime("%Y%m%d")


def build_state(r, regions, now: dt.datetime, licences: int, inspections: int, rng) -> dict[int, int]:
    """Write the documented keys for ``licences`` licences and ``inspections`` over 90 days."""
    counties = regions.counties
    pop = np.array([regions.population[int(c)] for c in counties], float)
    per_county = np.floor(pop / pop.sum() * licences).astype(np.int64)
    per_county[: licences - per_county.sum()] += 1
    now_ms = int(now.timestamp() * 1000)
    pipe = r.pipeline(transaction=False)
    valid: dict[int, int] = {}
    for county, n in zip(counties, per_county, strict=True):
        county = int(county)
        n_valid = int(n * 0.97)
        valid[county] = n_valid
        valid[county // 100 * 100] = valid.get(county // 100 * 100, 0) + n_valid
        valid[regions.province] = valid.get(regions.province, 0) + n_valid
        # coverage: each valid licence's latest inspection, spread over its grade's visit period; 3 % never
        grade = rng.choice(len(GRADES), size=n_valid, p=[g[0] for g in GRADES])
        period = np.array([g[1] for g in GRADES])[grade]
        last = now_ms - (rng.random(n_valid) * period * DAY_MS).astype(np.int64)
        seen = rng.random(n_valid) > 0.03
        members = [f"{county}{i:06d}" for i in range(n_valid)]
        for start in range(0, n_valid, 5000):
            chunk = {
                m: int(t)
                for m, t, s in zip(members[start : start + 5000], last[start:], seen[start:], strict=False)
                if s
            }
            if chunk:
                pipe.zadd(keys.coverage(county), chunk)
        pipe.execute()
    pipe.hset(keys.licence_counts("valid"), mapping=valid)

    share = per_county / per_county.sum()
    corridors = [(int(a), int(b)) for a, b in rng.choice(counties, size=(6, 2), replace=False)]
    outside = [340100, 340200, 370100, 310100, 330100, 410100]
    for back in range(91):
        when = now - dt.timedelta(days=back)
        day, midnight = day_of(when), int(when.replace(hour=0, minute=0, second=0).timestamp() * 1000)
        counters: dict[str, dict[str, int]] = {
            s: {} for s in ("licence", "inspection", "case", "scan", "complaint")
        }
        done = rng.multinomial(inspections // 90, share)
        issues = rng.binomial(done, 0.10)
        for c, n, k in zip(counties, done, issues, strict=True):
            counters["inspection"][f"{c}:ok"] = int(n - k)
            counters["inspection"][f"{c}:issues_found"] = int(k)
            for kind, rate in (("issued", 2e-4), ("renewed", 3e-4), ("changed", 1e-4), ("suspended", 5e-5),
                               ("revoked", 2e-5), ("expired", 5e-5)):  # fmt: skip
                counters["licence"][f"{c}:{kind}"] = int(rng.poisson(rate * per_county[counties == c][0]))
        for c in rng.choice(counties, size=40, p=share):
            kind, value = str(rng.choice(CASE_KINDS)), int(rng.integers(200, 50_000))
            for field, v in ((kind, 1), ("value_cny", value), (f"value_cny:{kind}", value)):
                key = f"{c}:{field}"
                counters["case"][key] = counters["case"].get(key, 0) + v
        for c in rng.choice(counties, size=120, p=share):
            key = f"{c}:{rng.choice(COMPLAINT_CATEGORIES)}"
            counters["complaint"][key] = counters["complaint"].get(key, 0) + 1
        cartons = rng.multinomial(int(0.4 * licences), share)
        scan = counters["scan"]
        for c, n in zip(counties, cartons, strict=True):
            scan[f"{c}>{c}"] = int(n * 0.98)
        for a, b in corridors:  # ≈ 60 % of the cross-county cartons along six corridors
            scan[f"{a}>{b}"] = int(0.012 * 0.4 * licences / 6)
        n_random = int(0.008 * 0.4 * licences)
        src = rng.choice(counties, size=n_random, p=share)
        dst = rng.choice(counties, size=n_random, p=share)
        src = np.where(rng.random(n_random) < 0.05, rng.choice(outside, size=n_random), src)
        for a, b in zip(src, dst, strict=True):
            if a != b:
                scan[f"{a}>{b}"] = scan.get(f"{a}>{b}", 0) + 1
        for source, mapping in counters.items():
            if mapping:
                pipe.hset(keys.day_counts(source, day), mapping=mapping)
            pipe.zadd(keys.days_index(source), {day: midnight})
        pipe.execute()

    warnings = {}
    for i in range(2000):
        c = int(rng.choice(counties))
        raised = now_ms - int(rng.integers(0, 90 * DAY_MS))
        due = raised + 48 * 3_600_000 if rng.random() < 0.7 else None
        replied = due - int(rng.integers(-DAY_MS, 6 * 3_600_000)) if due and rng.random() < 0.8 else None
        warnings[f"W{i}"] = orjson.dumps({
            "id": f"W{i}", "type": "coverage_gap", "state": "closed" if rng.random() < 0.6 else "dispatched",
            "region": c, "regions": [c], "raised_at": raised, "due_at": due, "replied_at": replied,
        })  # fmt: skip
    pipe.hset(keys.WARNINGS, mapping=warnings)
    pipe.delete(keys.DIRTY_DAYS)
    pipe.execute()
    return {int(c): int(n) for c, n in zip(counties, per_county, strict=True)}


def event_batch(r, regions, now: dt.datetime, per_county: dict[int, int], rng, size: int = 1000) -> None:
    """Counter changes of ``size`` events, as the consumer's apply scripts would write them."""
    counties = list(per_county)
    now_ms = int(now.timestamp() * 1000)
    days = [
        day_of(now - dt.timedelta(days=b))
        for b in rng.choice([0, 0, 0, 0, 0, 0, 0, 1, 3], size=size).tolist()
    ]
    pipe = r.pipeline(transaction=True)
    dirty = set()
    mix = ["scan"] * 70 + ["inspection"] * 20 + ["licence"] * 6 + ["complaint"] * 2 + ["case"] * 2
    for day, source in zip(days, rng.choice(mix, size=size), strict=True):
        c = int(rng.choice(counties))
        if source == "scan":
            field = f"{c}>{c}" if rng.random() < 0.98 else f"{c}>{rng.choice(counties)}"
        elif source == "inspection":
            field = f"{c}:{'ok' if rng.random() < 0.9 else 'issues_found'}"
            member = f"{c}{int(rng.integers(per_county[c] * 0.97)):06d}"
            pipe.zadd(keys.coverage(c), {member: now_ms}, gt=True)
        elif source == "licence":
            field = f"{c}:{rng.choice(['issued', 'renewed', 'suspended'])}"
        elif source == "complaint":
            field = f"{c}:{rng.choice(COMPLAINT_CATEGORIES)}"
        else:
            field = f"{c}:{rng.choice(CASE_KINDS)}"
        pipe.hincrby(keys.day_counts(source, day), field, 1)
        dirty.add(f"{source}:{day}")
    pipe.sadd(keys.DIRTY_DAYS, *dirty)
    pipe.execute()


def phases(r, params, now: dt.datetime, full: bool) -> tuple[float, float, float]:
    """Read, compute and store times (ms) of one run, the way ``jobs.run`` does it."""
    regions = jobs.regions_of(params["data_dir"], params["province"])
    t0 = time.perf_counter()
    inputs, _ = read_inputs(r, jobs.CACHE, regions, windows_at(now, params["windows"]), full=full)
    t1 = time.perf_counter()
    result = compute_indicators(inputs, regions, now, params["windows"], params["weights"])
    t2 = time.perf_counter()
    jobs.store_indicators(r, result, {"as_of_ms": int(now.timestamp() * 1000)})
    t3 = time.perf_counter()
    return (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--licences", type=int, default=1_000_000)
    parser.add_argument("--inspections", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = load_settings(environ={})
    params = jobs.job_params(settings)
    regions = jobs.regions_of(params["data_dir"], params["province"])
    now = dt.datetime.now(CST).replace(hour=15, minute=0, second=0, microsecond=0)
    now_ms = int(now.timestamp() * 1000)
    rng = np.random.default_rng(20261121)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis("redis-server", tmp) as server:
        r = server.client()
        t = time.perf_counter()
        per_county = build_state(r, regions, now, args.licences, args.inspections, rng)
        members = sum(r.zcard(keys.coverage(int(c))) for c in regions.counties)
        scan_fields = r.hlen(keys.day_counts("scan", day_of(now)))
        print(f"state: {args.licences:,} licences, {args.inspections:,} inspections over 90 days, "
              f"{members:,} coverage members, {scan_fields:,} scan counters a day; "
              f"built in {time.perf_counter() - t:.1f} s")  # fmt: skip

        tune_gc()  # as the worker does at start (indicators/worker.py)
        full = []
        for _ in range(args.runs):
            t = time.perf_counter()
            jobs.run(r, params, now_ms, full=True)
            full.append((time.perf_counter() - t) * 1000)
        read, compute, store = phases(r, params, now, full=True)
        print(
            f"full recompute (95 counties + 13 cities + province, 4 windows): "
            f"median {statistics.median(full):.0f} ms of {args.runs} "
            f"(read {read:.0f} + compute {compute:.0f} + store {store:.0f})   goal ≤ 5000 ms"
        )

        incremental = []
        for _ in range(max(args.runs, 7)):
            event_batch(r, regions, now, per_county, rng)
            t = time.perf_counter()
            jobs.run(r, params, now_ms)
            incremental.append((time.perf_counter() - t) * 1000)
            assert r.hget(keys.INDICATOR_META, "mode") == b"incremental"
        event_batch(r, regions, now, per_county, rng)
        read, compute, store = phases(r, params, now, full=False)
        print(
            f"incremental update after 1,000 events (today + 2 dirty days): "
            f"median {statistics.median(incremental):.1f} ms of {len(incremental)} "
            f"{sorted(round(x, 1) for x in incremental)} "
            f"(read {read:.1f} + compute {compute:.1f} + store {store:.1f})   goal ≤ 50 ms"
        )


if __name__ == "__main__":
    main()
