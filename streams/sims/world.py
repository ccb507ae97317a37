"""What every simulated source shares: the licences as columns, the counties, places and corridors.

Built once from the licence simulator's initial licences (sorted by county, so each county's
licences are one contiguous slice). Nothing here draws randomness of its own: callers pass the
``numpy`` generator of their (seed, source, day), so every source stays deterministic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import orjson
import shapely

from core.settings import Settings
from geo.boundaries import Regions
from geo.coords import from_wgs84
from geo.index import RegionIndex
from streams.simulator import CRS_MIX, ROADS, LicenceSimulator

M_PER_DEG = 111_320.0
#: Event id prefix of each source (an id is ``<prefix>-<seed>-<key>``).
PREFIX = {"licence": "lic", "inspection": "insp", "case": "case", "scan": "scan", "complaint": "cmp"}
#: How many cross-city corridors carry the baseline's concentrated cross-region flow.
CORRIDORS = 6


def event_id(source: str, seed: int, key: str) -> str:
    """The stream entry id of an event: unique per source and seed."""
    return f"{PREFIX[source]}-{seed}-{key}"


def entry(eid: str, kind: str, occurred_at: str, data: dict) -> dict:
    """The four envelope fields of a stream entry (``data`` as JSON bytes, ready for XADD)."""
    return {"id": eid, "type": kind, "occurred_at": occurred_at, "data": orjson.dumps(data)}


@dataclass(frozen=True)
class Plan:
    """Events of one source as a time column (epoch seconds, ascending) and a row -> entry builder."""

    source: str
    t: np.ndarray
    make: Callable[[int], dict]

    @staticmethod
    def empty(source: str) -> Plan:
        return Plan(source, np.empty(0), lambda i: {})

    def rows(self, start: float, end: float) -> np.ndarray:
        """Rows whose instant lies in [start, end)."""
        lo, hi = np.searchsorted(self.t, [start, end], side="left")
        return np.arange(lo, hi)


class DailyPlans:
    """A source's events, planned one simulated day at a time; the last few days' plans are kept."""

    #: how many plans beyond the current one to keep (a day of scans is large: keep fewer)
    keep_days = 8

    def __init__(self) -> None:
        self._plans: dict[dt.date, Plan] = {}

    def day(self, day: dt.date) -> Plan:
        """The plan of ``day``, computed once."""
        if day not in self._plans:
            if len(self._plans) > self.keep_days:
                self._plans.pop(next(iter(self._plans)))
            self._plans[day] = self._plan(day)
        return self._plans[day]

    def _plan(self, day: dt.date) -> Plan:  # overridden by each source
        return Plan.empty("")


def concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate column dicts with the same keys (empty parts are skipped)."""
    parts = [p for p in parts if p and len(next(iter(p.values())))]
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def take(cols: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in cols.items()}


