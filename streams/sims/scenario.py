"""The whole simulated province on one clock: every source's events of any interval, and the truth.

:class:`Scenario` is pure (no Redis, no files, no wall clock): the events of an interval depend only
on the settings (seed, licences, sources, anomalies, rate / speed) and the interval, so the same
interval always gives the same entries, however it is cut into pieces.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

import numpy as np

from core.settings import Settings
from geo.boundaries import Regions
from geo.index import RegionIndex
from streams.schema import SOURCES
from streams.sims import anomalies, clock
from streams.sims.anomalies import Anomaly
from streams.sims.cases import Cases
from streams.sims.complaints import Complaints
from streams.sims.inspections import Inspections
from streams.sims.scans import Scans
from streams.sims.world import Plan, World, concat, entry, take
from streams.simulator import LicenceSimulator

RANK = {s: i for i, s in enumerate(SOURCES)}


class Scenario:
    """Events of all enabled sources for any simulated interval, plus the injected anomalies."""

    def __init__(
        self,
        settings: Settings,
        regions: Regions,
        index: RegionIndex,
        licence_sim: LicenceSimulator,
        trickle_anchor: tuple[float, int] = (clock.EPOCH_TS, 0),
    ) -> None:
        cfg = settings.simulator
        self.sources = tuple(cfg.sources)
        self.with_anomalies = cfg.anomalies
        self.licence_sim = licence_sim
        self.world = w = World(settings, regions, index, licence_sim)
        #: licence trickle events per simulated second: rate_per_second of real time at the set speed
        self.rate = cfg.rate_per_second / cfg.speed
        self.anchor = trickle_anchor
        self._weeks: dict[dt.date, list[Anomaly]] = {}
        self.streams = {
            "inspection": Inspections(w, self._injector("inspection"), self._silent),
            "case": Cases(w, self._injector("case")),
            "scan": Scans(w, self._injector("scan")),
            "complaint": Complaints(w, self._injector("complaint")),
        }

    def anomalies(self, monday: dt.date) -> list[Anomaly]:
        """The anomalies of the week starting ``monday`` (none when anomalies are off)."""
        if not self.with_anomalies:
            return []
        if monday not in self._weeks:
            if len(self._weeks) > 16:
                self._weeks.pop(next(iter(self._weeks)))
            self._weeks[monday] = anomalies.week(self.world, monday)
        return self._weeks[monday]

    def _injector(self, source: str):
        def inject(day: dt.date) -> dict[str, np.ndarray]:
            lo, hi = clock.midnight(day), clock.midnight(day) + clock.DAY
            parts = []
            for a in self.anomalies(anomalies.week_of(day)):
                cols = a.rows.get(source)
                if cols:
                    parts.append(take(cols, np.flatnonzero((cols["t"] >= lo) & (cols["t"] < hi))))
            return concat(parts)

        return inject

    def _silent(self, day: dt.date) -> set[int]:
        return {
            a.silence[0] for a in self.anomalies(anomalies.week_of(day)) if a.silence and day in a.silence[1]
        }

    def _licence_plan(self, day: dt.date, start: float, end: float) -> Plan:
        """Licence events in [start, end) of ``day``: the trickle and the anomalies' own."""
        injected = sorted(
            (t, eid, kind, data)
            for a in self.anomalies(anomalies.week_of(day))
            for t, eid, kind, data in a.licence
            if start <= t < end
        )
        k0 = k1 = 0
        t_base, k_base = self.anchor
        if self.rate > 0:
            k0 = k_base + max(0, math.ceil((start - t_base) * self.rate))
            k1 = k_base + max(0, math.ceil((end - t_base) * self.rate))
        t_trickle = t_base + (np.arange(k0, k1) - k_base) / self.rate if k1 > k0 else np.empty(0)
        t_all = np.concatenate([t_trickle, np.array([x[0] for x in injected], dtype=np.float64)])
        order = np.argsort(t_all, kind="stable")
        n_trickle = t_trickle.size

        def make(i: int) -> dict:
            j = int(order[i])
            if j >= n_trickle:
                t, eid, kind, data = injected[j - n_trickle]
                return entry(eid, kind, clock.iso(t), data)
            when = dt.datetime.fromtimestamp(float(t_all[j]), clock.CST)
            try:
                return self.licence_sim.trickle(k0 + j, when)
            except ValueError:  # a renewal dated 29 February cannot add five years; keep the 28th
                return self.licence_sim.trickle(k0 + j, when - dt.timedelta(days=1))

        return Plan("licence", t_all[order], make)

    def plans(self, day: dt.date, start: float, end: float) -> list[Plan]:
        """The enabled sources' plans of ``day`` (the licence plan only for [start, end))."""
        out = []
        for source in self.sources:
            if source == "licence":
                out.append(self._licence_plan(day, start, end))
            elif self.world.n:
                out.append(self.streams[source].day(day))
        return out

    def events(self, start: float, end: float) -> Iterator[tuple[str, dict]]:
        """(source, entry fields) of every event in [start, end) (epoch seconds), in time order."""
        for day in clock.days_between(int(math.floor(start)), int(math.ceil(end))):
            lo = max(start, clock.midnight(day))
            hi = min(end, clock.midnight(day) + clock.DAY)
            if hi <= lo:
                continue
            plans = self.plans(day, lo, hi)
            picked = [(k, p.rows(lo, hi)) for k, p in enumerate(plans)]
            if not any(rows.size for _, rows in picked):
                continue
            t = np.concatenate([plans[k].t[rows] for k, rows in picked])
            rank = np.concatenate([np.full(rows.size, RANK[plans[k].source]) for k, rows in picked])
            which = np.concatenate([np.full(rows.size, k) for k, rows in picked])
            row = np.concatenate([rows for _, rows in picked])
            for i in np.lexsort((row, rank, t)):
                plan = plans[which[i]]
                yield plan.source, plan.make(int(row[i]))

    def ongoing(self, at: float, started_after: float | None = None) -> list[dict]:
        """Partial ground truth of the anomalies under way at ``at`` (for a clock starting then); with
        ``started_after``, only those that started after it (a clock that jumped from there to ``at``)."""
        found = [a for a in self.anomalies(anomalies.week_of(clock.day_of(at))) if a.start < at < a.end]
        if started_after is not None:
            found = [a for a in found if a.start >= started_after]
        return [
            a.record(self.world, self.sources, since=at) for a in sorted(found, key=lambda a: (a.start, a.id))
        ]

    def truth(self, start: float, end: float) -> list[dict]:
        """Ground-truth records of the anomalies that start in [start, end), by start time."""
        mondays = sorted({anomalies.week_of(d) for d in clock.days_between(int(start), int(math.ceil(end)))})
        found = [a for monday in mondays for a in self.anomalies(monday) if start <= a.start < end]
        return [a.record(self.world, self.sources) for a in sorted(found, key=lambda a: (a.start, a.id))]


def generate(
    settings: Settings,
    regions: Regions,
    index: RegionIndex,
    licence_sim: LicenceSimulator,
    start: dt.datetime,
    end: dt.datetime,
) -> Iterator[tuple[str, dict]]:
    """(source, entry fields) of every enabled source's events in [start, end); pure, no Redis."""
    return Scenario(settings, regions, index, licence_sim).events(clock.ts(start), clock.ts(end))
