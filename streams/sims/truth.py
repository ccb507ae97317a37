"""An injected anomaly and its ground-truth record, plus helpers shared by the anomaly makers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from streams.sims import clock
from streams.sims.world import World, event_id
from streams.simulator import GIVEN, SURNAMES


@dataclass
class Anomaly:
    """One injected anomaly: what, where, when, and the rows it adds per source."""

    id: str
    type: str
    regions: list[int]
    start: int
    end: int
    place: tuple[float, float] | None = None
    details: dict = field(default_factory=dict)
    rows: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    licence: list[tuple[float, str, str, dict]] = field(default_factory=list)
    silence: tuple[int, list[dt.date]] | None = None

    def event_ids(self, seed: int, since: float | None = None) -> dict[str, list[str]]:
        """Ids of the events that make up the anomaly, per source (those at or after ``since``)."""
        out: dict[str, list[str]] = {}
        for source, cols in self.rows.items():
            keep = [k for k, t in zip(cols["key"], cols["t"], strict=True) if since is None or t >= since]
            out[source] = [event_id(source, seed, f"open-AJ{k}" if source == "case" else k) for k in keep]
        if self.licence:
            out["licence"] = [eid for t, eid, _, _ in self.licence if since is None or t >= since]
        return out

    def record(self, world: World, sources: tuple[str, ...], since: float | None = None) -> dict:
        """The ground-truth line (JSON-ready); event ids only of the enabled ``sources``.

        With ``since`` (a clock that started while the anomaly was under way), only the ids of events
        at or after it, and ``partial`` is true.
        """
        ids = {s: v for s, v in self.event_ids(world.seed, since).items() if s in sources}
        return {
            "id": self.id,
            "type": self.type,
            "regions": self.regions,
            "region_names": [world.names.get(r, "") for r in self.regions],
            "place": None
            if self.place is None
            else {"lon": round(self.place[0], 6), "lat": round(self.place[1], 6)},
            "start": clock.iso(self.start),
            "end": clock.iso(self.end),
            "events": ids,
            "details": self.details,
            "partial": since is not None,
        }


def week_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def name(rng: np.random.Generator) -> str:
    return SURNAMES[rng.integers(len(SURNAMES))] + "".join(GIVEN[g] for g in rng.integers(len(GIVEN), size=2))


def county_by_licences(w: World, rng: np.random.Generator, top: float = 1.0) -> int:
    order = np.argsort(-w.count, kind="stable")[: max(1, int(len(w.codes) * top))]
    p = w.count[order] / w.count[order].sum()
    return int(order[rng.choice(order.size, p=p)])


def near(w: World, row: int, n: int, metres: float, rng: np.random.Generator):
    """``n`` GPS fixes around licence ``row``'s shop, inside its county."""
    return w.jitter(np.full(n, w.lic.lon[row]), np.full(n, w.lic.lat[row]), metres, rng, w.lic.county[row])


def scan_rows(w: World, t, row, at, lon, lat, delivered, prefix: str) -> dict[str, np.ndarray]:
    order = np.argsort(t, kind="stable")
    keys = np.array([f"{prefix}-{k}" for k in range(len(t))], dtype=object)
    cols = {"t": t, "row": row, "at": at, "lon": lon, "lat": lat, "delivered": delivered}
    return {**{k: np.asarray(v)[order] for k, v in cols.items()}, "key": keys}
