"""run_all against a real redis-server: five streams, resumable, nothing repeated, all accepted."""

from __future__ import annotations

import collections
import math
import threading
import time

import orjson
import pytest
import redis

from core import keys
from geo.boundaries import load_regions
from geo.index import RegionIndex
from streams.consumer import Consumer, announce_regions, build_stores
from streams.deadletter import list_dead_letters
from streams.schema import SOURCES
from streams.sims import clock
from streams.sims.runner import run_all
from streams.sims.scenario import Scenario
from streams.simulator import LicenceSimulator

START = clock.DEFAULT_START
MONDAY = clock.ts(START)


@pytest.fixture(scope="module")
def geo():
    from core.settings import load_settings

    regions = load_regions(load_settings(environ={}))
    return regions, RegionIndex(regions)


@pytest.fixture
def sim_settings(settings_for, tmp_path):
    return settings_for(
        WATCHFLOOR_SIMULATOR_LICENCES="2000",
        WATCHFLOOR_SIMULATOR_SPEED="100000",
        WATCHFLOOR_SIMULATOR_GROUND_TRUTH=str(tmp_path / "truth.jsonl"),
    )


def cursor(r: redis.Redis) -> float:
    raw = r.hget(keys.simulator_clock(), "cursor")
    return float(raw) if raw else 0.0


def run_until(r: redis.Redis, settings, geo, sim_until: float, timeout: float = 60.0, start=START) -> None:
    """Run the simulators in a thread until the simulated clock passes ``sim_until``, then stop them
    (``start`` None: a live clock that starts at the wall clock)."""
    regions, index = geo
    stop = threading.Event()
    sim = LicenceSimulator(settings, regions, index)
    thread = threading.Thread(
        target=run_all, args=(r, settings, regions, index, stop, sim), kwargs={"start": start}
    )
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while cursor(r) < sim_until and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert cursor(r) >= sim_until, "the simulated clock did not get there in time"


def stream_ids(r: redis.Redis) -> dict[str, list[str]]:
    return {s: [f[b"id"].decode() for _, f in r.xrange(keys.inbound(s))] for s in SOURCES}


def test_run_all_fills_the_five_streams_and_resumes_without_repeating(redis_client, sim_settings, geo):
    r = redis_client
    run_until(r, sim_settings, geo, MONDAY + 10 * 3600)
    first = stream_ids(r)
    first_cursor = cursor(r)
    assert sum(i.startswith("lic-20201101-init-") for i in first["licence"]) == 2000
    assert all(first[s] for s in SOURCES), {s: len(v) for s, v in first.items()}

    run_until(r, sim_settings, geo, MONDAY + 36 * 3600)  # a restart: resumes from the stored clock
    second = stream_ids(r)
    end = cursor(r)
    regions, index = geo
    scenario = Scenario(sim_settings, regions, index, LicenceSimulator(sim_settings, regions, index))
    expected = collections.defaultdict(list)
    for source, fields in scenario.events(MONDAY, end):
        expected[source].append(fields["id"])
    for source in SOURCES:
        ids = second[source]
        assert len(ids) == len(set(ids)), f"{source}: repeated event ids"
        assert ids[: len(first[source])] == first[source]
        live = [i for i in ids if not i.startswith("lic-20201101-init-")]
        assert sorted(live) == sorted(expected[source]), source  # nothing skipped, nothing extra
    later = [f[b"occurred_at"].decode() for _, f in r.xrange(keys.inbound("scan"))[len(first["scan"]) :]]
    assert later and min(later) >= clock.iso(first_cursor)

    lines = sim_settings.path(sim_settings.simulator.ground_truth).read_bytes().splitlines()
    truth = [orjson.loads(line) for line in lines]
    assert truth == [orjson.loads(orjson.dumps(t)) for t in scenario.truth(MONDAY, end)]


