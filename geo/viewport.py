"""Licences for one map viewport: H3 hex cells with counts, or individual shops when few are in view.

The server never sends the whole licence set: it picks the finest H3 resolution whose cells covering
the view stay under ``map.max_cells``, reads the precomputed counters of just those cells, and, when
the view holds at most ``map.max_points`` licences, sends the shops themselves instead.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import h3
import orjson
import redis

from core import keys
from core.settings import MapSettings

KM_PER_DEG_LAT = 110.57
STATUS_CODE = {"valid": "v", "suspended": "s", "revoked": "r", "expired": "e"}


@dataclass(frozen=True)
class View:
    """A map viewport in WGS-84 degrees, plus the map's zoom level."""

    west: float
    south: float
    east: float
    north: float
    zoom: float

    @property
    def area_km2(self) -> float:
        mid = math.radians((self.south + self.north) / 2)
        width = (self.east - self.west) * KM_PER_DEG_LAT * 1.0068 * math.cos(mid)
        return max(width, 0.0) * (self.north - self.south) * KM_PER_DEG_LAT


def parse_view(bbox: str | None, zoom: str | None) -> View:
    """Parse ``bbox=west,south,east,north`` and ``zoom``; ValueError names the bad parameter."""
    if not bbox:
        raise ValueError("bbox: required, as west,south,east,north in degrees")
    try:
        west, south, east, north = (float(v) for v in bbox.split(","))
    except ValueError:
        raise ValueError("bbox: must be four numbers west,south,east,north") from None
    if not (-180 <= west < east <= 180 and -85 <= south < north <= 85):
        raise ValueError("bbox: west < east within ±180 and south < north within ±85 required")
    try:
        z = float(zoom) if zoom not in (None, "") else 8.0
    except ValueError:
        raise ValueError("zoom: must be a number") from None
    if not 0 <= z <= 22:
        raise ValueError("zoom: must be between 0 and 22")
    return View(west, south, east, north, z)


def choose_resolution(view: View, resolutions: tuple[int, ...], max_cells: int) -> int:
    """The finest configured H3 resolution whose cells covering ``view`` number at most ``max_cells``."""
    best = min(resolutions)
    for res in sorted(resolutions):
        if view.area_km2 / h3.average_hexagon_area(res, unit="km^2") <= max_cells:
            best = res
    return best


def cells_in_view(view: View, res: int) -> list[str]:
    """H3 cells at ``res`` overlapping the view (padded by one cell so edge hexes are not cut off)."""
    pad = h3.average_hexagon_edge_length(res, unit="km") * 2 / KM_PER_DEG_LAT
    w, s, e, n = view.west - pad, view.south - pad, view.east + pad, view.north + pad
    poly = h3.LatLngPoly([(s, w), (s, e), (n, e), (n, w)])
    return list(h3.polygon_to_cells(poly, res))


@functools.lru_cache(maxsize=200_000)
def _ring(cell: str) -> list[list[float]]:
    ring = [[round(lng, 4), round(lat, 4)] for lat, lng in h3.cell_to_boundary(cell)]
    return [*ring, ring[0]]


#: Number of colour classes of the cell ramp (assets/wall.js has the colours).
CLASSES = 7


def colour_class(n: int, largest: int) -> int:
    """Log-scaled colour class 0 … CLASSES-1, so a town's cell and a rural cell both stay visible."""
    if n <= 0 or largest <= 0:
        return 0
    return min(CLASSES - 1, int(math.log1p(n) / math.log1p(largest) * CLASSES))


def cell_features(cells: list[str], counts: dict[str, list[int]]) -> list[dict[str, Any]]:
    """GeoJSON polygons of the cells that hold licences: ``n`` valid, ``t`` all statuses, ``k`` class."""
    largest = max((v[0] for v in counts.values()), default=0)
    out = []
    for cell in cells:
        per_status = counts.get(cell)
        if not per_status or sum(per_status) <= 0:
            continue
        out.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [_ring(cell)]},
                "properties": {
                    "n": per_status[0],
                    "t": sum(per_status),
                    "k": colour_class(per_status[0], largest),
                },
            }
        )
    return out


