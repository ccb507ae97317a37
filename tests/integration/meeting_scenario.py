"""Demo-like data for the meeting tests and screenshots: shops in every county, 90 days of inspections,
cases, complaints and scans, and open warnings, fed through the real consumer, with the indicators
computed by the real job at ``now``.

The events are generated from a seeded random generator, and :class:`Scenario` keeps what was sent
(per county and day), so a test can check the screen against the events rather than against numbers
copied from the screen.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import redis

from alerts.store import upsert_warnings
from core.settings import Settings
from geo.boundaries import Regions
from geo.index import RegionIndex
from indicators import jobs
from indicators.compute import CST
from streams.consumer import Consumer, announce_regions, build_stores
from tests.events import case_data, complaint_data, entry, inspection_data, issued_data, scan_data

H = 3_600_000
SHOP_NAMES = ["王记便利店", "李家烟酒商行", "张氏食杂店", "苏果超市", "惠民便利店", "金陵烟酒", "平价超市"]


@dataclass
class Scenario:
    """What was sent: shops per county, and counts per (county, day, kind)."""

    now: dt.datetime
    shops: dict[int, list[str]] = field(default_factory=dict)
    points: dict[str, tuple[float, float]] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)  # (county, yyyymmdd, kind) → n

    def daily(self, kind: str, prefix: str, days: list[int]) -> list[int]:
        """Events of ``kind`` in the counties starting with ``prefix`` on each of ``days``."""
        return [
            sum(
                n
                for (c, d, k), n in self.counts.items()
                if d == day and k == kind and str(c).startswith(prefix)
            )
            for day in days
        ]


def _iso(t: dt.datetime) -> str:
    return t.astimezone(CST).isoformat(timespec="seconds")


def _point(lon: float, lat: float) -> dict:
    return {"lon": lon, "lat": lat, "crs": "wgs84"}


def seed(
    r: redis.Redis, settings: Settings, regions: Regions, now: dt.datetime, shops_per_county: int = 4,
    days: int = 90, seed_: int = 7,
) -> Scenario:  # fmt: skip
    """Send the events, apply them with the consumer, raise warnings, compute the indicators at ``now``."""
    rng = np.random.default_rng(seed_)
    sc = Scenario(now)
    counties = regions.counties
    today = now.astimezone(CST).replace(hour=0, minute=0, second=0, microsecond=0)
    pipe = r.pipeline(transaction=False)
    n_events = 0

    def add(kind: str, data: dict, when: dt.datetime) -> None:
        nonlocal n_events
        n_events += 1
        pipe.xadd(
            f"wf:in:{kind.split('.')[0]}", entry(kind, data, event_id=f"m-{n_events}", occurred_at=_iso(when))
        )

    for i, (code, geom) in enumerate(zip(counties["adcode"], counties.geometry, strict=True)):
        code = int(code)
        inner = geom.buffer(-0.006)  # shops jitter around a point well inside the county
        spot = inner.representative_point() if not inner.is_empty else geom.representative_point()
        lon, lat = spot.x, spot.y
        nos = []
        for k in range(shops_per_county):
            no = f"{code}{k + 1:06d}"
            x, y = lon + rng.uniform(-0.004, 0.004), lat + rng.uniform(-0.004, 0.004)
            name = SHOP_NAMES[(i + k) % len(SHOP_NAMES)]
            add("licence.issued", issued_data(no, x, y, shop_name=name), today - dt.timedelta(days=days + 5))
            nos.append(no)
            sc.points[no] = (x, y)
        sc.shops[code] = nos
        city_bias = (code // 100 % 100) / 13  # cities differ, so rankings have a shape
        for back in range(days):
            day = today - dt.timedelta(days=back)
            if back == 0 and now.astimezone(CST).hour < 9:
                continue  # nothing has happened yet today
            ymd = day.year * 10000 + day.month * 100 + day.day
            n = int(rng.poisson(1.2 + city_bias))
            for j in range(n):
                bad = rng.random() < 0.1 + 0.25 * city_bias
                when = day + dt.timedelta(hours=9, minutes=int(rng.integers(0, 300)))
                no = nos[j % len(nos)]
                add("inspection.completed", inspection_data(
                    f"i-{code}-{back}-{j}", no, "issues_found" if bad else "ok", _iso(when),
                    point=_point(*sc.points[no]), started_at=_iso(when - dt.timedelta(minutes=20)),
                ), when)  # fmt: skip
                sc.counts[(code, ymd, "inspections")] += 1
            if rng.random() < 0.08 + 0.1 * city_bias:
                when = day + dt.timedelta(hours=10)
                no = nos[back % len(nos)]
                value = float(rng.integers(500, 30000))
                where = _point(*sc.points[no])
                data = case_data(f"k-{code}-{back}", value_cny=value, point=where, licence_no=no)
                add("case.opened", data, when)
                sc.counts[(code, ymd, "cases")] += 1
            if rng.random() < 0.1:
                when = day + dt.timedelta(hours=15)
                add("complaint.received", complaint_data(f"c-{code}-{back}", point=_point(lon, lat)), when)
                sc.counts[(code, ymd, "complaints")] += 1
            if back < 30 and rng.random() < 0.3:
                when = day + dt.timedelta(hours=11)
                carton = f"{code}{back:04d}".ljust(32, "0")
                where = _point(lon, lat)
                data = scan_data(carton, code, point=where, scanned_at=_iso(when), licence_no=nos[0])
                add("scan.recorded", data, when)
    pipe.execute()
    stores = build_stores(r, settings, regions, RegionIndex(regions))
    consumer = Consumer(r, settings, stores, announce_regions(settings, regions))
    consumer.ensure_groups()
    while consumer.run_once(block_ms=1).read:
        pass
    now_ms = int(now.timestamp() * 1000)
    warn = [
        _warning(320102, 1, "case_cluster", 1, sc.shops[320102][0]),
        _warning(320104, 2, "complaint_spike", 2, sc.shops[320104][0]),
        _warning(320115, 3, "inspection_silence", 3, None),
        _warning(320505, 1, "corridor_surge", 4, sc.shops[320505][0]),
        _warning(320311, 2, "coverage_gap", 5, None),
    ]
    upsert_warnings(r, warn, now_ms - 3 * H, 24 * H, 50)
    jobs.run(r, jobs.job_params(settings), now_ms, full=True)
    return sc


def _warning(county: int, level: int, kind: str, n: int, licence: str | None) -> dict:
    return {
        "type": kind, "condition": f"{kind}:{county}:{n}", "level": level, "region": county,
        "regions": [county],
        "place": None, "facts": {"count": 10 + n, "baseline": 2.5},
        "evidence": {"licences": [licence] if licence else [], "events": [f"e-{n}"]},
    }  # fmt: skip
