"""Conversions between WGS-84, GCJ-02 (AMap, Tencent) and BD-09 (Baidu) coordinates.

Everything in Watchfloor is stored in WGS-84; upstream events may carry GCJ-02 or BD-09 and the
base map may want either, so these functions sit at both edges. They follow the widely published
reverse-engineered algorithms (googollee/eviltransform, wandergis/coordtransform); the argument
order is always ``(lon, lat)``. Every function accepts scalars or numpy arrays (any shape, they
broadcast) and returns floats for scalar input, float64 arrays otherwise.

GCJ-02 is only applied inside the usual rough China box (the ``out_of_china`` test): points outside
it are returned unchanged. The BD-09 step is applied everywhere, as Baidu's own formula does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

Coord: TypeAlias = float | NDArray[np.float64]
"""A longitude or latitude: a float for scalar input, a float64 array otherwise."""

CRS_NAMES: Final = ("wgs84", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 obfuscation.
_A: Final = 6378245.0
_EE: Final = 0.00669342162296594323
_X_PI: Final = np.pi * 3000.0 / 180.0
# The exact inverse stops once no coordinate moves by more than this (degrees, ~0.1 mm).
_TOLERANCE: Final = 1e-9
_MAX_ITERATIONS: Final = 40


def _prepare(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64], bool]:
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    scalar = x.ndim == 0 and y.ndim == 0
    x, y = np.broadcast_arrays(x, y)
    return x, y, scalar


def _finish(lon: NDArray[np.float64], lat: NDArray[np.float64], scalar: bool) -> tuple[Coord, Coord]:
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def _in_china(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
    # The usual rough box; NaN compares False, so NaN counts as outside and passes through.
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_] | bool:
    """True where a point lies outside the rough China box in which GCJ-02 applies."""
    x, y, scalar = _prepare(lon, lat)
    out = ~_in_china(x, y)
    return bool(out) if scalar else out


def _gcj_delta(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """The GCJ-02 offset (degrees) at a WGS-84 point, without the China box test."""
    x = lon - 105.0
    y = lat - 35.0
    wave = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + wave
    d_lat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + wave
    d_lon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def _wgs_to_gcj(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    d_lon, d_lat = _gcj_delta(lon, lat)
    inside = _in_china(lon, lat)
    return np.where(inside, lon + d_lon, lon), np.where(inside, lat + d_lat, lat)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Coord, Coord]:
    """Convert WGS-84 to GCJ-02 (no change outside China)."""
    x, y, scalar = _prepare(lon, lat)
    return _finish(*_wgs_to_gcj(x, y), scalar)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Coord, Coord]:
    """Convert GCJ-02 to WGS-84 exactly: the inverse of :func:`wgs84_to_gcj02`.

    The forward offset has no closed-form inverse; the common one-step approximation
    (subtract the offset computed at the GCJ point) is off by up to ~2 m. Fixed-point iteration
    ``w <- w + (gcj - forward(w))`` converges in a few steps because the offset changes slowly,
    and it runs until no coordinate moves by more than 1e-9 degrees.
    """
    g_lon, g_lat, scalar = _prepare(lon, lat)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(_MAX_ITERATIONS):
        f_lon, f_lat = _wgs_to_gcj(w_lon, w_lat)
        step_lon = g_lon - f_lon
        step_lat = g_lat - f_lat
        w_lon = w_lon + step_lon
        w_lat = w_lat + step_lat
        # NaN input never converges; it must not keep the loop running.
        step = np.fmax(np.abs(step_lon), np.abs(step_lat))
        if not np.any(step > _TOLERANCE):
            break
    return _finish(w_lon, w_lat, scalar)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Coord, Coord]:
    """Convert GCJ-02 to BD-09 (Baidu's published formula)."""
    x, y, scalar = _prepare(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return _finish(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006, scalar)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Coord, Coord]:
    """Convert BD-09 to GCJ-02 (the published one-step inverse; round trip within ~0.3 m)."""
    bx, by, scalar = _prepare(lon, lat)
    x = bx - 0.0065
    y = by - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _finish(z * np.cos(theta), z * np.sin(theta), scalar)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Coord, Coord]:
    """Convert WGS-84 to BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Coord, Coord]:
    """Convert BD-09 to WGS-84 (through GCJ-02, with the exact GCJ-02 inverse)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def _identity(lon: ArrayLike, lat: ArrayLike) -> tuple[Coord, Coord]:
    x, y, scalar = _prepare(lon, lat)
    return _finish(x.copy(), y.copy(), scalar)


_Converter: TypeAlias = Callable[[ArrayLike, ArrayLike], tuple[Coord, Coord]]
_TO_WGS84: Final[dict[str, _Converter]] = {
    "wgs84": _identity,
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}
_FROM_WGS84: Final[dict[str, _Converter]] = {
    "wgs84": _identity,
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}


def _converter(table: dict[str, _Converter], crs: str) -> _Converter:
    try:
        return table[crs]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown coordinate system {crs!r}: expected one of {', '.join(CRS_NAMES)}"
        ) from None


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> tuple[Coord, Coord]:
    """Convert coordinates given in ``crs`` ("wgs84", "gcj02" or "bd09") to WGS-84."""
    return _converter(_TO_WGS84, crs)(lon, lat)


def from_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> tuple[Coord, Coord]:
    """Convert WGS-84 coordinates to ``crs`` ("wgs84", "gcj02" or "bd09")."""
    return _converter(_FROM_WGS84, crs)(lon, lat)
