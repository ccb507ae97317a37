"""Events through the consumer → the warning job on a real RQ worker → warnings equal to an oracle.

The oracle derives the detectors' inputs from the event list alone (placing points with the region
index, replaying licence status), runs the same pure detectors and compares with what the job left
in Redis. Also: one warning per condition across runs, a failing job retried by RQ, a worker killed
mid-job whose job RQ retries, and scheduling that never piles up.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson
import pandas as pd
import pytest
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry

from alerts.store import (
    colour_of,
    list_open,
    live_conditions,
    open_by_condition,
    read_warning,
    upsert_warnings,
)
from core import keys
from core.settings import load_settings
from geo.boundaries import load_regions
from geo.index import RegionIndex
from indicators import warning_jobs
from indicators.warning_inputs import Inputs, seats
from indicators.warning_jobs import (
    DETECT_JOB_ID,
    PERIODIC_JOB_ID,
    candidates,
    ensure_periodic,
    job_config,
    run_detection,
    schedule_warnings,
)
from indicators.warnings import DAY_MS, LicencePlace, day_of
from streams.consumer import Consumer, announce_regions, build_stores
from tests.events import case_data, complaint_data, entry, inspection_data, issued_data, scan_data

ROOT = Path(__file__).resolve().parents[2]
CST = dt.timezone(dt.timedelta(hours=8))
NOW = int(dt.datetime(2026, 11, 20, 15, 0, tzinfo=CST).timestamp() * 1000)  # Friday 15:00
FIELDS = ("type", "level", "colour", "region", "regions", "place", "facts", "evidence")


@pytest.fixture(scope="module")
def geo():
    settings = load_settings(environ={})
    regions = load_regions(settings)
    return regions, RegionIndex(regions), seats(str(settings.path(settings.geo.data_dir)))


def at(day: int, hour: float) -> str:
    """ISO time on November ``day`` 2026 at ``hour`` (fractions are minutes) local time."""
    h, m = int(hour), round((hour % 1) * 60)
    return f"2026-11-{day:02d}T{h:02d}:{m:02d}:00+08:00"


def pt(lon: float, lat: float) -> dict:
    return {"lon": round(lon, 6), "lat": round(lat, 6), "crs": "wgs84"}


def scenario(seat: dict[int, tuple[float, float]]) -> list[tuple[str, dict]]:
    """Monday 16 to Friday 20 November: one of each injected pattern, plus the history they need."""
    seat = {c: (round(x, 6), round(y, 6)) for c, (x, y) in seat.items()}  # as the meta stores them
    lic = {
        "320102000001": seat[320102],
        "320104000002": seat[320104],
        "320105000003": seat[320105],
        "320106000004": seat[320106],
        "320205000005": seat[320205],
        "320281000006": seat[320281],
        "320582000007": seat[320582],
    }
    out: list[tuple[str, dict]] = []

    def add(source: str, kind: str, data: dict, when: str, eid: str) -> None:
        out.append((source, entry(kind, data, event_id=eid, occurred_at=when)))

    for no, (lon, lat) in lic.items():
        add("licence", "licence.issued", issued_data(no, lon=lon, lat=lat), at(16, 8), f"l-{no}")
    n = 0

    def scan(no: str, region: int, where: tuple[float, float], when: str) -> None:
        nonlocal n
        n += 1
        data = scan_data(f"{n:032d}", licence_region=region, licence_no=no, scanned_at=when, point=pt(*where))
        add("scan", "scan.recorded", data, when, f"s-{n}")

    # corridor 江阴 → 张家港: 5 cartons a day, then 40 on Friday, scattered over the county
    x, y = seat[320582]
    for day, count in [(16, 5), (17, 5), (18, 5), (19, 5), (20, 40)]:
        for i in range(count):
            scan("320281000006", 320281, (x + (i % 7) * 0.004, y + (i % 5) * 0.004), at(day, 9 + i * 0.1))
    # licence 320102000001 used at one shop 3 km east of its own: 6 scans and 2 inspections
    x, y = seat[320102]
    elsewhere = (x + 3 / 94.4, y)
    for i in range(6):
        scan("320102000001", 320102, elsewhere, at(19 + i // 4, 10 + i % 4))
    for i, day in enumerate([19, 20]):
        data = inspection_data(f"mis-{i}", "320102000001", point=pt(*elsewhere))
        data |= {"started_at": at(day, 9), "finished_at": at(day, 9.5)}
        add("inspection", "inspection.completed", data, at(day, 9.5), f"i-mis-{i}")
    # 320104000002 suspended Thursday 09:00, then 13 cartons delivered and scanned at its shop
    add("licence", "licence.suspended", {"licence_no": "320104000002", "reason": "整改"}, at(19, 9), "l-susp")
    for i in range(13):
        scan("320104000002", 320104, seat[320104], at(19 + i // 7, 9.5 + i % 7))
    # three licences in three counties change to one holder on Wednesday
    for i, no in enumerate(["320105000003", "320106000004", "320205000005"]):
        add("licence", "licence.changed", {"licence_no": no, "holder": "赵六"}, at(18, 10 + i), f"l-h{i}")
    # three counterfeit cases around the border of 玄武 and 秦淮, Tuesday to Thursday
    (ax, ay), (bx, by) = seat[320102], seat[320104]
    for i, (f, day) in enumerate([(0.2, 17), (0.8, 18), (0.3, 19)]):
        data = case_data(f"AJ-{i}", point=pt(ax + f * (bx - ax), ay + f * (by - ay)))
        add("case", "case.opened", data, at(day, 11), f"k-{i}")
    # inspections: 建邺 and 鼓楼 30 a day; 鼓楼 stops on Thursday
    for day in range(16, 21):
        for county, no in [(320105, "320105000003"), (320106, "320106000004")]:
            if county == 320106 and day >= 19:
                continue
            for i in range(20 if day == 20 else 30):
                data = inspection_data(f"{county}-{day}-{i}", no, point=pt(*seat[county]))
                data |= {"started_at": at(day, 8 + i * 0.2), "finished_at": at(day, 8.1 + i * 0.2)}
                add(
                    "inspection",
                    "inspection.completed",
                    data,
                    at(day, 8.1 + i * 0.2),
                    f"i-{county}-{day}-{i}",
                )
    # complaints in 浦口: one a day, then 12 on Friday morning
    x, y = seat[320111]
    for day, count in [(16, 1), (17, 1), (18, 1), (19, 1), (20, 12)]:
        for i in range(count):
            data = complaint_data(f"c-{day}-{i}", point=pt(x + i * 0.001, y), address=None)
            add("complaint", "complaint.received", {k: v for k, v in data.items() if v is not None},
                at(day, 9 + i * 0.4), f"c-{day}-{i}")  # fmt: skip
    return sorted(out, key=lambda e: e[1]["occurred_at"])


def ms(iso: str | bytes) -> int:
    return int(dt.datetime.fromisoformat(iso.decode() if isinstance(iso, bytes) else iso).timestamp() * 1000)


def km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """The ingest script's distance (streams/lua/apply_effects.lua), rounded as it stores it."""
    r = math.pi / 180
    a = (
        math.sin((lat2 - lat1) * r / 2) ** 2
        + math.cos(lat1 * r) * math.cos(lat2 * r) * math.sin((lon2 - lon1) * r / 2) ** 2
    )
    return float(f"{12742 * math.asin(math.sqrt(a)):.2f}")


