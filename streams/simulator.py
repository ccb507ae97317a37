"""Upstream simulator for the licence registry: a deterministic province of retail licences.

The initial load issues ``simulator.licences`` licences (spread over counties by 2020 population,
dense around county seats, see :mod:`geo.sample`) as ``licence.issued`` events; then a steady trickle
of issued / renewed / suspended / revoked / expired events follows at ``simulator.rate_per_second``.
The same seed gives the same licences and the same event sequence; progress is kept in Redis so a
restart resumes instead of repeating. Run it with ``python -m streams.simulator``.
"""

from __future__ import annotations

import datetime as dt
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import orjson
import redis

from core import keys
from core.settings import Settings
from geo.boundaries import Regions
from geo.coords import from_wgs84
from geo.index import RegionIndex
from geo.sample import county_counts, sample_licence_points

CST = dt.timezone(dt.timedelta(hours=8))
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾")
GIVEN = list("建国明华伟芳敏静丽强磊军洋勇艳杰娟涛超秀英霞平刚桂红玉兰春海燕文")
ROADS = ["人民路", "解放路", "中山路", "建设路", "新华路", "文化路", "长江路", "淮海路", "和平路", "园林路"]
# (business type, Chinese shop suffix, share of licences) — a plausible mix for county retail.
BUSINESS = [
    ("grocery", "食杂店", 0.45),
    ("convenience", "便利店", 0.22),
    ("supermarket", "超市", 0.10),
    ("tobacco_liquor", "烟酒商行", 0.15),
    ("kiosk", "报刊亭", 0.03),
    ("other", "宾馆商店", 0.05),
]
GRADES = (["A", "B", "C", "D"], [0.30, 0.45, 0.18, 0.07])
CRS_MIX = (["gcj02", "wgs84", "bd09"], [0.6, 0.3, 0.1])
# Trickle mix: new licences, renewals and the three ways a licence stops being valid.
TRICKLE = (
    ["licence.issued", "licence.renewed", "licence.suspended", "licence.revoked", "licence.expired"],
    [0.40, 0.25, 0.20, 0.10, 0.05],
)
#: Day the initial licences are dated from (fixed, so the same seed gives the same events).
REFERENCE_DAY = dt.date(2026, 11, 1)
REASONS = {
    "licence.suspended": "违规经营，暂停营业整改",
    "licence.revoked": "严重违法，依法吊销",
    "licence.expired": "有效期届满未延续",
}


@dataclass(frozen=True)
class Licences:
    """Licences as columns (index i is licence i); attribute columns hold indexes into the tables."""

    number: np.ndarray
    county: np.ndarray
    lon: np.ndarray  # WGS-84
    lat: np.ndarray
    business: np.ndarray
    grade: np.ndarray
    crs: np.ndarray
    surname: np.ndarray
    given: np.ndarray  # (n, 2), -1 = no second character
    road: np.ndarray
    house: np.ndarray
    age_days: np.ndarray  # valid_from = reference day - age_days
    x: np.ndarray  # the point as the upstream system sends it, in its own crs
    y: np.ndarray


