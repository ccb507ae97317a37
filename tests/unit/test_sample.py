"""geo.sample: licence counts per county and simulated licence points."""

from __future__ import annotations

import numpy as np
import pytest

import geo.sample
from core.settings import Settings
from geo.boundaries import Regions, load_regions
from geo.index import RegionIndex
from geo.sample import county_counts, sample_licence_points


@pytest.fixture(scope="module")
def regions() -> Regions:
    return load_regions(Settings())


@pytest.fixture(scope="module")
def index(regions: Regions) -> RegionIndex:
    return RegionIndex(regions)


@pytest.mark.parametrize("total", [0, 1, 7, 94, 95, 96, 1000, 250_000, 1_234_567])
def test_county_counts_sum_exactly(regions: Regions, total: int) -> None:
    counts = county_counts(regions, total)
    assert sum(counts.values()) == total
    assert set(counts) == set(regions.counties["adcode"].tolist())
    pop = regions.counties.set_index("adcode")["pop2020"]
    quota = pop / pop.sum() * total
    # Largest remainder: nobody is more than one away from their exact share.
    assert all(abs(counts[c] - quota[c]) < 1 for c in counts)


def test_county_counts_follow_population(regions: Regions) -> None:
    counts = county_counts(regions, 1_000_000)
    pop = regions.counties.set_index("adcode")["pop2020"]
    biggest, smallest = pop.idxmax(), pop.idxmin()
    assert counts[biggest] > counts[smallest] * (pop[biggest] / pop[smallest]) * 0.99
    assert county_counts(regions, 1_000_000) == counts
    with pytest.raises(ValueError, match="-5"):
        county_counts(regions, -5)


def test_sample_places_every_point_in_its_county(regions: Regions, index: RegionIndex) -> None:
    counts = county_counts(regions, 50_000)
    lon, lat, county = sample_licence_points(regions, index, counts, np.random.default_rng(1))
    assert len(lon) == len(lat) == len(county) == 50_000
    assert county.dtype == np.int64 and lon.dtype == np.float64
    assert (index.lookup(lon, lat) == county).all()
    codes, per_county = np.unique(county, return_counts=True)
    assert dict(zip(codes.tolist(), per_county.tolist(), strict=True)) == {
        c: n for c, n in counts.items() if n
    }


def test_sample_is_deterministic(regions: Regions, index: RegionIndex) -> None:
    counts = county_counts(regions, 5_000)
    first = sample_licence_points(regions, index, counts, np.random.default_rng(42))
    second = sample_licence_points(regions, index, counts, np.random.default_rng(42))
    other = sample_licence_points(regions, index, counts, np.random.default_rng(43))
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_sample_is_dense_around_the_seat(
    regions: Regions, index: RegionIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 沭阳县, a large rural county: the mix must sit much closer to the seat than uniform points do.
    code = 321322
    seat = regions.counties.set_index("adcode").loc[code, ["seat_lon", "seat_lat"]].to_numpy(dtype=float)

    def median_distance() -> float:
        lon, lat, _ = sample_licence_points(regions, index, {code: 4000}, np.random.default_rng(9))
        return float(np.median(np.hypot((lon - seat[0]) * np.cos(np.radians(seat[1])), lat - seat[1])))

    mixed = median_distance()
    monkeypatch.setattr(geo.sample, "GAUSSIAN_SHARE", 0.0)
    uniform = median_distance()
    assert mixed < 0.6 * uniform


def test_sample_edge_cases(regions: Regions, index: RegionIndex) -> None:
    rng = np.random.default_rng(0)
    lon, lat, county = sample_licence_points(regions, index, {}, rng)
    assert lon.size == lat.size == county.size == 0
    lon, lat, county = sample_licence_points(regions, index, {320102: 1, 320104: 0}, rng)
    assert county.tolist() == [320102] and index.lookup_one(lon[0], lat[0]) == 320102
    with pytest.raises(ValueError, match="310101"):
        sample_licence_points(regions, index, {310101: 3}, rng)
    with pytest.raises(ValueError, match="320102"):
        sample_licence_points(regions, index, {320102: -1}, rng)