def oracle(events: list[tuple[str, dict]], index: RegionIndex, far_km: float) -> Inputs:
    """The detectors' inputs derived from the events alone (no Redis)."""
    lic: dict[str, LicencePlace] = {}
    suspended: dict[str, int] = {}
    flows: Counter = Counter()
    inspections: Counter = Counter()
    complaints: Counter = Counter()
    far, inactive, holders, cases, records = [], [], [], [], []
    for _source, e in events:
        data, t, eid = orjson.loads(e["data"]), ms(e["occurred_at"]), e["id"]
        day, kind = day_of(t), e["type"]
        p = data.get("point")
        county = int(index.lookup_one(p["lon"], p["lat"])) if p else None
        if kind == "licence.issued":
            lic[data["licence_no"]] = LicencePlace(county, county // 100 * 100, p["lon"], p["lat"])
        elif kind == "licence.suspended":
            suspended[data["licence_no"]] = t
        elif kind == "licence.changed":
            holders.append((data["holder"], data["licence_no"], t))
        elif kind == "case.opened":
            cases.append((data["case_id"], data["kind"], t, p["lon"], p["lat"], county, "point"))
        elif kind == "complaint.received":
            complaints[(day, county)] += 1
            records.append((data["complaint_id"], t, p["lon"], p["lat"], county, "point"))
        else:
            no = data["licence_no"]
            if kind == "scan.recorded":
                flows[(day, data["licence_region"], county)] += 1
                if suspended.get(no, t + 1) <= t:
                    inactive.append((no, eid, t))
            else:
                inspections[(day, county)] += 1
            home = lic[no]
            d = km(p["lon"], p["lat"], home.lon, home.lat)
            if d > far_km:
                far.append((no, eid, d, county, t))
    frame = pd.DataFrame
    flow_rows = [(d, s, c, n) for (d, s, c), n in flows.items() if s != c]
    complaint_frame = frame(records, columns=["complaint_id", "t", "lon", "lat", "county", "placed_by"])
    return Inputs(
        scan_days=sorted({d for d, _, _ in flows}),
        flows=frame(flow_rows, columns=["day", "src", "dst", "cartons"]),
        far=frame(far, columns=["licence_no", "event_id", "km", "county", "t"]),
        inactive=frame(inactive, columns=["licence_no", "event_id", "t"]),
        holders=frame(holders, columns=["holder", "licence_no", "t"]),
        cases=frame(cases, columns=["case_id", "kind", "t", "lon", "lat", "county", "placed_by"]),
        inspection_days=sorted({d for d, _ in inspections}),
        inspections=frame([(*k, n) for k, n in inspections.items()], columns=["day", "county", "inspections"]),  # noqa: E501
        first_inspection_ms=None,
        coverage=None,
        flagged_gaps=set(),
        complaint_days=sorted({d for d, _ in complaints}),
        complaints=frame([(*k, n) for k, n in complaints.items()], columns=["day", "county", "complaints"]),
        places=lambda nos: {n: lic[n] for n in nos if n in lic},
        complaint_records=lambda counties, days: complaint_frame[complaint_frame["county"].isin(counties)],
    )  # fmt: skip


def feed(r, settings, geo, events) -> None:
    regions, index, _ = geo
    consumer = Consumer(
        r, settings, build_stores(r, settings, regions, index), announce_regions(settings, regions)
    )
    consumer.ensure_groups()
    pipe = r.pipeline(transaction=False)
    for source, fields in events:
        pipe.xadd(keys.inbound(source), fields)
    pipe.execute()
    while consumer.run_once(block_ms=1).read:
        pass
    assert r.xlen(keys.DEAD) == 0
    # the consumer asked for detection and indicator runs on the wall clock after its batches; these
    # tests schedule their own at the scenario's time
    for key in r.scan_iter("rq:*"):
        r.delete(key)
    r.delete(keys.indicator_debounce("warnings"))


def expected(events, geo, settings, now_ms: int = NOW) -> dict[str, dict]:
    cands = candidates(oracle(events, geo[1], settings.warnings.far_km), job_config(settings), now_ms)
    out = {c.condition: {k: v for k, v in c.as_dict().items() if k in FIELDS} for c in cands}
    return {c: w | {"colour": colour_of(w["level"])} for c, w in out.items()}


def stored(r) -> dict[str, dict]:
    got = open_by_condition(r)
    assert r.hlen(keys.WARNINGS) == len(got) == r.zcard(keys.OPEN_WARNINGS)  # one warning per condition
    return {c: {k: w[k] for k in FIELDS} for c, w in got.items()}


ALL_TYPES = {
    "corridor_surge",
    "licence_used_elsewhere",
    "suspended_licence_receiving_goods",
    "holder_with_several_licences",
    "case_cluster",
    "inspection_silence",
    "complaint_spike",
}


def test_events_in_warnings_out_equal_the_oracle(redis_client, settings, geo):
    r, events = redis_client, scenario(geo[2])
    feed(r, settings, geo, events)
    sub = r.pubsub(ignore_subscribe_messages=True)
    sub.subscribe(keys.UPDATES)
    assert schedule_warnings(r, settings, now_ms=NOW) is True
    SimpleWorker([Queue(settings.worker.queue, connection=r)], connection=r).work(burst=True)

    want = expected(events, geo, settings)
    assert {w["type"] for w in want.values()} == ALL_TYPES  # the scenario shows every pattern once
    assert stored(r) == want
    cluster = next(w for w in want.values() if w["type"] == "case_cluster")
    assert cluster["facts"]["border"] == "county" and cluster["region"] == 320100
    messages = [orjson.loads(m["data"]) for _ in range(5) if (m := sub.get_message(timeout=0.5))]
    message = next(m for m in messages if m["topic"] == "warnings")
    assert len(message["raised"]) == len(want) and 320100 in message["regions"]


def test_the_same_condition_updates_its_warning(redis_client, settings, geo):
    r, events = redis_client, scenario(geo[2])
    feed(r, settings, geo, events)
    cfg = job_config(settings)
    first = run_detection(r, cfg, NOW)
    assert len(first.raised) == 7 and not first.updated
    raised = {c: w["raised_at"] for c, w in open_by_condition(r).items()}
    before = stored(r)
    more = []
    for i in range(3):  # three more cartons for the suspended licence, half an hour later
        when = at(20, 15.25 + i * 0.1)
        data = scan_data(f"X{i:031d}", licence_region=320104, licence_no="320104000002", scanned_at=when)
        more.append(("scan", entry("scan.recorded", data | {"point": pt(*geo[2][320104])}, event_id=f"m{i}",
                                   occurred_at=when)))  # fmt: skip
    feed(r, settings, geo, more)
    later = NOW + 3_600_000
    second = run_detection(r, cfg, later)
    assert not second.raised and len(second.updated) >= 1
    now = open_by_condition(r)
    assert {c: w["raised_at"] for c, w in now.items()} == raised  # same warnings, same raise times
    goods = now["suspended_licence_receiving_goods:320104000002"]
    assert goods["facts"]["cartons"] == 16 and goods["evidence"]["events"][-3:] == ["m0", "m1", "m2"]
    assert goods["updated_at"] == goods["seen_at"] == later
    want, got = expected(events + more, geo, settings, later), stored(r)
    assert got.keys() == want.keys() == before.keys()
    for cond, w in want.items():  # the oracle of the later run, but the level only ever escalates
        fading = w["level"] > before[cond]["level"]
        assert got[cond] == (w | {k: before[cond][k] for k in ("level", "colour", "facts")} if fading else w)


def test_a_job_that_fails_once_is_retried(redis_client, settings, geo, monkeypatch):
    r, events = redis_client, scenario(geo[2])
    feed(r, settings, geo, events)
    real, calls = warning_jobs.detect, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("Redis blip")
        return real(*args, **kwargs)

    monkeypatch.setattr(warning_jobs, "detect", flaky)
    schedule_warnings(r, settings, now_ms=NOW)
    SimpleWorker([Queue(settings.worker.queue, connection=r)], connection=r).work(burst=True)
    assert len(calls) == 2
    assert Job.fetch(DETECT_JOB_ID, connection=r).get_status() == JobStatus.FINISHED
    assert stored(r) == expected(events, geo, settings)


KILLER = """
import os, signal, sys
import redis
from rq import Queue, SimpleWorker
from indicators import warning_jobs
real = warning_jobs.upsert_warnings
def upsert_then_die(*args, **kwargs):
    real(*args, **kwargs)            # the warnings are written ...
    os.kill(os.getpid(), signal.SIGKILL)  # ... and the worker dies before it finishes the job
warning_jobs.upsert_warnings = upsert_then_die
r = redis.Redis.from_url(sys.argv[1])
SimpleWorker([Queue(sys.argv[2], connection=r)], connection=r).work(burst=True)
"""


def test_a_worker_killed_mid_job_is_retried_and_the_result_is_right(redis_client, settings, geo):
    r, events = redis_client, scenario(geo[2])
    feed(r, settings, geo, events)
    schedule_warnings(r, settings, now_ms=NOW)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, settings.redis.url, settings.worker.queue],
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL
    queue = Queue(settings.worker.queue, connection=r)
    assert Job.fetch(DETECT_JOB_ID, connection=r).get_status() == JobStatus.STARTED
    # what RQ's maintenance does once the dead worker's lease has run out: retry the abandoned job
    StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 10 * DAY_MS / 1000)
    SimpleWorker([queue], connection=r).work(burst=True)
    assert Job.fetch(DETECT_JOB_ID, connection=r).get_status() == JobStatus.FINISHED
    assert stored(r) == expected(events, geo, settings)  # rewritten, not duplicated


