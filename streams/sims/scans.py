"""``scan.recorded``: carton codes scanned at shops, with the licence and county they were delivered to.

Every day about :data:`PER_LICENCE_DAY` scans per licence (busier shops scan more), spread over the
day by :data:`HOURLY`. A carton is normally scanned at the shop it was delivered to; a share
:data:`OUT_SHARE` (2 %) turns up in another county (真烟异常流动): :data:`CORRIDOR_SHARE` of those
along the few corridors of :attr:`World.corridors`, the rest into a random county.

A carton code is 32 characters of [0-9A-Z]: the delivery county's adcode, the delivery date
(YYMMDD), then 20 random base-36 characters drawn from the seed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from streams.sims import clock
from streams.sims.world import DailyPlans, Plan, World, concat, entry, event_id, take

SOURCE = "scan"
PER_LICENCE_DAY = 0.4
OUT_SHARE = 0.02
CORRIDOR_SHARE = 0.6
#: Relative scanning activity by business type (the licence simulator's BUSINESS order).
ACTIVITY = np.array([1.0, 1.3, 2.5, 3.0, 0.5, 0.6])
#: Relative activity by local hour 0–23.
HOURLY = np.array(
    [0.2, 0.1, 0.05, 0.05, 0.05, 0.2, 0.6, 1.2, 1.6, 1.6, 1.5, 1.5]
    + [1.6, 1.4, 1.3, 1.3, 1.4, 1.7, 2.0, 2.0, 1.8, 1.4, 0.9, 0.4]
)
HOURLY = HOURLY / HOURLY.sum()
GPS_NOISE_M = 5.0
_B36 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)


def carton_codes(county: np.ndarray, delivered: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """32-character codes: county adcode, delivery date YYMMDD (epoch seconds), 20 random base-36."""
    n = county.size
    local_day = (np.asarray(delivered, dtype=np.int64) + 8 * 3600) // clock.DAY
    days, inverse = np.unique(local_day, return_inverse=True)
    ymd = np.array([f"{dt.date.fromordinal(int(d) + 719163):%y%m%d}" for d in days], dtype=object)
    head = np.char.zfill(np.asarray(county).astype(str), 6).astype(object) + ymd[inverse]
    tail = _B36[rng.integers(36, size=(n, 20))].view("S20").ravel().astype(str).astype(object)
    return head + tail


def daily_volume(world: World) -> float:
    """Expected scans per day over the province."""
    return PER_LICENCE_DAY * world.n


class Scans(DailyPlans):
    """The scan stream, one :class:`Plan` per day (cached)."""

    keep_days = 1  # a day of scans is ~100k rows at 250k licences

    def __init__(self, world: World, inject: Callable[[dt.date], dict[str, np.ndarray]]) -> None:
        self.w = world
        self.inject = inject
        act = ACTIVITY[world.lic.business] if world.n else np.empty(0)
        self.p = act / act.sum() if world.n else act
        super().__init__()

    def _baseline(self, day: dt.date, rng: np.random.Generator) -> dict[str, np.ndarray]:
        w, lic = self.w, self.w.lic
        if w.n == 0:
            return {}
        m = int(rng.poisson(daily_volume(w) * (1.1 if day.weekday() >= 5 else 1.0)))
        t = clock.midnight(day) + rng.choice(24, size=m, p=HOURLY) * 3600 + rng.integers(3600, size=m)
        t = np.sort(t)
        row = rng.choice(w.n, size=m, p=self.p)
        at = row.copy()  # the licence (shop) where the carton is scanned
        out = np.flatnonzero(rng.random(m) < OUT_SHARE)
        along = out[rng.random(out.size) < CORRIDOR_SHARE] if w.corridors else out[:0]
        if along.size:
            pick = rng.integers(len(w.corridors), size=along.size)
            src = np.array([w.corridors[k][0] for k in pick])
            dst = np.array([w.corridors[k][1] for k in pick])
            ok = (w.count[src] > 0) & (w.count[dst] > 0)
            along, src, dst = along[ok], src[ok], dst[ok]
            row[along] = w.pick(src, rng)
            at[along] = w.pick(dst, rng)
        rest = np.setdiff1d(out, along)
        if rest.size:
            shift = 1 + rng.integers(len(w.codes) - 1, size=rest.size)
            dst = (w.pos(lic.county[row[rest]]) + shift) % len(w.codes)
            ok = w.count[dst] > 0
            at[rest[ok]] = w.pick(dst[ok], rng)
        moved = at != row
        noise = np.where(moved, 15.0, GPS_NOISE_M)
        lon, lat = w.jitter(lic.lon[at], lic.lat[at], noise, rng, lic.county[at])
        ymd = day.strftime("%Y%m%d")
        return {
            "t": t,
            "row": row,
            "at": at,
            "lon": lon,
            "lat": lat,
            "delivered": t - rng.integers(1, 12, size=m) * clock.DAY,
            "key": np.array([f"{ymd}-{i}" for i in range(m)], dtype=object),
        }

    def _plan(self, day: dt.date) -> Plan:
        w = self.w
        rng = w.rng(20, day.toordinal())
        cols = concat([self._baseline(day, rng), dict(self.inject(day))])
        if not cols:
            return Plan.empty(SOURCE)
        cols = take(cols, np.argsort(cols["t"], kind="stable"))
        county = w.lic.county[cols["row"]]
        codes = carton_codes(county, cols["delivered"], w.rng(21, day.toordinal()))
        crs = w.lic.crs[cols["at"]]
        x, y = w.sent(cols["lon"], cols["lat"], crs)
        seed = w.seed

        def make(i: int) -> dict:
            row = int(cols["row"][i])
            when = clock.iso(cols["t"][i])
            data = {
                "carton_code": codes[i],
                "scanned_at": when,
                "point": w.point(x[i], y[i], crs[i]),
                "licence_no": str(w.lic.number[row]),
                "licence_region": int(county[i]),
            }
            return entry(event_id(SOURCE, seed, cols["key"][i]), "scan.recorded", when, data)

        return Plan(SOURCE, cols["t"].astype(np.float64), make)
