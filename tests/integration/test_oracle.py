"""Duplicates, shuffled order and a SIGKILLed consumer all leave the state of the ordered sequence."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import keys
from core.settings import load_settings
from geo.boundaries import load_regions
from geo.index import RegionIndex
from streams.consumer import Consumer, announce_regions, build_stores
from tests.events import case_data, complaint_data, entry, inspection_data, issued_data, scan_data
from tests.integration.state import dump_state

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def geo():
    regions = load_regions(load_settings(environ={}))
    return regions, RegionIndex(regions)


def at(minute: int) -> str:
    return f"2026-11-2{1 + minute // 1440}T{(minute // 60) % 24:02d}:{minute % 60:02d}:00+08:00"


def scenario(n_licences: int = 60, seed: int = 1) -> list[tuple[str, dict]]:
    """An ordered sequence of (source, entry) for all five sources, with distinct times per licence."""
    rng = random.Random(seed)
    out: list[tuple[str, dict]] = []
    for i in range(n_licences):
        no = f"320102{i:06d}"
        lon, lat = 118.70 + rng.random() * 0.2, 32.00 + rng.random() * 0.1
        out.append(
            ("licence", entry(data=issued_data(no, lon=lon, lat=lat), event_id=f"l{i}-0", occurred_at=at(i)))
        )
        steps = [
            ("licence.suspended", {"licence_no": no, "reason": "整改"}),
            (
                "licence.changed",
                {
                    "licence_no": no,
                    "shop_name": f"新店{i}",
                    "point": {"lon": lon + 0.01, "lat": lat, "crs": "gcj02"},
                },
            ),
            ("licence.revoked", {"licence_no": no, "reason": "吊销"}),
            ("licence.renewed", {"licence_no": no, "valid_to": "2031-01-01"}),
        ]
        for k, (kind, data) in enumerate(rng.sample(steps, rng.randint(0, 4))):
            out.append(
                ("licence", entry(kind, data, event_id=f"l{i}-{k + 1}", occurred_at=at(100 + i * 5 + k)))
            )
        out.append(
            (
                "inspection",
                entry(
                    "inspection.completed",
                    inspection_data(f"i{i}", no, rng.choice(["ok", "issues_found"]), finished=at(400 + i)),
                    event_id=f"i{i}",
                    occurred_at=at(400 + i),
                ),
            )
        )
        out.append(
            (
                "scan",
                entry(
                    "scan.recorded",
                    scan_data(f"{i:032d}", rng.choice([320102, 320302])),
                    event_id=f"s{i}",
                    occurred_at=at(500 + i),
                ),
            )
        )
    for k in range(10):
        out.append(
            ("case", entry("case.opened", case_data(f"k{k}"), event_id=f"ko{k}", occurred_at=at(600 + k)))
        )
        if k % 2:
            closed = {"case_id": f"k{k}", "result": "penalised", "penalty_cny": 100 * k}
            out.append(("case", entry("case.closed", closed, event_id=f"kc{k}", occurred_at=at(700 + k))))
        out.append(
            (
                "complaint",
                entry(
                    "complaint.received", complaint_data(f"c{k}"), event_id=f"c{k}", occurred_at=at(800 + k)
                ),
            )
        )
    return out


def run(r, settings, geo, events, batch_size: int | None = None) -> dict:
    regions, index = geo
    if batch_size:
        settings = settings.model_copy(
            update={"consumer": settings.consumer.model_copy(update={"batch_size": batch_size})}
        )
    c = Consumer(
        r, settings, build_stores(r, settings, regions, index), announce_regions(settings, regions), "t"
    )
    c.ensure_groups()
    for source, e in events:
        r.xadd(keys.inbound(source), e)
    while c.run_once(block_ms=1).read:
        pass
    return dump_state(r)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duplicates_and_shuffled_order_give_the_oracle_state(redis_client, settings, geo, seed):
    events = scenario(seed=seed)
    oracle = run(redis_client, settings, geo, events)
    assert oracle[keys.licence_counts("valid").encode()]  # the scenario does leave something to compare

    rng = random.Random(seed)
    messy = events + rng.sample(events, len(events) // 3)  # a third of them twice
    rng.shuffle(messy)
    redis_client.flushall()
    assert run(redis_client, settings, geo, messy, batch_size=7) == oracle


def test_a_consumer_killed_mid_batch_and_restarted_leaves_the_oracle_state(
    redis_client, settings, geo, redis_server, tmp_path
):
    events = scenario(n_licences=400, seed=9)
    oracle = run(redis_client, settings, geo, events)
    redis_client.flushall()
    for source, e in events:
        redis_client.xadd(keys.inbound(source), e)

    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHFLOOR_")}
    env |= {
        "WATCHFLOOR_REDIS_URL": redis_server.url,
        "WATCHFLOOR_CONSUMER_BATCH_SIZE": "50",
        "WATCHFLOOR_CONSUMER_NAME": "killed",
        "WATCHFLOOR_WORKER_INDICATOR_DEBOUNCE_SECONDS": "3600",
    }
    log = open(tmp_path / "consumer.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams.consumer"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    # kill it as soon as it has applied something but not everything
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = int(redis_client.hget(keys.source_status("licence"), "applied") or 0)
        if done > 0:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    remaining = sum(
        redis_client.xinfo_groups(keys.inbound(s))[0]["lag"] or 0
        for s in ("licence", "inspection", "case", "scan", "complaint")
    )
    pending = sum(
        redis_client.xpending(keys.inbound(s), "ingest")["pending"]
        for s in ("licence", "inspection", "case", "scan", "complaint")
    )
    assert remaining + pending > 0, "the consumer finished before it was killed: nothing was tested"

    # restarted under the same name it re-reads its pending entries, then goes on
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams.consumer"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lag = sum(
                (redis_client.xinfo_groups(keys.inbound(s))[0]["lag"] or 0)
                + redis_client.xpending(keys.inbound(s), "ingest")["pending"]
                for s in ("licence", "inspection", "case", "scan", "complaint")
            )
            if lag == 0:
                break
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(10)
    assert dump_state(redis_client) == oracle
