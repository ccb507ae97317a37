"""Play every upstream source on one simulated clock, into Redis (:func:`run_all`) or a JSONL file.

Live: ``run_all`` finishes (or resumes) the licence initial load, then advances a simulated clock at
``simulator.speed`` simulated seconds per real second and XADDs each slice's events to
``wf:in:<source>`` together with the new clock position, in one MULTI/EXEC: a restart resumes exactly
where the last committed slice ended, so no event id is repeated or skipped. A clock that started at
the wall clock (no ``start``) and was stopped for a while catches up (:func:`resume_at`).

Offline: ``python -m streams.sims.runner --days 1 --speed 0 --out FILE.jsonl`` writes the initial load
and the events of the days to FILE.jsonl (one ``{"source", "id", "type", "occurred_at", "data"}`` per
line) and the ground truth to FILE.truth.jsonl. Without ``--out`` it runs live against Redis.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
import redis

from core import keys
from core.settings import Settings
from geo.boundaries import Regions
from geo.index import RegionIndex
from streams.sims import clock
from streams.sims.scenario import Scenario
from streams.simulator import LicenceSimulator

#: Real seconds between slices when the clock is ahead of the events written.
TICK_SECONDS = 0.25
#: At most this much simulated time per slice (bounds one MULTI/EXEC when catching up).
MAX_STEP_SECONDS = 900.0


def initial_load(r: redis.Redis, sim: LicenceSimulator, stop: threading.Event) -> bool:
    """Emit the rest of the licence initial load (progress in ``wf:sim:licence``); True when complete."""
    stream, state_key = keys.inbound("licence"), keys.simulator_state("licence")
    state = {k.decode(): int(v) for k, v in r.hgetall(state_key).items()}
    if (
        state.get("seed", sim.cfg.seed) != sim.cfg.seed
        or state.get("total", sim.cfg.licences) != sim.cfg.licences
    ):
        state = {}
    loaded = state.get("loaded", 0)
    for batch in sim.initial(start=loaded, batch=sim.cfg.batch_size):
        if stop.is_set():
            return False
        pipe = r.pipeline(transaction=True)
        for fields in batch:
            pipe.xadd(stream, fields)
        loaded += len(batch)
        pipe.hset(state_key, mapping={"seed": sim.cfg.seed, "total": sim.cfg.licences, "loaded": loaded})
        pipe.execute()
    return True


def _progress(r: redis.Redis, settings: Settings, start: dt.datetime | None) -> tuple[dict, bool]:
    """The stored clock (cursor, trickle anchor) or a fresh one; True when it is fresh."""
    cfg = settings.simulator
    raw = {k.decode(): v.decode() for k, v in r.hgetall(keys.simulator_clock()).items()}
    rate = cfg.rate_per_second / cfg.speed
    if raw.get("seed") == str(cfg.seed) and raw.get("total") == str(cfg.licences):
        state = {"cursor": float(raw["cursor"]), "t_base": float(raw["t_base"]), "k_base": int(raw["k_base"])}
        old_rate = float(raw["rate"])
        if old_rate != rate:  # re-anchor the trickle so its ids go on from where they were
            done = state["k_base"] + max(0, math.ceil((state["cursor"] - state["t_base"]) * old_rate))
            state.update(t_base=state["cursor"], k_base=done)
        return {**state, "rate": rate}, False
    first = float(clock.ts(start) if start else math.floor(time.time()))
    return {"cursor": first, "t_base": float(clock.EPOCH_TS), "k_base": 0, "rate": rate}, True


def resume_at(cursor: float, now: float, catch_up_seconds: float) -> tuple[float, float]:
    """Where a stored live clock goes on after a restart at wall-clock ``now``: (cursor, sim start).

    The simulated clock runs from *sim start* at ``simulator.speed``; events are played from *cursor*
    up to it, as fast as slices go while it is ahead. Not behind the wall clock (a fast demo runs
    ahead): unchanged. Behind by up to ``catch_up_seconds``: the gap is played back at once and the
    clock is at the wall clock again. Behind by more (a demo restarted the next day): the clock jumps
    to now and the gap is not played — the wall shows today rather than replaying the night.
    """
    behind = now - cursor
    if behind <= 0:
        return cursor, cursor
    if behind <= catch_up_seconds:
        return cursor, now
    return now, now


def _append_truth(path: Path, records: Iterable[dict], fresh: bool = False) -> None:
    records = list(records)
    if not records and not fresh:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb" if fresh else "ab") as out:
        for rec in records:
            out.write(orjson.dumps(rec) + b"\n")


def run_all(
    r: redis.Redis,
    settings: Settings,
    regions: Regions,
    index: RegionIndex,
    stop: threading.Event,
    licence_sim: LicenceSimulator,
    start: dt.datetime | None = None,
) -> None:
    """Emit every enabled source's events on one simulated clock until ``stop`` is set.

    The clock starts at ``start`` (default: now) the first time and resumes from Redis afterwards;
    without ``start``, a clock left behind the wall clock catches up (:func:`resume_at`).
    """
    cfg = settings.simulator
    if "licence" in cfg.sources and not initial_load(r, licence_sim, stop):
        return
    state, fresh = _progress(r, settings, start)
    scenario = Scenario(settings, regions, index, licence_sim, (state["t_base"], state["k_base"]))
    truth_path = settings.path(cfg.ground_truth)
    if fresh:  # a new scenario: a new truth file, starting with the anomalies already under way
        _append_truth(truth_path, scenario.ongoing(state["cursor"]), fresh=True)
    cursor = sim_start = state["cursor"]
    if start is None and not fresh:
        stored = cursor
        cursor, sim_start = resume_at(stored, math.floor(time.time()), cfg.catch_up_seconds)
        if cursor != stored:  # jumped: the gap's anomalies still under way start partway, as for a new clock
            _append_truth(truth_path, scenario.ongoing(cursor, started_after=stored))
            print(f"simulator: clock was at {clock.iso(stored)}; skipped to now (gap not played)", flush=True)
        elif sim_start != stored:
            print(f"simulator: clock at {clock.iso(stored)}; playing back to now", flush=True)
    sim = clock.SimClock(sim_start, cfg.speed)
    print(
        f"simulator: clock at {clock.iso(cursor)}, speed {cfg.speed:g}, sources {','.join(cfg.sources)}",
        flush=True,
    )
    while not stop.is_set():
        target = min(sim.now(), cursor + MAX_STEP_SECONDS)
        if target <= cursor:
            stop.wait(TICK_SECONDS)
            continue
        events = list(scenario.events(cursor, target))
        _append_truth(truth_path, scenario.truth(cursor, target))
        pipe = r.pipeline(transaction=True)
        for source, fields in events:
            pipe.xadd(keys.inbound(source), fields)
        mapping = {
            "seed": cfg.seed,
            "total": cfg.licences,
            "cursor": repr(target),
            "rate": repr(state["rate"]),
        }
        mapping.update(t_base=repr(state["t_base"]), k_base=state["k_base"])
        pipe.hset(keys.simulator_clock(), mapping=mapping)
        try:
            pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError) as exc:  # nothing committed: redo the slice
            print(f"simulator: Redis unavailable ({exc}); retrying", flush=True)
            stop.wait(settings.redis.retry_seconds)
            continue
        cursor = target
        if sim.now() - cursor < cfg.speed * TICK_SECONDS:
            stop.wait(TICK_SECONDS)


def _line(source: str, fields: dict) -> bytes:
    head = {
        "source": source,
        "id": fields["id"],
        "type": fields["type"],
        "occurred_at": fields["occurred_at"],
    }
    return orjson.dumps(head)[:-1] + b',"data":' + fields["data"] + b"}\n"


def read_jsonl(path: str | Path) -> Iterator[tuple[str, dict]]:
    """(source, entry fields) of a file written by the CLI, ready for XADD or ``parse_entry``."""
    with Path(path).open("rb") as lines:
        for line in lines:
            obj = orjson.loads(line)
            data = orjson.dumps(obj.pop("data"))
            yield obj.pop("source"), {**obj, "data": data}


def write_file(
    scenario: Scenario, out: Path, truth: Path, start: float, end: float, speed: float, initial: bool
) -> int:
    """Write the initial load (optional) and the events of [start, end) to ``out``; pace at ``speed``."""
    count = 0
    with out.open("wb") as f:
        if initial and "licence" in scenario.sources:
            for batch in scenario.licence_sim.initial(batch=scenario.licence_sim.cfg.batch_size):
                f.writelines(_line("licence", e) for e in batch)
                count += len(batch)
        sim = clock.SimClock(start, speed) if speed > 0 else None
        cursor = start
        while cursor < end:
            step = min(end, cursor + (MAX_STEP_SECONDS if sim is None else max(1.0, speed * TICK_SECONDS)))
            if sim is not None:
                time.sleep(sim.real_seconds_until(step))
            for source, fields in scenario.events(cursor, step):
                f.write(_line(source, fields))
                count += 1
            cursor = step
    _append_truth(truth, scenario.ongoing(start) + scenario.truth(start, end), fresh=True)
    return count


def main(argv: list[str] | None = None) -> None:
    """``python -m streams.sims.runner``: live into Redis, or ``--out FILE.jsonl`` offline."""
    from core.settings import load_or_exit
    from geo.boundaries import load_regions

    ap = argparse.ArgumentParser(prog="python -m streams.sims.runner", description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=float, default=1.0, help="simulated days to write (with --out)")
    ap.add_argument(
        "--speed", type=float, default=None, help="simulated s per real s; 0 = as fast as possible"
    )
    ap.add_argument(
        "--start", default=None, help="ISO start instant (default: 2026-11-02T00:00+08:00 offline, now live)"
    )
    ap.add_argument(
        "--out", type=Path, default=None, help="write entries to this JSONL file instead of Redis"
    )
    ap.add_argument("--truth", type=Path, default=None, help="ground truth file (default: OUT.truth.jsonl)")
    ap.add_argument("--no-initial", action="store_true", help="leave the licence initial load out of --out")
    args = ap.parse_args(argv)
    settings = load_or_exit()
    if args.speed:
        settings = settings.model_copy(
            update={"simulator": settings.simulator.model_copy(update={"speed": args.speed})}
        )
    start = dt.datetime.fromisoformat(args.start) if args.start else None
    regions = load_regions(settings)
    index = RegionIndex(regions)
    sim = LicenceSimulator(settings, regions, index)
    if args.out is not None:
        t0 = clock.ts(start or clock.DEFAULT_START)
        truth = args.truth or args.out.with_name(args.out.name.removesuffix(".jsonl") + ".truth.jsonl")
        n = write_file(
            Scenario(settings, regions, index, sim),
            args.out,
            truth,
            t0,
            t0 + args.days * clock.DAY,
            args.speed or 0.0,
            not args.no_initial,
        )
        print(f"simulator: {n} entries written to {args.out}, ground truth in {truth}")
        return
    from core.connection import connect_or_exit

    r = connect_or_exit(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_all(r, settings, regions, index, stop, sim, start=start)


if __name__ == "__main__":
    main()