def _read_cell_counts(r: redis.Redis, res: int, cells: list[str]) -> dict[str, list[int]]:
    pipe = r.pipeline(transaction=False)
    for status in STATUS_CODE:
        pipe.hmget(keys.licence_cells(res, status), cells)
    columns = pipe.execute()
    return {c: [int(col[i] or 0) for col in columns] for i, c in enumerate(cells)}


def _search_points(r: redis.Redis, view: View, limit: int) -> list[tuple[bytes, tuple[float, float]]]:
    """Licences inside the view (GEOSEARCH BYBOX), at most ``limit`` (any ``limit``, not the nearest)."""
    lon = (view.west + view.east) / 2
    lat = (view.south + view.north) / 2
    height = max((view.north - view.south) * KM_PER_DEG_LAT, 0.01)
    width = max(view.area_km2 / height, 0.01)
    return r.geosearch(
        keys.LICENCE_GEO,
        longitude=lon,
        latitude=lat,
        width=width,
        height=height,
        unit="km",
        withcoord=True,
        count=limit,
        any=True,
    )


def _point_features(r: redis.Redis, found: list, scope_prefix: str) -> list[dict[str, Any]]:
    """GeoJSON points of the found licences inside the user's scope, coloured by status."""
    found = [(m, c) for m, c in found if m.decode().startswith(scope_prefix)]
    if not found:
        return []
    numbers = [m for m, _ in found]
    metas = r.hmget(keys.LICENCE_META, numbers)
    records = r.hmget(keys.LICENCES, numbers)
    out = []
    for (number, (x, y)), meta, record in zip(found, metas, records, strict=True):
        status = meta.split(b" ", 2)[1].decode() if meta else "valid"
        shop = orjson.loads(record).get("shop_name", "") if record else ""
        out.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(x, 5), round(y, 5)]},
                # shop names are upstream text: the browser puts them in the DOM as text, never HTML
                "properties": {"s": STATUS_CODE.get(status, "v"), "no": number.decode(), "name": shop},
            }
        )
    return out


def clip(view: View, extent: tuple[float, float, float, float] | None) -> View:
    """The part of ``view`` inside ``extent`` (west, south, east, north): no licence lies outside it,
    so a wide screen showing sea and neighbouring provinces does not coarsen the cells."""
    if extent is None:
        return view
    west, south = max(view.west, extent[0]), max(view.south, extent[1])
    east, north = min(view.east, extent[2]), min(view.north, extent[3])
    if west >= east or south >= north:
        return View(extent[0], extent[1], extent[0] + 1e-6, extent[1] + 1e-6, view.zoom)  # nothing in view
    return View(west, south, east, north, view.zoom)


def licence_layer(
    r: redis.Redis,
    view: View,
    cfg: MapSettings,
    scope_prefix: str = "",
    extent: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """The licence layer for ``view`` as a GeoJSON FeatureCollection with a ``meta`` member.

    ``scope_prefix`` (the leading digits of the user's region adcode, "" for the whole country)
    limits individual shops to the user's region; ``extent`` is where licences can be at all.
    """
    view = clip(view, extent)
    res = choose_resolution(view, cfg.h3_resolutions, cfg.max_cells)
    cells = cells_in_view(view, res)
    counts = _read_cell_counts(r, res, cells) if cells else {}
    total = sum(sum(v) for v in counts.values())
    # The padded cells over-count a small view; when they hold only a few times max_points, ask the
    # geo index itself, stopping as soon as it finds more than max_points.
    found = _search_points(r, view, cfg.max_points + 1) if 0 < total <= 4 * cfg.max_points else None
    if total == 0 or (found is not None and len(found) <= cfg.max_points):
        features = _point_features(r, found or [], scope_prefix)
        meta = {"mode": "points", "res": res, "count": len(features)}
    else:
        features = cell_features(cells, counts)
        meta = {
            "mode": "cells",
            "res": res,
            "count": total,
            "max": max((f["properties"]["n"] for f in features), default=0),
        }
    return {"type": "FeatureCollection", "features": features, "meta": meta}
