"""Licence misuse anomalies: a licence used far from its shop, a suspended licence still receiving
goods, one holder with several licences (see :mod:`streams.sims.anomalies`)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from streams.sims import clock
from streams.sims.truth import Anomaly, county_by_licences, name, near, scan_rows
from streams.sims.world import M_PER_DEG, World, event_id
from streams.simulator import REASONS


def used_elsewhere(w: World, monday: dt.date, rng: np.random.Generator, aid: str) -> Anomaly:
    c = county_by_licences(w, rng)
    lic = int(w.pick(np.array([c]), rng)[0])
    rows = np.arange(w.lo[c], w.hi[c])
    dx = (w.lic.lon[rows] - w.lic.lon[lic]) * np.cos(np.radians(w.lic.lat[lic]))
    dist = np.hypot(dx, w.lic.lat[rows] - w.lic.lat[lic]) * M_PER_DEG
    far = rows[dist >= 3000]
    other = int(far[rng.integers(far.size)]) if far.size else int(rows[np.argmax(dist)])
    first = monday + dt.timedelta(days=int(rng.integers(0, 4)))
    start, end = clock.midnight(first), clock.midnight(first) + 3 * clock.DAY
    n = int(rng.integers(12, 26))
    t = start + rng.integers(0, 3, size=n) * clock.DAY + rng.integers(8 * 3600, 21 * 3600, size=n)
    lon, lat = near(w, other, n, 8.0, rng)
    scan_cols = scan_rows(w, t, np.full(n, lic), np.full(n, other), lon, lat, t - clock.DAY, aid)
    t0 = np.array([start + 9 * 3600, start + clock.DAY + 14 * 3600 + 1800]) + rng.integers(0, 5400, size=2)
    ilon, ilat = near(w, other, 2, 5.0, rng)
    keys = np.array([f"JC{clock.day_of(x):%Y%m%d}-{aid}-{k}" for k, x in enumerate(t0)], dtype=object)
    return Anomaly(
        aid,
        "licence_used_elsewhere",
        sorted({int(w.codes[c]), int(w.lic.county[other])}),
        start,
        end,
        (float(w.lic.lon[other]), float(w.lic.lat[other])),
        {
            "licence_no": str(w.lic.number[lic]),
            "registered": [round(float(w.lic.lon[lic]), 6), round(float(w.lic.lat[lic]), 6)],
            "distance_km": round(float(dist[other - w.lo[c]]) / 1000, 2),
        },
        rows={
            "scan": scan_cols,
            "inspection": {
                "t0": t0,
                "t": t0 + rng.integers(600, 1500, size=2),
                "row": np.full(2, lic),
                "lon": ilon,
                "lat": ilat,
                "key": keys,
            },
        },
    )


def suspended_goods(w: World, monday: dt.date, rng: np.random.Generator, aid: str) -> Anomaly:
    c = county_by_licences(w, rng)
    lic = int(w.pick(np.array([c]), rng)[0])
    ts = clock.midnight(monday + dt.timedelta(days=int(rng.integers(0, 4)))) + int(
        rng.integers(9 * 3600, 16 * 3600)
    )
    n = int(rng.integers(15, 31))
    t = ts + 3600 + rng.integers(0, 47 * 3600, size=n)
    lon, lat = near(w, lic, n, 5.0, rng)
    delivered = ts + (rng.random(n) * (t - ts)).astype(np.int64)
    number = str(w.lic.number[lic])
    event = (
        float(ts),
        event_id("licence", w.seed, f"{aid}-suspend"),
        "licence.suspended",
        {"licence_no": number, "reason": REASONS["licence.suspended"]},
    )
    return Anomaly(
        aid,
        "suspended_licence_receiving_goods",
        [int(w.codes[c])],
        ts,
        ts + 48 * 3600,
        (float(w.lic.lon[lic]), float(w.lic.lat[lic])),
        {"licence_no": number, "scans": n},
        rows={"scan": scan_rows(w, t, np.full(n, lic), np.full(n, lic), lon, lat, delivered, aid)},
        licence=[event],
    )


def one_holder(w: World, monday: dt.date, rng: np.random.Generator, aid: str) -> Anomaly:
    k = int(rng.integers(3, 5))
    have = np.flatnonzero(w.count)
    counties = rng.choice(have, size=min(k, have.size), replace=False, p=w.count[have] / w.count[have].sum())
    rows = w.pick(counties, rng)
    holder = name(rng)
    day = clock.midnight(monday + dt.timedelta(days=int(rng.integers(1, 4))))
    t = np.sort(day + rng.integers(9 * 3600, 17 * 3600, size=k))
    events = [
        (
            float(x),
            event_id("licence", w.seed, f"{aid}-{i}"),
            "licence.changed",
            {"licence_no": str(w.lic.number[r]), "holder": holder},
        )
        for i, (x, r) in enumerate(zip(t, rows, strict=True))
    ]
    return Anomaly(
        aid,
        "holder_with_several_licences",
        sorted({int(w.codes[c]) for c in counties}),
        int(t[0]),
        int(t[-1]) + 1,
        None,
        {"holder": holder, "licence_nos": [str(w.lic.number[r]) for r in rows]},
        licence=events,
    )
