"""Score the warnings against the simulator's injected ground truth: precision and recall per type.

    python bench/warning_score.py [--licences 250000] [--weeks 4] [--warmup-days 7] [--every-minutes 60]
                             [--set warnings_inactive_min_scans=6 ...] [--dump FILE.json]

The default scenario (seed and sources of config.yaml, ``simulator.speed`` 720, anomalies on) is
generated offline and fed through the real consumer (XADD, then ``Consumer.run_once`` in-process)
into a private redis-server. The detection job's ``run_detection`` runs every ``--every-minutes`` of
simulated time with ``now`` = the simulated clock. A warm-up (default: the week before
2026-11-02) gives the baselines their history; the weeks after it are scored.

Matching (docs/warnings.md): a warning matches a truth line of its type when they name the same
thing — corridor from → to; licence number (misuse, suspended licence); a shared licence (holder);
a shared case (cluster); the county (silence, complaint spike) — and overlap in time: raised before
the anomaly ended + 36 h and still seen after it started − 1 h. One-to-one: a truth line absorbs one
warning; a second warning for it counts as a false positive (a duplicate). Warnings raised in the
warm-up, and truth lines starting in it, are left out. coverage_gap has no injected truth: its
warnings are counted apart. "delay": the median time from an anomaly's start to its warning.
"""

from __future__ import annotations

import os
import sys

# Run as `python bench/warning_score.py`, this folder comes first on sys.path: put the project root
# there instead, before any import, so that `core`, `streams` … resolve.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import orjson  # noqa: E402

from core import keys  # noqa: E402
from core.redis_server import EmbeddedRedis  # noqa: E402
from core.settings import load_settings  # noqa: E402
from geo.boundaries import load_regions  # noqa: E402
from geo.index import RegionIndex  # noqa: E402
from indicators.warning_jobs import job_config, run_detection  # noqa: E402
from streams.consumer import Consumer, announce_regions, build_stores, tune_gc  # noqa: E402
from streams.schema import SOURCES  # noqa: E402
from streams.sims import clock  # noqa: E402
from streams.sims.scenario import Scenario  # noqa: E402
from streams.simulator import LicenceSimulator  # noqa: E402

TYPES = (
    "corridor_surge",
    "licence_used_elsewhere",
    "suspended_licence_receiving_goods",
    "holder_with_several_licences",
    "case_cluster",
    "inspection_silence",
    "complaint_spike",
)
SCORE_START = dt.datetime(2026, 11, 2, tzinfo=clock.CST)
BEFORE_MS, AFTER_MS = 3_600_000, 36 * 3_600_000


def feed(r, consumer: Consumer, events) -> int:
    """XADD the events, let the consumer take them all, then trim the acknowledged entries."""
    n = 0
    pipe = r.pipeline(transaction=False)
    for source, fields in events:
        pipe.xadd(keys.inbound(source), fields)
        n += 1
        if n % 5000 == 0:
            pipe.execute()
            _drain(consumer)
    pipe.execute()
    _drain(consumer)
    for source in SOURCES:
        r.xtrim(keys.inbound(source), maxlen=0)
    return n


def _drain(consumer: Consumer) -> None:
    while consumer.run_once(block_ms=1).read:
        pass


def _case_ids(line: dict) -> set[str]:
    # truth lists event ids "case-<seed>-open-<case id>"
    return {e.split("-open-", 1)[1] for e in line["events"].get("case", []) if "-open-" in e}


def names_same(warning: dict, line: dict) -> bool:
    """Whether a warning and a truth line of the same type name the same thing."""
    f, d, kind = warning["facts"], line["details"], line["type"]
    if kind == "corridor_surge":
        return (f["from"], f["to"]) == (d["from"], d["to"])
    if kind in ("licence_used_elsewhere", "suspended_licence_receiving_goods"):
        return f["licence_no"] == d["licence_no"]
    if kind == "holder_with_several_licences":
        return bool(set(warning["evidence"].get("licences", [])) & set(d["licence_nos"]))
    if kind == "case_cluster":
        return bool(set(warning["evidence"].get("cases", [])) & _case_ids(line))
    return warning["region"] == line["regions"][0]


def overlaps(warning: dict, line: dict) -> bool:
    start = clock.ts(dt.datetime.fromisoformat(line["start"])) * 1000
    end = clock.ts(dt.datetime.fromisoformat(line["end"])) * 1000
    return warning["raised_at"] <= end + AFTER_MS and warning["seen_at"] >= start - BEFORE_MS