def test_everything_the_simulators_write_is_accepted_by_the_consumer(redis_client, sim_settings, geo):
    r = redis_client
    run_until(r, sim_settings, geo, MONDAY + 18 * 3600)
    regions, index = geo
    stores = build_stores(r, sim_settings, regions, index)
    consumer = Consumer(r, sim_settings, stores, announce_regions(sim_settings, regions), name="sim-test")
    consumer.ensure_groups()
    while consumer.run_once(block_ms=1).read:
        pass
    assert list_dead_letters(r, count=5) == []


def test_a_new_speed_after_a_restart_continues_the_licence_trickle(redis_client, settings_for, tmp_path, geo):
    r = redis_client
    env = {
        "WATCHFLOOR_SIMULATOR_LICENCES": "500",
        "WATCHFLOOR_SIMULATOR_SOURCES": "[licence]",
        "WATCHFLOOR_SIMULATOR_GROUND_TRUTH": str(tmp_path / "truth.jsonl"),
    }
    run_until(r, settings_for(**env, WATCHFLOOR_SIMULATOR_SPEED="2000"), geo, MONDAY + 600)
    before = [i for i in stream_ids(r)["licence"] if "-live-" in i]
    run_until(r, settings_for(**env, WATCHFLOOR_SIMULATOR_SPEED="4000"), geo, MONDAY + 1800)
    live = [int(i.rsplit("-", 1)[1]) for i in stream_ids(r)["licence"] if "-live-" in i]
    assert before and len(live) > len(before)
    assert live == sorted(live) and len(set(live)) == len(live)
    assert all(b - a == 1 for a, b in zip(live, live[1:], strict=False))  # re-anchored, no gap, no repeat


@pytest.mark.parametrize(("behind", "played"), [(1800, True), (3 * 3600, False)])
def test_a_live_clock_left_behind_the_wall_clock_catches_up(
    redis_client, settings_for, tmp_path, geo, behind, played
):
    """A demo restarted after a pause: a gap up to ``catch_up_seconds`` is played back at once (every
    event of it, none twice); a longer one is skipped, and the clock goes on from now."""
    r = redis_client
    settings = settings_for(
        WATCHFLOOR_SIMULATOR_LICENCES="200",
        WATCHFLOOR_SIMULATOR_SPEED="1",
        WATCHFLOOR_SIMULATOR_CATCH_UP_SECONDS="3600",
        WATCHFLOOR_SIMULATOR_GROUND_TRUTH=str(tmp_path / "truth.jsonl"),
    )
    cfg, (regions, index) = settings.simulator, geo
    stored = float(math.floor(time.time()) - behind)
    rate = cfg.rate_per_second / cfg.speed
    anchor = {"t_base": repr(float(clock.EPOCH_TS)), "k_base": 0}  # the trickle as a new clock anchors it
    clock_hash = {"seed": cfg.seed, "total": cfg.licences, "cursor": repr(stored), "rate": repr(rate)}
    r.hset(keys.simulator_clock(), mapping={**clock_hash, **anchor})
    restarted = time.time()
    run_until(r, settings, geo, restarted + 1, start=None)  # fails unless the clock reaches the wall clock
    end = cursor(r)

    written = {s: [f for _, f in r.xrange(keys.inbound(s))] for s in SOURCES}
    live = {s: [f[b"id"].decode() for f in v if b"-init-" not in f[b"id"]] for s, v in written.items()}
    scenario = Scenario(settings, regions, index, LicenceSimulator(settings, regions, index))
    first = stored if played else math.floor(restarted)
    expected = collections.defaultdict(list)
    for source, fields in scenario.events(first, end):
        expected[source].append(fields["id"])
    for source in SOURCES:
        assert len(live[source]) == len(set(live[source])), f"{source}: repeated event ids"
        assert sorted(live[source]) == sorted(expected[source]), source
    gap = [s for s in SOURCES for f in written[s] if b"-init-" not in f[b"id"]
           and f[b"occurred_at"].decode() < clock.iso(restarted - 60)]  # fmt: skip
    assert bool(gap) is played  # the gap's events: all of them, or none
