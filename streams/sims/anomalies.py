"""Injected anomalies: every simulated week gets one of each, written with its ground truth.

The schedule of a week (Monday 00:00 to the next Monday, Beijing time) is a pure function of the
seed and the week. Each :class:`Anomaly` carries the rows it adds to the sources (the source modules
turn them into events with the ids listed in :meth:`Anomaly.record`), licence events of its own, or
— for a silent county — the days on which that county's inspections are dropped.
See docs/simulator.md for the scenario.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from streams.sims import clock, complaints, scans
from streams.sims.misuse import one_holder, suspended_goods, used_elsewhere
from streams.sims.truth import Anomaly, county_by_licences, scan_rows, week_of
from streams.sims.world import M_PER_DEG, World

__all__ = ["Anomaly", "week", "week_of"]


def corridor(w: World, monday: dt.date, rng: np.random.Generator, aid: str) -> Anomaly:
    pairs = [(i, j) for i, j in w.neighbours if w.cities[i] != w.cities[j] and w.count[i] and w.count[j]]
    if w.corridors and rng.random() < 0.5:
        src, dst = w.corridors[rng.integers(len(w.corridors))]
    else:
        src, dst = pairs[rng.integers(len(pairs))]
        src, dst = (src, dst) if rng.random() < 0.5 else (dst, src)
    start = (
        clock.midnight(monday + dt.timedelta(days=int(rng.integers(0, 5)))) + int(rng.integers(8, 17)) * 3600
    )
    hours = int(rng.integers(24, 49))
    base = scans.daily_volume(w) * scans.OUT_SHARE * scans.CORRIDOR_SHARE / max(1, len(w.corridors))
    n = max(20, round(8 * base * hours / 24))
    dealers = w.pick(np.full(int(rng.integers(2, 5)), src), rng)
    row = dealers[rng.integers(dealers.size, size=n)]
    at = w.pick(np.full(n, dst), rng)
    lon, lat = w.jitter(w.lic.lon[at], w.lic.lat[at], 15.0, rng, w.lic.county[at])
    t = start + rng.integers(hours * 3600, size=n)
    a, b = int(w.codes[src]), int(w.codes[dst])
    return Anomaly(
        aid,
        "corridor_surge",
        [a, b],
        start,
        start + hours * 3600,
        (float(w.seat_lon[dst]), float(w.seat_lat[dst])),
        {
            "from": a,
            "to": b,
            "scans": n,
            "baseline_per_day": round(float(base), 2),
            "baseline_corridor": (src, dst) in w.corridors,
        },
        rows={"scan": scan_rows(w, t, row, at, lon, lat, t - rng.integers(1, 4, size=n) * clock.DAY, aid)},
    )


def case_cluster(w: World, monday: dt.date, rng: np.random.Generator, aid: str) -> Anomaly:
    cross_city = monday.toordinal() // 7 % 2 == 1
    pairs = [(i, j) for i, j in w.neighbours if (w.cities[i] != w.cities[j]) == cross_city]
    i, j = pairs[rng.integers(len(pairs))]
    plon, plat = w.shared_border_point(i, j, rng)
    n = int(rng.integers(3, 6))
    lon, lat, cpos = np.empty(n), np.empty(n), np.empty(n, dtype=np.int64)
    for k in range(n):
        want = (i, j)[k % 2]
        x, y, got = plon, plat, w.index.lookup_one(plon, plat)
        for attempt in range(200):
            r, a = 900.0 * np.sqrt(rng.random()), 2 * np.pi * rng.random()
            cx = plon + r * np.cos(a) / M_PER_DEG / np.cos(np.radians(plat))
            cy = plat + r * np.sin(a) / M_PER_DEG
            cgot = w.index.lookup_one(cx, cy)
            if cgot == w.codes[want] or (cgot and attempt > 100):
                x, y, got = cx, cy, cgot
                break
        lon[k], lat[k], cpos[k] = x, y, int(w.pos(np.array([got]))[0])
    first = clock.midnight(monday + dt.timedelta(days=int(rng.integers(0, 2))))
    t = np.sort(first + rng.integers(0, 6, size=n) * clock.DAY) + clock.work_offsets(
        rng.integers(clock.WORK_SECONDS, size=n)
    )
    keys = np.array([f"{clock.day_of(x):%Y%m%d}X{k}" for k, x in enumerate(t)], dtype=object)
    regions = sorted({int(w.codes[p]) for p in cpos})
    cols = {
        "t": t,
        "cpos": cpos,
        "kind": rng.choice(2, size=n, p=[0.7, 0.3]),
        "row": np.full(n, -1),
        "lon": lon,
        "lat": lat,
        "key": keys,
    }
    return Anomaly(
        aid,
        "case_cluster",
        regions,
        int(t.min()),
        int(t.max()) + 1,
        (plon, plat),
        {
            "cases": n,
            "radius_km": 0.9,
            "border": "city" if cross_city else "county",
            "between": [int(w.codes[i]), int(w.codes[j])],
        },
        rows={"case": cols},
    )


def silence(w: World, monday: dt.date, rng: np.random.Generator, aid: str) -> Anomaly:
    c = county_by_licences(w, rng, top=1 / 3)
    first = monday + dt.timedelta(days=int(rng.integers(0, 3)))
    days = [first + dt.timedelta(days=k) for k in range(3)]
    return Anomaly(
        aid,
        "inspection_silence",
        [int(w.codes[c])],
        clock.midnight(first),
        clock.midnight(days[-1]) + clock.DAY,
        (float(w.seat_lon[c]), float(w.seat_lat[c])),
        {"days": [d.isoformat() for d in days]},
        silence=(c, days),
    )


def complaint_spike(w: World, monday: dt.date, rng: np.random.Generator, aid: str) -> Anomaly:
    c = int(rng.choice(len(w.codes), p=w.pop / w.pop.sum()))
    start = clock.midnight(monday + dt.timedelta(days=int(rng.integers(0, 7)))) + 10 * 3600
    n = max(12, round(6 * complaints.PER_DAY * w.pop[c] / w.pop.sum()))
    hot_lon, hot_lat = w.places(np.array([c]), 50.0, rng)
    lon, lat = w.jitter(np.full(n, hot_lon[0]), np.full(n, hot_lat[0]), 300.0, rng, w.codes[c])
    t = np.sort(start + rng.integers(0, 10 * 3600, size=n))
    keys = np.array([f"TS{clock.day_of(start):%Y%m%d}S{k:03d}" for k in range(n)], dtype=object)
    cols = {
        "t": t,
        "cpos": np.full(n, c),
        "lon": lon,
        "lat": lat,
        "cat": rng.choice([0, 4, 2], size=n, p=[0.7, 0.2, 0.1]),
        "key": keys,
    }
    return Anomaly(
        aid,
        "complaint_spike",
        [int(w.codes[c])],
        start,
        start + 10 * 3600,
        (float(hot_lon[0]), float(hot_lat[0])),
        {"complaints": n, "baseline_per_day": round(float(complaints.PER_DAY * w.pop[c] / w.pop.sum()), 2)},
        rows={"complaint": cols},
    )


KINDS = [corridor, used_elsewhere, suspended_goods, one_holder, case_cluster, silence, complaint_spike]


def week(w: World, monday: dt.date) -> list[Anomaly]:
    """The anomalies injected in the week starting ``monday`` (a pure function of seed and week)."""
    if w.n == 0:
        return []
    out = []
    for k, make in enumerate(KINDS):
        rng = w.rng(50, monday.toordinal(), k)
        out.append(make(w, monday, rng, f"A{w.seed}-{monday:%Y%m%d}-{k}"))
    return out
