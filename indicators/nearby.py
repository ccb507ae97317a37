"""Clusters of points near in space and time, without an n × n matrix: the maths under case_cluster.

The detector used to build a pairwise distance matrix: 8·n² bytes per temporary. A compressed soak
fed ~24,000 cases at one point and the worker was OOM-killed at 22.9 GB (docs/performance.md, soak).
Here cases are grouped by distinct location; the locations go into grid cells at least ``radius``
wide, and each location is measured only against the locations of its own and the eight surrounding
cells, a bounded block at a time. A location's neighbourhood is kept in time order, so a seed's
members are one slice of it; overlapping slices merge as intervals, and groups through a vectorised
union-find. Memory stays O(n + block) whatever the data. Time is ~O(n log n) for many cases at few
locations (24,000 at one point: 0.02 s) and ~O(n²) numpy work for thousands of distinct locations
within a few km of each other (24,000 such: 22 s).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

EARTH_DIAMETER_KM = 12742.0
#: km per degree of latitude on the sphere the distances use (2πR / 360)
KM_PER_DEGREE = EARTH_DIAMETER_KM * np.pi / 360.0
#: distances computed per block (rows × neighbourhood): bounds the temporaries to a few tens of MB
BLOCK = 1_000_000


def haversine_km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distances (km) between points 1 and points 2 (broadcast), in degrees WGS-84."""
    lo1, la1, lo2, la2 = (np.radians(np.asarray(x, dtype=float)) for x in (lon1, lat1, lon2, lat2))
    a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return EARTH_DIAMETER_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _cells(lon: np.ndarray, lat: np.ndarray, radius_km: float) -> dict[tuple[int, int], np.ndarray]:
    """Point indices per grid cell. A cell is ``radius`` (+10 %) tall and, at the data's highest
    latitude (where a degree of longitude is shortest), as wide: two points within ``radius`` always
    lie in the same or adjacent cells."""
    step_lat = 1.1 * radius_km / KM_PER_DEGREE
    widest = min(float(np.abs(lat).max()) + step_lat, 89.0)
    step_lon = min(step_lat / np.cos(np.radians(widest)), 360.0)
    cx, cy = np.floor(lon / step_lon).astype(np.int64), np.floor(lat / step_lat).astype(np.int64)
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, key in enumerate(zip(cx.tolist(), cy.tolist(), strict=True)):
        cells[key].append(i)
    return {k: np.asarray(v, dtype=np.int64) for k, v in cells.items()}


def _roots(parent: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Roots of ``idx`` in the union-find forest (pointer jumping, vectorised)."""
    r = parent[idx]
    while True:
        up = parent[r]
        if np.array_equal(up, r):
            return r
        r = up


def seed_groups(
    lon: np.ndarray, lat: np.ndarray, t: np.ndarray, radius_km: float, span: float, k: int
) -> list[list[int]]:
    """Groups of points around "seeds", merged when they share a point.

    A point i is a seed when at least ``k`` points j (i included) lie within ``radius_km`` of it
    (great circle) with ``t[i] <= t[j] <= t[i] + span``; its members are those points. Seeds sharing a
    member are merged, transitively. Returns each group's sorted indices, ordered by smallest index.

    Distances are measured between distinct locations (many cases often share one point), and a
    location's neighbourhood is kept in time order, so a seed's members are one slice of it: counting
    is a binary search and overlapping slices merge as intervals.
    """
    lon, lat, t = (np.asarray(x, dtype=float) for x in (lon, lat, t))
    n = len(lon)
    if n == 0:
        return []
    places, loc = np.unique(np.column_stack([lon, lat]), axis=0, return_inverse=True)
    loc = loc.ravel()
    by_place = np.argsort(loc, kind="stable")  # points grouped by location (CSR)
    bounds = np.searchsorted(loc[by_place], np.arange(len(places) + 1))
    parent = np.arange(n)
    used = np.zeros(n, dtype=bool)
    cells = _cells(places[:, 0], places[:, 1], radius_km)
    for (x, y), own in cells.items():
        around = [cells.get((x + dx, y + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        around = np.sort(np.concatenate([a for a in around if a is not None]))
        # the points at the neighbourhood's locations, in time order, with their location's position
        pts = np.concatenate([by_place[bounds[p] : bounds[p + 1]] for p in around.tolist()])
        pts = pts[np.argsort(t[pts], kind="stable")]
        where = np.searchsorted(around, loc[pts])
        rows = max(1, BLOCK // len(around))
        for start in range(0, len(own), rows):
            block = own[start : start + rows]
            d = haversine_km(
                places[block, 0][:, None], places[block, 1][:, None],
                places[around, 0][None, :], places[around, 1][None, :],
            )  # fmt: skip
            for row, u in enumerate(block.tolist()):
                members = pts[(d[row] <= radius_km)[where]]  # within radius of location u, in time order
                here = by_place[bounds[u] : bounds[u + 1]]
                _merge_seeds(members, t, here, span, k, parent, used)
    groups: dict[int, list[int]] = defaultdict(list)
    idx = np.flatnonzero(used)
    for i, r in zip(idx.tolist(), _roots(parent, idx).tolist(), strict=True):
        groups[r].append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def _merge_seeds(
    members: np.ndarray,
    t: np.ndarray,
    here: np.ndarray,
    span: float,
    k: int,
    parent: np.ndarray,
    used: np.ndarray,
) -> None:
    """Union the members of the seeds among ``here`` (points at one location); ``members`` are the
    points within radius of that location in time order, so a point's members are one slice."""
    times = t[members]
    start = t[here]
    lo = np.searchsorted(times, start, side="left")
    hi = np.searchsorted(times, start + span, side="right")
    seed = hi - lo >= k
    if not seed.any():
        return
    lo, hi = lo[seed], hi[seed]
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], np.maximum.accumulate(hi[order])
    # slices that overlap share a member: merge them as intervals
    breaks = np.flatnonzero(lo[1:] >= hi[:-1]) + 1
    for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(lo)], strict=True):
        span_members = members[lo[a] : hi[b - 1]]
        used[span_members] = True
        found = _roots(parent, span_members)
        parent[span_members] = found  # path compression: later look-ups stay one jump deep
        if not (found == found[0]).all():
            roots = np.unique(found)
            parent[roots] = roots[0]
