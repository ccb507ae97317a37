"""``case.opened`` / ``case.closed``: a few cases per county per week, closed days to weeks later.

A county opens :data:`WEEKLY_BASE` + :data:`WEEKLY_POP` × (its population / the mean county's)
cases a week, mostly on working days and in office hours. Kinds follow :data:`KINDS`; the seized
packs are log-normal (10–5,000) and the value packs × 20–60 CNY. A case involving a licensed shop
names it and sits at its shop; other cases are placed near a random shop of the county. A few
cases carry only an address. Each case closes :data:`CLOSE_DAYS` later (log-normal, 2–60 days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from streams.sims import clock
from streams.sims.world import DailyPlans, Plan, World, concat, entry, event_id, take
from streams.simulator import CRS_MIX

SOURCE = "case"
WEEKLY_BASE, WEEKLY_POP = 1.0, 2.0
#: (kind, share of cases, chance that a licensed shop is involved)
KINDS = [
    ("counterfeit", 0.25, 0.5),
    ("smuggled", 0.12, 0.4),
    ("unlicensed_trade", 0.20, 0.0),
    ("cross_region_goods", 0.18, 0.8),
    ("licence_misuse", 0.08, 1.0),
    ("beyond_scope_trade", 0.10, 0.9),
    ("other", 0.07, 0.3),
]
ADDRESS_ONLY = 0.08
CLOSE_DAYS = (12.0, 0.6, 2, 60)  # median, log-sigma, min, max
RESULTS = (["penalised", "transferred", "dismissed"], [0.65, 0.10, 0.25])


class Cases(DailyPlans):
    """The case stream: opens per day (cached), closes gathered from the opens of earlier days."""

    def __init__(self, world: World, inject: Callable[[dt.date], dict[str, np.ndarray]]) -> None:
        self.w = world
        self.inject = inject
        self.weekly = WEEKLY_BASE + WEEKLY_POP * world.pop / world.pop.mean()
        self._opens: dict[dt.date, dict[str, np.ndarray]] = {}
        super().__init__()

    def opens(self, day: dt.date) -> dict[str, np.ndarray]:
        """The cases opened on ``day`` as columns (baseline and injected)."""
        if day not in self._opens:
            if len(self._opens) > 120:
                self._opens.pop(next(iter(self._opens)))
            self._opens[day] = self._make_opens(day)
        return self._opens[day]

    def _make_opens(self, day: dt.date) -> dict[str, np.ndarray]:
        w = self.w
        rng = w.rng(30, day.toordinal())
        work = clock.is_workday(day)
        lam = self.weekly / 7 * (1.3 if work else 0.25)
        n = rng.poisson(lam)
        cpos = np.repeat(np.arange(len(w.codes)), n)
        m = cpos.size
        if work:
            sod = clock.work_offsets(rng.integers(clock.WORK_SECONDS, size=m))
        else:
            sod = rng.integers(9 * 3600, 18 * 3600, size=m)
        kind = rng.choice(len(KINDS), size=m, p=[k[1] for k in KINDS])
        involved = rng.random(m) < np.array([k[2] for k in KINDS])[kind]
        row = np.where(involved, w.pick(cpos, rng), -1)
        near_lon, near_lat = w.places(cpos, 500.0, rng)
        shop_lon, shop_lat = w.jitter(w.lic.lon[row], w.lic.lat[row], 10.0, rng, w.codes[cpos])
        base = {
            "t": clock.midnight(day) + sod,
            "cpos": cpos,
            "kind": kind,
            "row": row,
            "lon": np.where(row >= 0, shop_lon, near_lon),
            "lat": np.where(row >= 0, shop_lat, near_lat),
            "key": np.array([f"{day:%Y%m%d}{w.codes[c]}{i:03d}" for i, c in enumerate(cpos)], dtype=object),
        }
        cols = concat([base, dict(self.inject(day))])
        if not cols:
            return {}
        m = cols["t"].size
        r2 = w.rng(31, day.toordinal())
        packs = np.clip(np.round(np.exp(np.log(150) + 1.2 * r2.standard_normal(m))), 10, 5000).astype(int)
        cols["packs"] = packs
        cols["value"] = np.round(packs * r2.uniform(20, 60, size=m), 2)
        # injected cases (after the baseline rows) always carry their point
        cols["address_only"] = (r2.random(m) < ADDRESS_ONLY) & (np.arange(m) < cpos.size)
        cols["with_address"] = r2.random(m) < 0.5
        cols["road"] = r2.integers(10, size=m)
        cols["house"] = r2.integers(1, 300, size=m)
        median, sigma, lo, hi = CLOSE_DAYS
        delay = np.clip(np.round(median * np.exp(sigma * r2.standard_normal(m))), lo, hi).astype(int)
        close_day = np.array([day.toordinal()]) + delay
        weekday = (close_day - 1) % 7  # date.fromordinal(1) is a Monday
        close_day += np.where(weekday >= 5, 7 - weekday, 0)
        cols["close_t"] = (
            (close_day - 719163) * clock.DAY
            - 8 * 3600
            + clock.work_offsets(r2.integers(clock.WORK_SECONDS, size=m))
        )
        big = (packs > 1000) & np.isin(cols["kind"], [0, 1])
        cols["result"] = np.where(big & (r2.random(m) < 0.5), 1, r2.choice(3, size=m, p=RESULTS[1]))
        cols["penalty"] = np.where(
            cols["result"] == 0, np.round(cols["value"] * r2.uniform(0.5, 2.0, m), -2), 0.0
        )
        cols["crs"] = np.where(cols["row"] >= 0, w.lic.crs[cols["row"]], r2.choice(3, size=m, p=CRS_MIX[1]))
        cols["x"], cols["y"] = w.sent(cols["lon"], cols["lat"], cols["crs"])
        return cols

    def _plan(self, day: dt.date) -> Plan:
        parts = []
        opened = self.opens(day)
        if opened:
            parts.append(
                {
                    "t": opened["t"],
                    "close": np.zeros(opened["t"].size, bool),
                    "i": np.arange(opened["t"].size),
                    "back": np.zeros(opened["t"].size, int),
                }
            )
        lo, hi = clock.midnight(day), clock.midnight(day) + clock.DAY
        for back in range(CLOSE_DAYS[2], CLOSE_DAYS[3] + 4):
            earlier = self.opens(day - dt.timedelta(days=back))
            if earlier:
                sel = np.flatnonzero((earlier["close_t"] >= lo) & (earlier["close_t"] < hi))
                if sel.size:
                    parts.append(
                        {
                            "t": earlier["close_t"][sel],
                            "close": np.ones(sel.size, bool),
                            "i": sel,
                            "back": np.full(sel.size, back),
                        }
                    )
        cols = concat(parts)
        if not cols:
            return Plan.empty(SOURCE)
        cols = take(cols, np.argsort(cols["t"], kind="stable"))
        w = self.w

        def make(k: int) -> dict:
            src = self.opens(day - dt.timedelta(days=int(cols["back"][k])))
            i = int(cols["i"][k])
            case_id = f"AJ{src['key'][i]}"
            if cols["close"][k]:
                data = {
                    "case_id": case_id,
                    "result": RESULTS[0][int(src["result"][i])],
                    "penalty_cny": float(src["penalty"][i]),
                }
                return entry(
                    event_id(SOURCE, w.seed, f"close-{case_id}"), "case.closed", clock.iso(cols["t"][k]), data
                )
            county = int(w.codes[src["cpos"][i]])
            data = {
                "case_id": case_id,
                "kind": KINDS[int(src["kind"][i])][0],
                "value_cny": float(src["value"][i]),
                "packs": int(src["packs"][i]),
            }
            row = int(src["row"][i])
            if row >= 0:
                data["licence_no"] = str(w.lic.number[row])
            if not src["address_only"][i]:
                data["point"] = w.point(src["x"][i], src["y"][i], src["crs"][i])
            if src["address_only"][i] or src["with_address"][i]:
                data["address"] = w.address(county, src["road"][i], src["house"][i])
            return entry(
                event_id(SOURCE, w.seed, f"open-{case_id}"), "case.opened", clock.iso(cols["t"][k]), data
            )

        return Plan(SOURCE, cols["t"].astype(np.float64), make)
