"""geo.coords: published control points, exact inverses, round trips, out-of-China points."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.coords import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

EARTH_RADIUS_M = 6371008.8


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in metres (numpy, vectorised)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


# github.com/Glatzel/pyxis, python/tests/test_crypto.py: one point near Jiangsu in all three systems.
PYXIS_WGS = (121.0917077, 30.6107779)
PYXIS_GCJ = (121.09626935575027, 30.608604331756705)
PYXIS_BD = (121.10271732371203, 30.61484572185035)

# Forward conversions (closed-form, so published values must be reproduced to the last digits).
# Each row: function, input (lon, lat), expected (lon, lat), tolerance in degrees, source.
FORWARD = [
    # github.com/wandergis/coordtransform, test/app.js ("result" comments), input (116.404, 39.915).
    (wgs84_to_gcj02, (116.404, 39.915), (116.41024449916938, 39.91640428150164), 1e-9, "coordtransform"),
    (gcj02_to_bd09, (116.404, 39.915), (116.41036949371029, 39.92133699351021), 1e-9, "coordtransform"),
    (bd09_to_gcj02, (116.404, 39.915), (116.39762729119315, 39.90865673957631), 1e-9, "coordtransform"),
    # github.com/googollee/eviltransform, python/test.py TESTS (given there as lat, lng pairs).
    (wgs84_to_gcj02, (121.5272106, 31.1774276), (121.531541859215, 31.17530398364597), 1e-9, "evil shanghai"),
    (wgs84_to_gcj02, (113.912316, 22.543847), (113.9171764808363, 22.540796131694766), 1e-9, "evil shenzhen"),
    (wgs84_to_gcj02, (116.377817, 39.911954), (116.38404722455657, 39.91334545536069), 1e-9, "evil beijing"),
    # pyxis uses the WGS-84 radius (6378137 m) where the GCJ-02 algorithm has Krasovsky's 6378245 m,
    # which moves the result by < 1 cm: hence the looser tolerance on the WGS-84 rows.
    (wgs84_to_gcj02, PYXIS_WGS, PYXIS_GCJ, 2e-7, "pyxis wgs-gcj"),
    (wgs84_to_bd09, PYXIS_WGS, PYXIS_BD, 2e-7, "pyxis wgs-bd"),
    (gcj02_to_bd09, PYXIS_GCJ, PYXIS_BD, 1e-9, "pyxis gcj-bd"),
]


@pytest.mark.parametrize(("func", "src", "expected", "tol", "source"), FORWARD, ids=[r[4] for r in FORWARD])
def test_published_control_points(func, src, expected, tol, source) -> None:
    lon, lat = func(*src)
    assert lon == pytest.approx(expected[0], abs=tol)
    assert lat == pytest.approx(expected[1], abs=tol)


# Inverse conversions: the GCJ-02 inverse is exact (iterated), so it must recover the WGS-84 point
# that produced a published GCJ-02 value far better than the 0.5 m eviltransform asks of its
# "exact" variant. Rows: (GCJ-02 lon, lat), expected WGS-84 (lon, lat), source.
INVERSE = [
    ((121.531541859215, 31.17530398364597), (121.5272106, 31.1774276), "evil shanghai"),
    ((113.9171764808363, 22.540796131694766), (113.912316, 22.543847), "evil shenzhen"),
    ((116.38404722455657, 39.91334545536069), (116.377817, 39.911954), "evil beijing"),
    ((116.41024449916938, 39.91640428150164), (116.404, 39.915), "coordtransform"),
]


@pytest.mark.parametrize(("gcj", "wgs", "source"), INVERSE, ids=[r[2] for r in INVERSE])
def test_gcj02_inverse_is_exact(gcj, wgs, source) -> None:
    lon, lat = gcj02_to_wgs84(*gcj)
    assert haversine_m(lon, lat, *wgs) < 0.001


def test_inverse_beats_one_step_approximation() -> None:
    # coordtransform's published gcj02towgs84(116.404, 39.915) is the one-step approximation; ours
    # must map back onto the GCJ-02 input (almost) exactly, and theirs visibly does not.
    approx = (116.39775550083061, 39.91359571849836)
    ours = gcj02_to_wgs84(116.404, 39.915)
    assert haversine_m(*wgs84_to_gcj02(*ours), 116.404, 39.915) < 1e-4
    assert haversine_m(*wgs84_to_gcj02(*approx), 116.404, 39.915) > 0.01
    assert haversine_m(*ours, *approx) < 5


def test_bd09_to_wgs84_control_point() -> None:
    # pyxis again. The BD-09 inverse is Baidu's published one-step formula (not iterated, so that it
    # reproduces published BD-09 -> GCJ-02 values exactly); it is good to ~0.3 m.
    assert haversine_m(*bd09_to_wgs84(*PYXIS_BD), *PYXIS_WGS) < 0.3


china_points = st.tuples(
    st.floats(min_value=73.5, max_value=134.7, allow_nan=False),
    st.floats(min_value=18.0, max_value=53.5, allow_nan=False),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(china_points, min_size=1, max_size=50), st.sampled_from(["gcj02", "bd09"]))
def test_round_trip_within_one_metre(points, crs) -> None:
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    # WGS-84 -> crs -> WGS-84, and crs -> WGS-84 -> crs.
    back = to_wgs84(*from_wgs84(lon, lat, crs), crs)
    assert haversine_m(lon, lat, *back).max() <= 1.0
    again = from_wgs84(*to_wgs84(lon, lat, crs), crs)
    assert haversine_m(lon, lat, *again).max() <= 1.0


@settings(max_examples=200, deadline=None)
@given(china_points)
def test_gcj_round_trip_is_sub_millimetre(point) -> None:
    lon, lat = point
    assert haversine_m(*gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat)), lon, lat) < 0.001


OUTSIDE = [
    (2.3522, 48.8566),  # Paris
    (-74.006, 40.7128),  # New York
    (151.2093, -33.8688),  # Sydney
    (139.6917, 35.6895),  # Tokyo, east of the China box
    (103.8198, 0.5),  # just south of the box
    (0.0, 0.0),
]


@pytest.mark.parametrize("point", OUTSIDE)
def test_out_of_china_unchanged(point) -> None:
    assert out_of_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point
    assert to_wgs84(*point, "gcj02") == point


def test_vectorised_equals_scalar() -> None:
    rng = np.random.default_rng(3)
    lon = rng.uniform(100, 125, 200)
    lat = rng.uniform(20, 45, 200)
    lon[:5], lat[:5] = 2.35, 48.85  # mix in points outside China
    for func in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84):
        vx, vy = func(lon, lat)
        for i in range(0, 200, 17):
            sx, sy = func(float(lon[i]), float(lat[i]))
            assert (sx, sy) == pytest.approx((vx[i], vy[i]), abs=1e-12), func.__name__


def test_scalars_give_floats_and_arrays_keep_shape() -> None:
    lon, lat = wgs84_to_gcj02(118.8, 32.06)
    assert isinstance(lon, float) and isinstance(lat, float)
    grid_lon, grid_lat = np.meshgrid(np.linspace(117, 121, 4), np.linspace(31, 34, 3))
    out_lon, out_lat = gcj02_to_wgs84(grid_lon, grid_lat)
    assert out_lon.shape == (3, 4) and out_lat.shape == (3, 4)
    # Broadcasting: one latitude for many longitudes.
    assert to_wgs84(np.array([118.0, 119.0]), 32.0, "bd09")[1].shape == (2,)


def test_identity_crs_and_lists() -> None:
    assert to_wgs84(118.8, 32.06, "wgs84") == (118.8, 32.06)
    lon, lat = from_wgs84([118.8, 119.0], [32.06, 32.1], "wgs84")
    assert lon.tolist() == [118.8, 119.0] and lat.tolist() == [32.06, 32.1]


def test_nan_does_not_hang() -> None:
    lon, lat = gcj02_to_wgs84(np.array([np.nan, 118.8]), np.array([32.0, 32.06]))
    assert math.isnan(lon[0]) and not math.isnan(lon[1])


@pytest.mark.parametrize("crs", ["cgcs2000", "WGS84", "", None])
def test_unknown_crs_is_named(crs) -> None:
    for func in (to_wgs84, from_wgs84):
        with pytest.raises(ValueError, match=repr(crs).replace("(", r"\(")):
            func(118.8, 32.06, crs)