def _as_sent(lon: np.ndarray, lat: np.ndarray, crs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS-84 points to the coordinate system each upstream record uses."""
    x, y = lon.copy(), lat.copy()
    for code, name in enumerate(CRS_MIX[0]):
        sel = crs == code
        if sel.any():
            x[sel], y[sel] = from_wgs84(lon[sel], lat[sel], name)
    return x, y


def _attributes(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Draw every per-licence attribute at once (vectorised: a million licences in well under 1 s)."""
    given = rng.integers(len(GIVEN), size=(n, 2))
    given[rng.random(n) < 0.4, 1] = -1
    return {
        "business": rng.choice(len(BUSINESS), size=n, p=[b[2] for b in BUSINESS]),
        "grade": rng.choice(4, size=n, p=GRADES[1]),
        "crs": rng.choice(3, size=n, p=CRS_MIX[1]),
        "surname": rng.integers(len(SURNAMES), size=n),
        "given": given,
        "road": rng.integers(len(ROADS), size=n),
        "house": rng.integers(1, 400, size=n),
        "age_days": rng.integers(1, 5 * 365 - 30, size=n),
    }


class LicenceSimulator:
    """Generates licence registry events; pure given the seed (Redis only in :func:`run`)."""

    def __init__(self, settings: Settings, regions: Regions, index: RegionIndex) -> None:
        self.cfg = settings.simulator
        self.regions = regions
        self.index = index
        self.names = regions.names()
        self.counts = county_counts(regions, self.cfg.licences)
        self.population = {
            int(a): int(p)
            for a, p in zip(regions.counties["adcode"], regions.counties["pop2020"], strict=True)
        }
        self._licences: Licences | None = None

    @property
    def licences(self) -> Licences:
        """The initial licences, generated once (a few seconds for a million)."""
        if self._licences is None:
            rng = np.random.default_rng(self.cfg.seed)
            counts = {c: n for c, n in self.counts.items() if n > 0}
            if counts:
                lon, lat, county = sample_licence_points(self.regions, self.index, counts, rng)
            else:  # an empty province (simulator.licences = 0)
                lon, lat, county = np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
            order = np.lexsort((lon, county))
            county = county[order]
            # sequence numbers restart at 1 in each county: number = county adcode + 6 digits
            starts = np.searchsorted(county, county, side="left")
            seq = np.arange(len(county)) - starts + 1
            numbers = np.array(
                [f"{c}{q:06d}" for c, q in zip(county.tolist(), seq.tolist(), strict=True)], dtype="U12"
            )
            lon, lat = lon[order], lat[order]
            attrs = _attributes(rng, len(county))
            x, y = _as_sent(lon, lat, attrs["crs"])
            self._licences = Licences(numbers, county, lon, lat, **attrs, x=x, y=y)
        return self._licences

    def _issued(self, lic: Licences, i: int, valid_from: dt.date) -> dict:
        """The ``data`` of a licence.issued event for licence ``i`` of ``lic``."""
        btype, suffix, _ = BUSINESS[lic.business[i]]
        surname = SURNAMES[lic.surname[i]]
        holder = surname + "".join(GIVEN[g] for g in lic.given[i] if g >= 0)
        crs = CRS_MIX[0][lic.crs[i]]
        county = int(lic.county[i])
        return {
            "licence_no": str(lic.number[i]),
            "holder": holder,
            "shop_name": f"{surname}记{suffix}",
            "address": f"{self.names.get(county, '')}{ROADS[lic.road[i]]}{lic.house[i]}号",
            "point": {"lon": round(float(lic.x[i]), 6), "lat": round(float(lic.y[i]), 6), "crs": crs},
            "business_type": btype,
            "credit_grade": GRADES[0][lic.grade[i]],
            "valid_from": valid_from.isoformat(),
            "valid_to": (valid_from + dt.timedelta(days=5 * 365)).isoformat(),
        }

    def initial(
        self, start: int = 0, batch: int = 2000, today: dt.date = REFERENCE_DAY
    ) -> Iterator[list[dict]]:
        """Batches of ``licence.issued`` entries for licences ``start`` … end of the initial load."""
        lic = self.licences
        for lo in range(start, len(lic.number), batch):
            out = []
            for i in range(lo, min(lo + batch, len(lic.number))):
                valid_from = today - dt.timedelta(days=int(lic.age_days[i]))
                occurred = dt.datetime.combine(valid_from, dt.time(9, 0), CST)
                data = self._issued(lic, i, valid_from)
                out.append(_entry(f"lic-{self.cfg.seed}-init-{i}", "licence.issued", occurred, data))
            yield out

    def trickle(self, k: int, now: dt.datetime) -> dict:
        """The k-th event of the steady trickle (deterministic in seed and k), stamped ``now``."""
        rng = np.random.default_rng([self.cfg.seed, 2, k])
        kind = TRICKLE[0][rng.choice(len(TRICKLE[0]), p=TRICKLE[1])]
        lic = self.licences
        if kind == "licence.issued" or len(lic.number) == 0:
            # new shops open where people live: pick the county by its 2020 population
            county = int(rng.choice(list(self.population), p=_weights(self.population)))
            lon, lat, _ = sample_licence_points(self.regions, self.index, {county: 1}, rng)
            number = np.array([f"{county}{900000 + k % 100000:06d}"])
            attrs = _attributes(rng, 1)
            x, y = _as_sent(lon, lat, attrs["crs"])
            one = Licences(number, np.array([county]), lon, lat, **attrs, x=x, y=y)
            data = self._issued(one, 0, now.date())
            kind = "licence.issued"
        else:
            number = str(lic.number[rng.integers(len(lic.number))])
            if kind == "licence.renewed":
                # 5 × 365 days, not replace(year=…+5): that fails on 29 February
                valid_to = now.date() + dt.timedelta(days=5 * 365)
                data = {"licence_no": number, "valid_to": valid_to.isoformat()}
            else:
                data = {"licence_no": number, "reason": REASONS[kind]}
        return _entry(f"lic-{self.cfg.seed}-live-{k}", kind, now, data)


def _weights(counts: dict[int, int]) -> np.ndarray:
    w = np.array(list(counts.values()), dtype=float)
    return w / w.sum()


def _entry(event_id: str, kind: str, occurred: dt.datetime, data: dict) -> dict:
    return {"id": event_id, "type": kind, "occurred_at": occurred.isoformat(), "data": orjson.dumps(data)}


def run(r: redis.Redis, sim: LicenceSimulator, settings: Settings, stop: threading.Event) -> None:
    """Emit the rest of the initial load, then the trickle, resuming from the progress in Redis."""
    stream, state_key = keys.inbound("licence"), keys.simulator_state("licence")
    state = {k.decode(): int(v) for k, v in r.hgetall(state_key).items()}
    if (
        state.get("seed", sim.cfg.seed) != sim.cfg.seed
        or state.get("total", sim.cfg.licences) != sim.cfg.licences
    ):
        state = {}  # another scenario: start it from the beginning (event ids differ, nothing collides)
    loaded = state.get("loaded", 0)
    for batch in sim.initial(start=loaded, batch=sim.cfg.batch_size):
        if stop.is_set():
            return
        pipe = r.pipeline(transaction=False)
        for entry in batch:
            pipe.xadd(stream, entry)
        loaded += len(batch)
        pipe.hset(state_key, mapping={"seed": sim.cfg.seed, "total": sim.cfg.licences, "loaded": loaded})
        pipe.execute()
    print(f"simulator: initial load of {loaded} licences emitted", flush=True)
    k = state.get("live", 0)
    interval = 1.0 / sim.cfg.rate_per_second if sim.cfg.rate_per_second > 0 else None
    while interval is not None and not stop.wait(interval):
        r.xadd(stream, sim.trickle(k, dt.datetime.now(CST)))
        k += 1
        r.hset(state_key, "live", k)


def main() -> None:
    """Entry point of ``python -m streams.simulator``."""
    from core.connection import connect_or_exit
    from core.settings import load_or_exit
    from geo.boundaries import load_regions

    settings = load_or_exit()
    r = connect_or_exit(settings)
    regions = load_regions(settings)
    sim = LicenceSimulator(settings, regions, RegionIndex(regions))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # all configured sources on one simulated clock (streams/sims), the licence load first
    from streams.sims.runner import run_all

    run_all(r, settings, regions, RegionIndex(regions), stop, sim)


if __name__ == "__main__":
    main()
