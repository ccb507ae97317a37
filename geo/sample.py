"""Simulated retail-licence locations: many near each county seat, fewer in the countryside.

Shops cluster in towns, so each county's points are a mix: ``GAUSSIAN_SHARE`` (65 %) from a round
2-D Gaussian around the county seat whose spread grows with the square root of the county's
population (a town of twice the people covers twice the area) but stays within the county's own
size, and the rest uniform over the county polygon. Candidates are drawn in bulk and rejected
unless :meth:`~geo.index.RegionIndex.contains` places them in their own county, so every point lies
in its county. Only ``rng`` supplies randomness: the same seed gives the same points.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import shapely
from numpy.typing import NDArray

from geo.boundaries import Regions
from geo.index import RegionIndex

GAUSSIAN_SHARE: Final = 0.65
# The Gaussian's spread: picture the county's people living at CORE_DENSITY per km2 in a disc
# around the seat, radius r = sqrt(pop / (pi * CORE_DENSITY)); sigma = r / 2 puts ~86 % inside it.
CORE_DENSITY: Final = 10_000.0
# The spread stays between these fractions of the county's equivalent radius sqrt(area / pi).
SIGMA_MIN: Final = 0.08
SIGMA_MAX: Final = 0.35
KM_PER_DEGREE: Final = 111.32
_MAX_ROUNDS: Final = 60
_MIN_RATE: Final = 0.05


def county_counts(regions: Regions, total: int) -> dict[int, int]:
    """Split ``total`` over the counties in proportion to pop2020; the counts sum exactly to ``total``.

    Largest-remainder method: everyone gets the floor of their share, then the units left go to the
    largest fractional parts (ties to the lower adcode, so the result is deterministic).
    """
    if total < 0:
        raise ValueError(f"total must be >= 0, got {total}")
    codes = regions.counties["adcode"].to_numpy(dtype=np.int64)
    pop = regions.counties["pop2020"].to_numpy(dtype=np.float64)
    if pop.sum() <= 0:
        raise ValueError("counties have no population to distribute over")
    quota = pop / pop.sum() * total
    base = np.floor(quota).astype(np.int64)
    left = int(total - base.sum())
    order = np.lexsort((codes, -(quota - base)))
    base[order[:left]] += 1
    return {int(c): int(n) for c, n in zip(codes, base, strict=True)}


def sample_licence_points(
    regions: Regions, index: RegionIndex, counts: dict[int, int], rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Place ``counts[county]`` WGS-84 points in each county; returns (lon, lat, county adcode).

    The points come out shuffled (so a stream of them is spread over the province), every point
    inside its own county as :meth:`RegionIndex.lookup` sees it.
    """
    frame = regions.counties.set_index("adcode")
    unknown = sorted(set(counts) - set(frame.index))
    if unknown:
        raise ValueError(f"counts name unknown county adcodes {unknown[:10]}")
    negative = sorted(c for c, n in counts.items() if n < 0)
    if negative:
        raise ValueError(f"counts must be >= 0; negative for {negative[:10]}")
    codes = np.array(sorted(c for c, n in counts.items() if n > 0), dtype=np.int64)
    if codes.size == 0:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    rows = frame.loc[codes]
    n = np.array([counts[int(c)] for c in codes], dtype=np.int64)
    n_gauss = np.round(n * GAUSSIAN_SHARE).astype(np.int64)

    geoms = rows.geometry.to_numpy()
    seat_lon = rows["seat_lon"].to_numpy(dtype=np.float64)
    seat_lat = rows["seat_lat"].to_numpy(dtype=np.float64)
    bounds = shapely.bounds(geoms)
    area_deg2 = shapely.area(geoms)
    # Local flat-earth area is plenty for choosing a spread.
    area_km2 = area_deg2 * KM_PER_DEGREE**2 * np.cos(np.radians(seat_lat))
    radius = np.sqrt(area_km2 / np.pi)
    core = np.sqrt(rows["pop2020"].to_numpy(dtype=np.float64) / (np.pi * CORE_DENSITY)) / 2.0
    sigma_km = np.clip(core, SIGMA_MIN * radius, SIGMA_MAX * radius)

    def gauss(group: NDArray[np.int64], m: int) -> tuple[NDArray, NDArray]:
        s_lat = sigma_km[group] / KM_PER_DEGREE
        s_lon = s_lat / np.cos(np.radians(seat_lat[group]))
        z = rng.standard_normal((2, m))
        return seat_lon[group] + z[0] * s_lon, seat_lat[group] + z[1] * s_lat

    def uniform(group: NDArray[np.int64], m: int) -> tuple[NDArray, NDArray]:
        u = rng.random((2, m))
        b = bounds[group]
        return b[:, 0] + u[0] * (b[:, 2] - b[:, 0]), b[:, 1] + u[1] * (b[:, 3] - b[:, 1])

    # Expected acceptance sizes the first round of candidates: the polygon's share of its bbox for
    # the uniform part; most of a Gaussian clipped to SIGMA_MAX of the county falls inside it.
    bbox_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    uniform_rate = np.clip(area_deg2 / bbox_area, _MIN_RATE, 1.0)
    g_lon, g_lat, g_cty = _fill(index, codes, n_gauss, np.full(codes.size, 0.8), gauss)
    u_lon, u_lat, u_cty = _fill(index, codes, n - n_gauss, uniform_rate, uniform)
    lon = np.concatenate([g_lon, u_lon])
    lat = np.concatenate([g_lat, u_lat])
    county = np.concatenate([g_cty, u_cty])
    order = rng.permutation(lon.size)
    return lon[order], lat[order], county[order]


def _fill(
    index: RegionIndex,
    codes: NDArray[np.int64],
    need: NDArray[np.int64],
    rate: NDArray[np.float64],
    draw: Callable[[NDArray[np.int64], int], tuple[NDArray[np.float64], NDArray[np.float64]]],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Rejection-sample ``need[i]`` points in county ``codes[i]`` from ``draw``, all counties at once.

    Each round draws, per unfinished county, enough candidates for its shortfall at its expected
    acceptance rate (plus a margin), looks them all up in one call, and keeps the first accepted
    ones; the rate is re-estimated from what was seen, so one or two rounds usually suffice.
    """
    remaining = need.astype(np.int64).copy()
    rate = rate.astype(np.float64).copy()
    parts: list[tuple[NDArray, NDArray, NDArray]] = []
    for _ in range(_MAX_ROUNDS):
        active = np.flatnonzero(remaining > 0)
        if active.size == 0:
            break
        per_county = np.ceil(remaining[active] / rate[active] * 1.15).astype(np.int64) + 4
        # np.repeat keeps candidates grouped by county in ascending order, which the ranking needs.
        group = np.repeat(active, per_county)
        lon, lat = draw(group, group.size)
        ok = index.contains(lon, lat, codes[group])
        accepted = group[ok]
        hits = np.bincount(accepted, minlength=codes.size)
        rate[active] = np.maximum(hits[active] / per_county, _MIN_RATE)
        rank = np.arange(accepted.size) - (np.cumsum(hits) - hits)[accepted]
        keep = rank < remaining[accepted]
        parts.append((lon[ok][keep], lat[ok][keep], codes[accepted[keep]]))
        remaining -= np.minimum(hits, remaining)
    if remaining.any():
        short = codes[remaining > 0][:10].tolist()
        raise RuntimeError(f"could not place points inside counties {short} after {_MAX_ROUNDS} rounds")
    if not parts:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )
