"""A batch applied at once leaves exactly the state of its events applied one by one, duplicates included.

The apply scripts merge work per batch (counters summed, days once, coverage moves settled once per
licence, the latest inspection per licence, a batch with ids seen before sent again without them);
this compares every key they write — observations and dirty days included — with the
same events applied one at a time in the same order.
"""

from __future__ import annotations

import random

import pytest
import redis

from core import keys
from core.settings import load_settings
from geo.boundaries import load_regions
from geo.index import RegionIndex
from streams.consumer import build_stores
from streams.schema import parse_entry
from tests.events import case_data, complaint_data, entry, inspection_data, issued_data, scan_data
from tests.integration.state import _value  # JSON records with each field's effective version

XUZHOU = {"lon": 117.18, "lat": 34.26, "crs": "wgs84"}  # far from Nanjing, in another county
SKIPPED = (b"wf:lic:version", b"wf:src:")  # a version per call; the time of the last call


@pytest.fixture(scope="module")
def geo():
    regions = load_regions(load_settings(environ={}))
    return regions, RegionIndex(regions)


def at(minute: int) -> str:
    return f"2026-11-{21 + minute // 1440}T{(minute // 60) % 24:02d}:{minute % 60:02d}:00+08:00"


def licences(n: int, rng: random.Random) -> list[dict]:
    out = []
    for i in range(n):
        no = f"320102{i:06d}"
        lon, lat = 118.70 + rng.random() * 0.2, 32.00 + rng.random() * 0.1
        out.append(entry(data=issued_data(no, lon=lon, lat=lat), event_id=f"l{i}", occurred_at=at(i)))
        steps = [
            ("licence.suspended", {"licence_no": no, "reason": "整改"}),
            ("licence.renewed", {"licence_no": no, "valid_to": "2031-01-01"}),
            ("licence.changed", {"licence_no": no, "point": XUZHOU}),
            ("licence.changed", {"licence_no": no, "holder": f"持证人{i % 3}"}),
            ("licence.revoked", {"licence_no": no, "reason": "吊销"}),
            ("licence.expired", {"licence_no": no, "reason": "到期"}),
        ]
        for k in range(rng.randint(0, 5)):  # any order, repeats allowed: back and forth between sets
            kind, data = rng.choice(steps)
            out.append(
                entry(kind, data, event_id=f"l{i}-{k}", occurred_at=at(60 + i * 7 + rng.randint(0, 6)))
            )
    return out


def others(n: int, rng: random.Random, tag: str, day: int) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for i in range(n):
        no = f"320102{rng.randrange(n):06d}"
        when = at(day * 1440 + 600 + i)
        point = XUZHOU if rng.random() < 0.2 else None
        over = {"point": point} if point else {}
        finished = at(600 + rng.randint(0, 2000))  # any order: the latest inspection must win
        insp = inspection_data(
            f"{tag}i{i}", no, rng.choice(["ok", "issues_found"]), finished=finished, **over
        )
        out.append(
            ("inspection", entry("inspection.completed", insp, event_id=f"{tag}i{i}", occurred_at=when))
        )
        scan = scan_data(f"{i:030d}{tag.upper():0>2}", rng.choice([320102, 320302]), licence_no=no, **over)
        out.append(("scan", entry("scan.recorded", scan, event_id=f"{tag}s{i}", occurred_at=when)))
        if i % 4 == 0:
            value = rng.choice([0.0, 1234.4, 99.5])
            case = case_data(f"k{i % 12}", value_cny=value, licence_no=no)
            out.append(("case", entry("case.opened", case, event_id=f"{tag}ko{i}", occurred_at=when)))
            closed = {"case_id": f"k{(i + 4) % 12}", "result": "penalised", "penalty_cny": i}
            out.append(("case", entry("case.closed", closed, event_id=f"{tag}kc{i}", occurred_at=at(i))))
            complaint = complaint_data(f"c{i % 9}", text=f"第{i}条")
            out.append(
                ("complaint", entry("complaint.received", complaint, event_id=f"{tag}c{i}", occurred_at=when))
            )
    return out


def dump(r: redis.Redis) -> dict:
    out: dict = {}
    for key in r.scan_iter(match=b"wf:*", count=1000):
        if key.startswith(SKIPPED):
            continue
        kind = r.type(key)
        if kind == b"hash":  # a counter back at 0 may be absent instead (licence counts skip a net 0)
            out[key] = {f: _value(v) for f, v in r.hgetall(key).items() if v != b"0"}
        elif kind == b"set":
            out[key] = r.smembers(key)
        elif kind == b"zset":
            out[key] = r.zrange(key, 0, -1, withscores=True)
        else:
            out[key] = r.get(key)
    return out


def apply(stores, source: str, entries: list[dict], one_by_one: bool) -> None:
    store = stores[source]
    events = [parse_entry(source, e) for e in entries]
    places, errors = store.place(events)
    assert not any(errors)
    if one_by_one:
        for e, p in zip(events, places, strict=True):
            store.apply([e], [p])
    else:
        store.apply(events, places)


def play(r, stores, phases, one_by_one: bool) -> dict:
    r.flushall()
    for source, entries in phases:
        apply(stores, source, entries, one_by_one)
    return dump(r)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_batch_at_once_equals_its_events_one_by_one(redis_client, settings, geo, seed):
    r = redis_client
    regions, index = geo
    stores = build_stores(r, settings, regions, index)
    rng = random.Random(seed)
    lic = licences(60, rng)
    lic += rng.sample(lic, 15)  # duplicates within the batch
    before, after = others(40, rng, "a", 0), others(120, rng, "b", 1)
    phases: list[tuple[str, list[dict]]] = []
    for group in (before, None, after):
        if group is None:  # the licences, after some inspections that named them before they existed
            phases.append(("licence", lic[: len(lic) // 2]))
            phases.append(("licence", lic))  # the first half again: seen before, within a new batch
            continue
        for source in ("inspection", "scan", "case", "complaint"):
            entries = [e for s, e in group if s == source]
            dups = rng.sample(entries, len(entries) // 4)
            phases.append((source, entries[: len(entries) // 3]))
            phases.append((source, entries + dups))  # a third seen before, a quarter twice in the batch
    sequential = play(r, stores, phases, one_by_one=True)
    assert sequential[keys.observations("far").encode()]  # the scenario exercises what it compares
    assert sequential[keys.observations("inactive").encode()]
    assert any(k.startswith(b"wf:cov:") for k in sequential)
    assert play(r, stores, phases, one_by_one=False) == sequential
