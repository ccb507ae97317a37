"""geo.index: the grid that answers large lookups gives exactly the STRtree's answer, point for point."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from core.settings import Settings
from geo.boundaries import load_regions
from geo.index import _MIXED, _SPLIT, _STEP, RegionIndex


@pytest.fixture(scope="module")
def index() -> RegionIndex:
    return RegionIndex(load_regions(Settings()))


def tree_lookup(index: RegionIndex, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The answer without the grid: every county the point intersects, the lowest adcode wins."""
    point_idx, geom_idx = index._tree.query(shapely.points(x, y), predicate="intersects")
    none = np.iinfo(np.int64).max
    best = np.full(x.size, none, dtype=np.int64)
    np.minimum.at(best, point_idx, index.adcodes[geom_idx])
    return np.where(best == none, 0, best)


def hard_points(index: RegionIndex, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points on and next to grid lines, on county boundaries (vertices and edges), and at random."""
    x0, y0, x1, y1 = index._bounds
    n = 100_000
    xs = [rng.uniform(x0 - 0.1, x1 + 0.1, n)]
    ys = [rng.uniform(y0 - 0.1, y1 + 0.1, n)]
    # on the lines of the fine grid (every coarse line is one too), exactly and a hair either side
    fine = _STEP / _SPLIT
    lines_x = x0 + np.arange(int((x1 - x0) / fine) + 2) * fine
    lines_y = y0 + np.arange(int((y1 - y0) / fine) + 2) * fine
    for d in (0.0, 1e-12, -1e-12, 1e-10):
        xs.append(rng.choice(lines_x, n // 4) + d)
        ys.append(rng.uniform(y0, y1, n // 4))
        xs.append(rng.uniform(x0, x1, n // 4))
        ys.append(rng.choice(lines_y, n // 4) + d)
    # county boundaries: every vertex, and points along the edges
    boundary = shapely.get_coordinates(shapely.boundary(index._geoms))
    xs.append(boundary[:, 0])
    ys.append(boundary[:, 1])
    t = rng.uniform(0, 1, len(boundary) - 1)
    xs.append(boundary[:-1, 0] + t * np.diff(boundary[:, 0]))
    ys.append(boundary[:-1, 1] + t * np.diff(boundary[:, 1]))
    # the bounds' own corners and edges
    xs.append(np.array([x0, x1, x0, x1, (x0 + x1) / 2]))
    ys.append(np.array([y0, y1, y1, y0, y1]))
    return np.concatenate(xs), np.concatenate(ys)


def test_grid_gives_the_tree_answer_everywhere(index: RegionIndex) -> None:
    x, y = hard_points(index, np.random.default_rng(11))
    got = index.lookup(x, y)
    assert index._grid is not None  # the large call went through the grid
    np.testing.assert_array_equal(got, tree_lookup(index, x, y))
    # and small calls after it, which now use the grid too
    for k in range(0, 2_000, 7):
        assert index.lookup_one(x[k], y[k]) == tree_lookup(index, x[k : k + 1], y[k : k + 1])[0]


def test_grid_answers_most_points_itself(index: RegionIndex) -> None:
    """The grid is worth having: inside the province most points never reach GEOS."""
    rng = np.random.default_rng(3)
    sample = index.regions.counties.geometry.sample_points(200, rng=rng).explode()
    x, y = sample.x.to_numpy(), sample.y.to_numpy()
    codes = index._grid_lookup(x, y)
    assert (codes == _MIXED).mean() < 0.2
    answered = codes != _MIXED
    np.testing.assert_array_equal(codes[answered], tree_lookup(index, x[answered], y[answered]))
