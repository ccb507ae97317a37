"""Boundary layers as compact GeoJSON for the browser map.

The boundaries are the base map (no tile server is needed), so each level is sent to every
browser: geometries are simplified (~200 m, topology preserved) and coordinates rounded to 4
decimals (~10 m), which keeps the layers small without visible change at province or city zoom.
Simplification is per feature, so neighbours can differ by up to the tolerance along shared
edges; at this scale that is invisible. The encoded bytes are cached per Regions object and level.
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import Any, Final

import numpy as np
import shapely

from geo.boundaries import Regions

LEVELS: Final = ("province", "city", "county")
SIMPLIFY_TOLERANCE: Final = 0.002  # degrees, ~200 m
DECIMALS: Final = 4

_cache: weakref.WeakKeyDictionary[Regions, dict[str, bytes]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def boundary_geojson(regions: Regions, level: str) -> bytes:
    """A GeoJSON FeatureCollection (UTF-8 bytes) of one level: "province", "city" or "county".

    Each feature has the properties adcode (int), name, name_en and level. The result is cached
    for as long as ``regions`` is alive (keyed by its identity, so a new Regions object never gets
    a stale layer), which makes serving it from a route cheap.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown boundary level {level!r}: expected one of {', '.join(LEVELS)}")
    with _lock:
        cached = _cache.get(regions, {}).get(level)
    if cached is not None:
        return cached
    data = _encode(regions, level)
    with _lock:
        _cache.setdefault(regions, {})[level] = data
    return data


def _encode(regions: Regions, level: str) -> bytes:
    frame = {"province": regions.province, "city": regions.cities, "county": regions.counties}[level]
    geoms = shapely.simplify(frame.geometry.to_numpy(), SIMPLIFY_TOLERANCE, preserve_topology=True)
    features = []
    for adcode, name, name_en, geom in zip(
        frame["adcode"], frame["name"], frame["name_en"], geoms, strict=True
    ):
        polygons = [_polygon(p) for p in shapely.get_parts(geom) if not p.is_empty]
        polygons = [p for p in polygons if p]
        if not polygons:
            continue
        geometry = (
            {"type": "Polygon", "coordinates": polygons[0]}
            if len(polygons) == 1
            else {"type": "MultiPolygon", "coordinates": polygons}
        )
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "adcode": int(adcode),
                    "name": str(name),
                    "name_en": str(name_en),
                    "level": level,
                },
                "geometry": geometry,
            }
        )
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _polygon(polygon: shapely.Polygon) -> list[list[list[float]]]:
    """Rings of one polygon, rounded; holes that collapse under rounding are dropped."""
    rings = [polygon.exterior, *polygon.interiors]
    out = []
    for i, ring in enumerate(rings):
        coords = _ring(np.asarray(ring.coords))
        if coords is None:
            if i == 0:
                return []
            continue
        out.append(coords)
    return out


def _ring(xy: np.ndarray) -> list[Any] | None:
    xy = np.round(xy[:, :2], DECIMALS)
    # Rounding can make neighbouring vertices equal; repeated points only cost bytes.
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(xy[1:] != xy[:-1], axis=1)
    xy = xy[keep]
    if len(xy) < 4:
        return None
    if np.any(xy[0] != xy[-1]):
        xy = np.vstack([xy, xy[:1]])
    return xy.tolist()
