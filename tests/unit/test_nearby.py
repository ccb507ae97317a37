"""indicators/nearby.py: the grid search finds exactly what the pairwise matrix finds, in bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from indicators.nearby import KM_PER_DEGREE, haversine_km, seed_groups


def oracle(lon, lat, t, radius_km, span, k) -> list[list[int]]:
    """The former implementation: an n × n distance matrix, seeds merged by repeated set unions."""
    lon, lat, t = (np.asarray(x, dtype=float) for x in (lon, lat, t))
    near = haversine_km(lon[:, None], lat[:, None], lon[None, :], lat[None, :]) <= radius_km
    merged: list[set[int]] = []
    for i in range(len(lon)):
        m = set(np.flatnonzero(near[i] & (t >= t[i]) & (t <= t[i] + span)).tolist())
        if len(m) < k:
            continue
        for g in [g for g in merged if g & m]:
            merged.remove(g)
            m |= g
        merged.append(m)
    return sorted((sorted(g) for g in merged), key=lambda g: g[0])


def scatter(seed: int, n: int, centre=(118.8, 32.0), spread_km=10.0, days=10, decimals=None):
    """Points around ``centre``; ``decimals`` rounds the coordinates so that many share a location."""
    rng = np.random.default_rng(seed)
    lon = centre[0] + rng.normal(0, spread_km / 94.0, n)
    lat = centre[1] + rng.normal(0, spread_km / 111.0, n)
    if decimals is not None:
        lon, lat = lon.round(decimals), lat.round(decimals)
    return lon, lat, rng.integers(0, days * 86_400_000, n).astype(float)


@pytest.mark.parametrize(
    ("seed", "n", "centre", "spread_km", "radius", "k", "decimals"),
    [
        (1, 300, (118.8, 32.0), 10.0, 2.0, 3, None),  # Nanjing, scattered
        (2, 400, (120.6, 31.3), 3.0, 2.0, 5, None),  # Suzhou, dense: big merged groups
        (3, 200, (119.0, 34.5), 30.0, 2.0, 3, None),  # north of the province, sparse: few or no seeds
        (4, 300, (118.8, 32.0), 5.0, 0.5, 2, None),  # small radius
        (5, 300, (10.0, 78.0), 5.0, 2.0, 3, None),  # far north: degrees of longitude are short
        (6, 250, (118.8, -33.0), 5.0, 2.0, 3, None),  # southern hemisphere
        (7, 150, (118.8, 32.0), 6.0, 1.5, 3, 2),  # cases sharing a location (coordinates to 0.01°)
        (8, 120, (118.8, 32.0), 25.0, 10.0, 4, 1),  # few locations 0.1° apart, a radius reaching the next
    ],
)
def test_same_groups_as_the_pairwise_matrix(seed, n, centre, spread_km, radius, k, decimals):
    lon, lat, t = scatter(seed, n, centre, spread_km, decimals=decimals)
    span = 3 * 86_400_000
    expected = oracle(lon, lat, t, radius, span, k)
    assert seed_groups(lon, lat, t, radius, span, k) == expected
    if seed != 3:
        assert expected, "the case must exercise groups"


@pytest.mark.parametrize(
    ("dlat_km", "k", "grouped"),
    [(1.999, 2, True), (2.001, 2, False)],  # just inside / just outside the radius, across a cell edge
)
def test_radius_is_inclusive_and_exact(dlat_km, k, grouped):
    lat0 = 1.1 * 2.0 / KM_PER_DEGREE * 10 - 1e-9  # right at a grid-cell boundary
    lon = np.array([118.0, 118.0])
    lat = np.array([lat0, lat0 + dlat_km / KM_PER_DEGREE])
    got = seed_groups(lon, lat, np.array([0.0, 1.0]), 2.0, 10.0, k)
    assert got == ([[0, 1]] if grouped else [])


@pytest.mark.parametrize(
    ("times", "span", "expected"),
    [
        ([0, 5, 10], 10, [[0, 1, 2]]),  # all within span after the first
        ([0, 5, 11], 10, []),  # the third is too late for the first; no seed has 3
        ([10, 5, 0], 10, [[0, 1, 2]]),  # order of input does not matter
    ],
)
def test_time_window_counts_only_later_points(times, span, expected):
    lon, lat = np.full(3, 118.8), np.full(3, 32.0)
    assert seed_groups(lon, lat, np.array(times, dtype=float), 2.0, span, 3) == expected


def test_empty_and_single():
    assert seed_groups([], [], [], 2.0, 1.0, 2) == []
    assert seed_groups([118.8], [32.0], [0.0], 2.0, 1.0, 1) == [[0]]


def test_thousands_at_one_point_stay_in_bounded_memory():
    """The soak's case: every case at one point. The matrix held 5 n² floats (1 GB at 5,000)."""
    n = 5000
    lon, lat = np.full(n, 118.78), np.full(n, 32.04)
    t = np.arange(n, dtype=float)
    tracemalloc.start()
    try:
        groups = seed_groups(lon, lat, t, 2.0, float(n), 3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert groups == [list(range(n))]  # one group: the last two are members of the seeds before them
    assert peak < 150 * 2**20, f"peak {peak / 2**20:.0f} MB"