def test_scheduling_never_piles_up(redis_client, settings_for):
    r = redis_client
    settings = settings_for(WATCHFLOOR_WARNINGS_DEBOUNCE_SECONDS="0")
    queue = Queue(settings.worker.queue, connection=r)
    assert schedule_warnings(r, settings) is True
    assert schedule_warnings(r, settings) is False  # the first is still queued
    assert queue.job_ids == [DETECT_JOB_ID]
    debounced = settings_for(WATCHFLOOR_WARNINGS_DEBOUNCE_SECONDS="60")
    r.flushall()
    assert schedule_warnings(r, debounced) is True and schedule_warnings(r, debounced) is False
    assert ensure_periodic(r, settings) is True
    assert ensure_periodic(r, settings) is False
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == [PERIODIC_JOB_ID]


def test_the_store_escalates_only_and_rearms_after_a_quiet_spell(redis_client):
    r = redis_client
    hour = 3_600_000

    def cand(level: int, n: int, ev: list[str]) -> dict:
        return {
            "type": "complaint_spike",
            "condition": "complaint_spike:320111",
            "level": level,
            "region": 320111,
            "regions": [320111],
            "place": None,
            "facts": {"complaints": n},
            "evidence": {"complaints": ev},
        }

    first = upsert_warnings(r, [cand(2, 14, ["a", "b"])], NOW, 24 * hour, cap=3)
    (wid,) = first.raised
    assert upsert_warnings(r, [cand(4, 9, ["b", "c"])], NOW + hour, 24 * hour, cap=3).updated == [wid]
    w = read_warning(r, wid)
    assert (w["colour"], w["facts"], w["evidence"]) == (
        "orange",
        {"complaints": 14},
        {"complaints": ["a", "b", "c"]},
    )
    assert upsert_warnings(r, [cand(1, 30, ["d"])], NOW + 2 * hour, 24 * hour, cap=3).updated == [wid]
    w = read_warning(r, wid)
    assert (w["colour"], w["facts"], w["evidence"]["complaints"]) == (
        "red",
        {"complaints": 30},
        ["b", "c", "d"],
    )
    same = upsert_warnings(r, [cand(1, 30, ["d"])], NOW + 3 * hour, 24 * hour, cap=3)
    assert same.unchanged == [wid] and read_warning(r, wid)["updated_at"] == NOW + 2 * hour
    assert read_warning(r, wid)["seen_at"] == NOW + 3 * hour
    again = upsert_warnings(r, [cand(3, 12, ["e"])], NOW + 30 * hour, 24 * hour, cap=3)  # a new incident
    assert again.raised and again.raised != [wid] and r.zcard(keys.OPEN_WARNINGS) == 2
    assert open_by_condition(r)["complaint_spike:320111"]["id"] == again.raised[0]
    assert [w["id"] for w in list_open(r, scope=320100)] == [wid, again.raised[0]]  # most severe first
    assert list_open(r, scope=320200) == []
    assert live_conditions(r, "complaint_spike", NOW + 40 * hour, 24 * hour) == {"complaint_spike:320111"}
    assert live_conditions(r, "complaint_spike", NOW + 60 * hour, 24 * hour) == set()


def test_an_empty_redis_gives_no_warnings(redis_client, settings):
    result = run_detection(redis_client, job_config(settings), NOW)
    assert (result.raised, result.updated, redis_client.hlen(keys.WARNINGS)) == ([], [], 0)
