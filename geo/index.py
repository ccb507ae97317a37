"""Point -> county lookup over the loaded regions, with a shapely 2 STRtree.

The tree holds the county polygons; one bulk ``query(points, predicate="intersects")`` call finds
every (point, county) pair in C, with the polygons prepared, so 100,000 points take about 0.1 s
(most of it creating the point objects). A point on an edge shared by two counties intersects
both: it resolves to the lower adcode, so the answer never depends on the tree's internal order.
``contains`` answers "is this point in that county?" with the same rule, an order of magnitude
faster, by testing each point against one polygon.

Large batches (the stream consumer's) first look at a grid: a box of the grid that lies inside one
county and touches no other, or touches none, answers for every point in it without GEOS; only the
points in boxes crossed by a boundary reach the tree. Each box is tested slightly enlarged, so a
point that rounding puts in the neighbouring box still lies in the box that answers: the grid gives
exactly the tree's answer (tests/unit/test_index_grid.py compares them).
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from geo.boundaries import Regions

_NONE = np.iinfo(np.int64).max
_STEP = 0.04  # degrees: the coarse grid's boxes (about 4 km)
_SPLIT = 4  # a coarse box crossed by a boundary is split into 4 x 4 fine boxes
_EPS = 1e-9  # degrees each box is enlarged by when tested (rounding is ~1e-14)
_GRID_MIN = 64  # points in one call before the grid is worth building (about 0.1 s, once)
_MIXED = -1


class RegionIndex:
    """Find the county (and so the city and province) of WGS-84 points.

    Build it once per :class:`~geo.boundaries.Regions` and share it: it is read-only after
    construction, so it is safe to use from several threads.
    """

    def __init__(self, regions: Regions) -> None:
        """Index the county polygons of ``regions``."""
        counties = regions.counties
        self.regions = regions
        self.adcodes: NDArray[np.int64] = counties["adcode"].to_numpy(dtype=np.int64)
        geoms = counties.geometry.to_numpy()
        shapely.prepare(geoms)
        self._geoms = geoms
        self._tree = shapely.STRtree(geoms)
        self._conflicts = self._lower_overlaps(geoms)
        self._bounds = shapely.total_bounds(geoms)
        self._province = int(regions.province["adcode"].iloc[0])
        self._parents = counties["parent_adcode"].to_numpy(dtype=np.int64)
        # A sorted copy of the adcodes turns adcode -> row into one searchsorted call.
        self._order = np.argsort(self.adcodes)
        self._sorted = self.adcodes[self._order]
        self._grid: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None

    def lookup(self, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.int64]:
        """County adcode of each point (0 where a point lies in no county); shape of the broadcast input."""
        x, y = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
        shape = x.shape
        x, y = x.ravel(), y.ravel()
        out = np.zeros(x.size, dtype=np.int64)
        x0, y0, x1, y1 = self._bounds
        # Points far outside the province (the common "elsewhere" case) never reach GEOS.
        near = np.flatnonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
        if near.size >= _GRID_MIN or (near.size and self._grid is not None):
            codes = self._grid_lookup(x[near], y[near])
            out[near] = np.maximum(codes, 0)
            near = near[codes == _MIXED]
        if near.size:
            point_idx, geom_idx = self._tree.query(shapely.points(x[near], y[near]), predicate="intersects")
            best = np.full(near.size, _NONE, dtype=np.int64)
            np.minimum.at(best, point_idx, self.adcodes[geom_idx])
            out[near] = np.where(best == _NONE, 0, best)
        return out.reshape(shape)

    def build_grid(self) -> None:
        """Build the lookup grid now (about 0.1 s) rather than in the first large lookup: a consumer
        calls it at start-up, so its first batch does not pay for it."""
        if self._grid is None:
            self._grid = self._build_grid()

    def _grid_lookup(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
        """Per point (inside the bounds): its county, 0 for none, or ``_MIXED`` (ask the tree)."""
        self.build_grid()
        coarse, fine = self._grid
        x0, y0 = self._bounds[0], self._bounds[1]
        ny, nx = coarse.shape
        cx = np.minimum(((x - x0) / _STEP).astype(np.int64), nx - 1)
        cy = np.minimum(((y - y0) / _STEP).astype(np.int64), ny - 1)
        codes = coarse[cy, cx]
        split = np.flatnonzero(codes < _MIXED)  # -2 - k: the k-th split box
        if split.size:
            sx, sy = cx[split], cy[split]
            fx = np.clip(((x[split] - (x0 + sx * _STEP)) / (_STEP / _SPLIT)).astype(np.int64), 0, _SPLIT - 1)
            fy = np.clip(((y[split] - (y0 + sy * _STEP)) / (_STEP / _SPLIT)).astype(np.int64), 0, _SPLIT - 1)
            codes[split] = fine[-2 - codes[split], fy, fx]
        return codes

    def _box_codes(
        self, xmin: NDArray[np.float64], ymin: NDArray[np.float64], size: float
    ) -> NDArray[np.int64]:
        """Per box (enlarged by ``_EPS``): the county it lies in touching no other, 0 if it touches no
        county, else ``_MIXED``."""
        boxes = shapely.box(xmin - _EPS, ymin - _EPS, xmin + size + _EPS, ymin + size + _EPS)
        box_idx, geom_idx = self._tree.query(boxes, predicate="intersects")
        hits = np.bincount(box_idx, minlength=boxes.size)
        only = np.full(boxes.size, -1, dtype=np.int64)
        only[box_idx] = geom_idx
        codes = np.where(hits == 0, 0, _MIXED).astype(np.int64)
        one = np.flatnonzero(hits == 1)
        inside = one[shapely.within(boxes[one], self._geoms[only[one]])]
        codes[inside] = self.adcodes[only[inside]]
        return codes

    def _build_grid(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """The coarse grid over the bounds (codes, or -2 - k for the k-th split box) and the fine boxes."""
        x0, y0, x1, y1 = self._bounds
        nx, ny = int((x1 - x0) // _STEP) + 1, int((y1 - y0) // _STEP) + 1
        iy, ix = np.divmod(np.arange(nx * ny), nx)
        coarse = self._box_codes(x0 + ix * _STEP, y0 + iy * _STEP, _STEP)
        split = np.flatnonzero(coarse == _MIXED)
        fy, fx = np.divmod(np.arange(_SPLIT * _SPLIT), _SPLIT)
        fine_x = (x0 + ix[split] * _STEP)[:, None] + fx[None, :] * (_STEP / _SPLIT)
        fine_y = (y0 + iy[split] * _STEP)[:, None] + fy[None, :] * (_STEP / _SPLIT)
        fine = self._box_codes(fine_x.ravel(), fine_y.ravel(), _STEP / _SPLIT)
        coarse[split] = -2 - np.arange(split.size)
        return coarse.reshape(ny, nx), fine.reshape(split.size, _SPLIT, _SPLIT)

    def contains(self, lon: ArrayLike, lat: ArrayLike, county: ArrayLike) -> NDArray[np.bool_]:
        """Whether each point belongs to the given county: exactly ``lookup(lon, lat) == county``.

        Much faster than a lookup when the candidate county is known (the sampler's rejection test,
        checking an upstream-supplied region), since each point is tested against one polygon.
        """
        x, y, codes = np.broadcast_arrays(
            np.asarray(lon, dtype=np.float64),
            np.asarray(lat, dtype=np.float64),
            np.asarray(county, dtype=np.int64),
        )
        pos = self._positions(codes.ravel())
        x, y = x.ravel(), y.ravel()
        inside = shapely.intersects_xy(self._geoms[pos], x, y)
        # A point on an edge (or in an overlap) shared with a lower adcode belongs to that one.
        check = np.flatnonzero(inside & self._has_conflict[pos])
        if check.size:
            inside[check] = ~shapely.intersects_xy(self._conflicts[pos[check]], x[check], y[check])
        return inside.reshape(codes.shape)

    def lookup_one(self, lon: float, lat: float) -> int:
        """County adcode of one point, 0 if it lies in no county."""
        return int(self.lookup(np.array([lon]), np.array([lat]))[0])

    def cities_of(self, counties: ArrayLike) -> NDArray[np.int64]:
        """City adcode of each county adcode (0 stays 0; an unknown adcode raises KeyError)."""
        codes = np.asarray(counties, dtype=np.int64)
        out = np.zeros(codes.shape, dtype=np.int64)
        known = codes != 0
        out[known] = self._parents[self._positions(codes[known])]
        return out

    def chain(self, county_adcode: int) -> tuple[int, int, int]:
        """(county, city, province) adcodes of a county; (0, 0, 0) for 0, the "nowhere" answer."""
        if int(county_adcode) == 0:
            return (0, 0, 0)
        city = int(self.cities_of(np.array([county_adcode]))[0])
        return (int(county_adcode), city, self._province)

    def _positions(self, codes: NDArray[np.int64]) -> NDArray[np.intp]:
        """Row of each county adcode in the county frame; unknown adcodes raise KeyError."""
        pos = np.clip(np.searchsorted(self._sorted, codes), 0, len(self._sorted) - 1)
        bad = self._sorted[pos] != codes
        if bad.any():
            raise KeyError(f"unknown county adcodes {np.unique(codes[bad])[:10].tolist()}")
        return self._order[pos]

    def _lower_overlaps(self, geoms: NDArray[np.object_]) -> NDArray[np.object_]:
        """Per county, where it meets lower-adcode counties (shared edges, overlaps): those win there."""
        conflicts = np.empty(len(geoms), dtype=object)
        for i, geom in enumerate(geoms):
            near = self._tree.query(geom, predicate="intersects")
            lower = near[self.adcodes[near] < self.adcodes[i]]
            parts = shapely.intersection(geom, geoms[lower]) if lower.size else []
            conflicts[i] = shapely.union_all(parts) if len(parts) else shapely.GeometryCollection()
        self._has_conflict = ~shapely.is_empty(conflicts)
        shapely.prepare(conflicts)
        return conflicts