class World:
    """Licences, counties and helpers to place events, for one (seed, licence count)."""

    def __init__(
        self, settings: Settings, regions: Regions, index: RegionIndex, licence_sim: LicenceSimulator
    ) -> None:
        self.seed = settings.simulator.seed
        self.regions = regions
        self.index = index
        self.lic = licence_sim.licences
        self.n = len(self.lic.number)
        self.names = regions.names()
        counties = regions.counties
        self.codes = counties["adcode"].to_numpy(dtype=np.int64)
        self.cities = counties["parent_adcode"].to_numpy(dtype=np.int64)
        self.pop = counties["pop2020"].to_numpy(dtype=np.float64)
        self.seat_lon = counties["seat_lon"].to_numpy(dtype=np.float64)
        self.seat_lat = counties["seat_lat"].to_numpy(dtype=np.float64)
        self.lo = np.searchsorted(self.lic.county, self.codes, side="left")
        self.hi = np.searchsorted(self.lic.county, self.codes, side="right")
        self.count = self.hi - self.lo
        self.province = int(regions.province["adcode"].iloc[0])

    def rng(self, *parts: int) -> np.random.Generator:
        """The generator of one (source, day, …) of this seed."""
        return np.random.default_rng([self.seed, *(int(p) for p in parts)])

    def pos(self, county: np.ndarray) -> np.ndarray:
        """Row of each county adcode in the county tables."""
        return np.searchsorted(self.codes, np.asarray(county, dtype=np.int64))

    def pick(self, county_pos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random licence (row) in each given county (by table position); -1 where it has none."""
        county_pos = np.asarray(county_pos, dtype=np.int64)
        count = self.count[county_pos]
        rows = self.lo[county_pos] + np.floor(rng.random(county_pos.size) * count).astype(np.int64)
        return np.where(count > 0, rows, -1)

    def jitter(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        metres: float | np.ndarray,
        rng: np.random.Generator,
        county=None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Points moved by Gaussian noise of ``metres`` (σ); kept in ``county`` when given (else unmoved)."""
        lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        z = rng.standard_normal((2, lon.size)) * metres / M_PER_DEG
        nlon = lon + z[0] / np.cos(np.radians(lat))
        nlat = lat + z[1]
        if county is not None and lon.size:
            ok = self.index.contains(nlon, nlat, county)
            nlon, nlat = np.where(ok, nlon, lon), np.where(ok, nlat, lat)
        return nlon, nlat

    def places(self, county_pos: np.ndarray, metres: float, rng: np.random.Generator):
        """WGS-84 points near a random shop of each county (its seat if it has none), inside it."""
        rows = self.pick(county_pos, rng)
        lon = np.where(rows >= 0, self.lic.lon[rows], self.seat_lon[county_pos])
        lat = np.where(rows >= 0, self.lic.lat[rows], self.seat_lat[county_pos])
        return self.jitter(lon, lat, metres, rng, self.codes[county_pos])

    @staticmethod
    def sent(lon: np.ndarray, lat: np.ndarray, crs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """WGS-84 points in the coordinate system each upstream record uses (index into CRS_MIX)."""
        x, y = np.array(lon, dtype=np.float64), np.array(lat, dtype=np.float64)
        for code, name in enumerate(CRS_MIX[0]):
            sel = crs == code
            if sel.any():
                x[sel], y[sel] = from_wgs84(x[sel], y[sel], name)
        return np.round(x, 6), np.round(y, 6)

    @staticmethod
    def point(x: float, y: float, crs: int) -> dict:
        return {"lon": float(x), "lat": float(y), "crs": CRS_MIX[0][int(crs)]}

    def address(self, county: int, road: int, house: int, suffix: str = "号") -> str:
        """A postal address with its region names: 江苏省南京市玄武区中山路12号."""
        city = int(county) // 100 * 100
        return (
            f"{self.names[self.province]}{self.names.get(city, '')}{self.names.get(int(county), '')}"
            f"{ROADS[int(road) % len(ROADS)]}{int(house)}{suffix}"
        )

    @cached_property
    def neighbours(self) -> list[tuple[int, int]]:
        """Pairs (i, j), i < j, of county table rows whose polygons touch."""
        geoms = self.regions.counties.geometry.to_numpy()
        a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        return [(int(i), int(j)) for i, j in zip(a, b, strict=True) if i < j]

    @cached_property
    def corridors(self) -> list[tuple[int, int]]:
        """The baseline cross-region corridors, as (from, to) county table rows.

        Picked from the data: neighbouring counties of different cities, ranked by the product of
        their licence counts (populations when there are too few licences), one per pair of cities;
        goods flow from the county with more licences to the other.
        """
        weight = self.count.astype(np.float64) + self.pop / self.pop.sum()
        pairs = [(i, j) for i, j in self.neighbours if self.cities[i] != self.cities[j]]
        pairs.sort(key=lambda p: (-weight[p[0]] * weight[p[1]], p))
        out: list[tuple[int, int]] = []
        seen: set[tuple[int, int]] = set()
        for i, j in pairs:
            key = tuple(sorted((int(self.cities[i]), int(self.cities[j]))))
            if key in seen:
                continue
            seen.add(key)
            out.append((i, j) if weight[i] >= weight[j] else (j, i))
            if len(out) == CORRIDORS:
                break
        return out

    def shared_border_point(self, i: int, j: int, rng: np.random.Generator) -> tuple[float, float]:
        """A point on the border between county rows ``i`` and ``j`` (WGS-84)."""
        geoms = self.regions.counties.geometry.to_numpy()
        line = shapely.intersection(shapely.boundary(geoms[i]), shapely.boundary(geoms[j]))
        parts = [g for g in shapely.get_parts(shapely.get_parts(line)) if g.geom_type == "LineString"]
        if not parts:
            parts = [shapely.shortest_line(geoms[i], geoms[j])]
        longest = max(parts, key=lambda g: g.length)
        p = shapely.line_interpolate_point(longest, 0.2 + 0.6 * rng.random(), normalized=True)
        return float(p.x), float(p.y)