def score(warnings: list[dict], truth: list[dict]) -> dict[str, dict[str, int]]:
    """Per type: truth lines, warnings, true positives (one per line), misses, false positives."""
    out = {}
    for kind in TYPES:
        lines = [t for t in truth if t["type"] == kind]
        mine = sorted((w for w in warnings if w["type"] == kind), key=lambda w: w["raised_at"])
        used: set[str] = set()
        delays = []
        for line in lines:
            hits = [w for w in mine if w["id"] not in used and names_same(w, line) and overlaps(w, line)]
            if hits:
                used.add(hits[0]["id"])
                start = clock.ts(dt.datetime.fromisoformat(line["start"])) * 1000
                delays.append((hits[0]["raised_at"] - start) / 3_600_000)
        dup = sum(1 for w in mine if w["id"] not in used and any(names_same(w, t) for t in lines))
        delay = sorted(delays)[len(delays) // 2] if delays else float("nan")
        out[kind] = {
            "truth": len(lines),
            "warnings": len(mine),
            "tp": len(delays),
            "dup": dup,
            "delay_h": delay,
        }
    return out


def run(args: argparse.Namespace) -> tuple[list[dict], list[dict], dict]:
    settings = load_settings(
        environ={
            "WATCHFLOOR_REDIS_URL": "redis://unused",
            "WATCHFLOOR_SIMULATOR_SPEED": "720",
            "WATCHFLOOR_SIMULATOR_LICENCES": str(args.licences),
            "WATCHFLOOR_CONSUMER_BATCH_SIZE": "2000",
            "WATCHFLOOR_WORKER_INDICATOR_DEBOUNCE_SECONDS": "3600",
            **{f"WATCHFLOOR_{k.upper()}": v for k, v in (x.split("=", 1) for x in args.set)},
        }
    )
    regions = load_regions(settings)
    index = RegionIndex(regions)
    sim = LicenceSimulator(settings, regions, index)
    scenario = Scenario(settings, regions, index, sim)
    score_start = clock.ts(SCORE_START)
    start, end = score_start - args.warmup_days * 86400, score_start + args.weeks * 7 * 86400
    step = args.every_minutes * 60
    times = Counter()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis("redis-server", Path(tmp)) as server:
        r = server.client()
        r.config_set("appendonly", "no")  # a bench, not a demo: no AOF
        stores = build_stores(r, settings, regions, index)
        consumer = Consumer(r, settings, stores, announce_regions(settings, regions), "bench")
        consumer.ensure_groups()
        tune_gc()
        t0 = time.perf_counter()
        times["events"] += feed(r, consumer, (("licence", e) for b in sim.initial(batch=5000) for e in b))
        times["feed_s"] += time.perf_counter() - t0
        cfg = job_config(settings)
        t = start
        while t < end:
            t0 = time.perf_counter()
            times["events"] += feed(r, consumer, scenario.events(t, t + step))
            t1 = time.perf_counter()
            t += step
            run_detection(r, cfg, now_ms=int(t * 1000))
            times["feed_s"] += t1 - t0
            times["detect_s"] += time.perf_counter() - t1
            times["runs"] += 1
            if int(t) % 86400 == 57600:  # local midnight
                print(f"  {clock.iso(t)[:10]}: {times['events']:,} events", flush=True)
        warnings = [orjson.loads(v) for v in r.hgetall(keys.WARNINGS).values()]
    truth = scenario.truth(score_start, end)
    kept = [w for w in warnings if w["raised_at"] >= score_start * 1000]
    return kept, truth, dict(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--licences", type=int, default=250_000)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--warmup-days", type=int, default=7)
    parser.add_argument("--every-minutes", type=int, default=60)
    parser.add_argument("--dump", type=Path, help="write the scored warnings and truth lines here (JSON)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting, as its WATCHFLOOR_ name without the prefix: --set warnings_cluster_k=2",
    )
    args = parser.parse_args()
    print(
        f"scenario: {args.licences:,} licences, speed 720, warm-up {args.warmup_days} d, "
        f"scored {SCORE_START:%Y-%m-%d} + {args.weeks} weeks, detection every {args.every_minutes} min"
        + (f", settings {' '.join(args.set)}" if args.set else "")
    )
    started = time.perf_counter()
    warnings, truth, times = run(args)
    if args.dump:
        dump = {"warnings": warnings, "truth": truth}
        args.dump.write_bytes(orjson.dumps(dump, option=orjson.OPT_INDENT_2))
    table = score(warnings, truth)
    head = ("truth", "warn", "TP", "FN", "FP", "dup")
    print(f"\n{'type':36} " + " ".join(f"{h:>5}" for h in head) + f" {'prec':>6} {'recall':>6} {'delay':>6}")
    for kind, s in table.items():
        fp = s["warnings"] - s["tp"]
        prec = s["tp"] / s["warnings"] if s["warnings"] else float("nan")
        rec = s["tp"] / s["truth"] if s["truth"] else float("nan")
        print(
            f"{kind:36} {s['truth']:>5} {s['warnings']:>5} {s['tp']:>5} {s['truth'] - s['tp']:>5} {fp:>5}"
            f" {s['dup']:>5} {prec:>6.2f} {rec:>6.2f} {s['delay_h']:>5.1f}h"
        )
    gaps = [w for w in warnings if w["type"] == "coverage_gap"]
    colours = Counter(w["colour"] for w in warnings)
    print(f"coverage_gap (no injected truth): {len(gaps)} warnings")
    print(f"colours: {dict(colours)}")
    print(
        f"\n{times['events']:,} events fed in {times['feed_s']:.0f} s; {times['runs']} detection runs in "
        f"{times['detect_s']:.0f} s ({times['detect_s'] / max(1, times['runs']) * 1000:.0f} ms each); "
        f"total {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
