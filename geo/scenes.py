"""Pure geometry and grouping for the wall's scenes (docs/wall.md): flow arcs, heat hexes, warning pins.

No Redis, no clock: the readers in ``indicators/wall_data.py`` hand over counters, cells and
warnings; these functions turn them into GeoJSON features with compact properties.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import h3

#: line width classes of the flow arcs (assets/wall_scenes.js maps them to pixels)
WIDTH_CLASSES = 5


def child_level(scope: int) -> str:
    """The level a scope's flows are grouped by: a province's cities, a city's or county's counties."""
    return "city" if scope % 10000 == 0 else "county"


def node_of(county: int, scope: int, province: int) -> int | None:
    """The map node a county's flows are drawn from: inside the scope its child region (the city for
    a province-wide wall, else the county), outside the scope but inside the province its city,
    outside the province None (no point to draw it at)."""
    if county // 10000 != province // 10000:
        return None
    prefix = _prefix(scope)
    if str(county).startswith(prefix):
        return county // 100 * 100 if child_level(scope) == "city" else county
    return county // 100 * 100


def _prefix(adcode: int) -> str:
    code = f"{adcode:06d}"
    return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code


def in_scope(adcode: int, scope: int) -> bool:
    """Whether region ``adcode`` lies inside ``scope``."""
    return f"{adcode:06d}".startswith(_prefix(scope))


def flow_pairs(counters: Mapping[str, int], scope: int, province: int) -> dict[tuple[int, int], int]:
    """Cartons per (from node, to node) from scan counters ``"<delivery county>><scan county>"``.

    A pair is kept when its two nodes differ and at least one end lies in the scope; deliveries
    from outside the province have no node and are left out (the KPI counts them)."""
    out: dict[tuple[int, int], int] = {}
    for field, cartons in counters.items():
        a, sep, b = field.partition(">")
        if not sep or not a.isdigit() or not b.isdigit():
            continue
        ca, cb = int(a), int(b)
        if not (in_scope(ca, scope) or in_scope(cb, scope)):
            continue
        na, nb = node_of(ca, scope, province), node_of(cb, scope, province)
        if na is None or nb is None or na == nb:
            continue
        out[(na, nb)] = out.get((na, nb), 0) + int(cartons)
    return out


def pair_levels(warnings: Iterable[dict], scope: int, province: int) -> dict[tuple[int, int], int]:
    """The most severe level (1 red … 4 blue) of the open corridor warnings on each node pair."""
    out: dict[tuple[int, int], int] = {}
    for w in warnings:
        cond = str(w.get("condition", ""))
        if w.get("type") != "corridor_surge" or ":" not in cond:
            continue
        a, _, b = cond.split(":", 1)[1].partition(">")
        if not (a.isdigit() and b.isdigit()):
            continue
        na, nb = node_of(int(a), scope, province), node_of(int(b), scope, province)
        if na is None or nb is None or na == nb:
            continue
        level = int(w.get("level", 4))
        out[(na, nb)] = min(level, out.get((na, nb), 5))
    return out


def arc(a: tuple[float, float], b: tuple[float, float], bend: float = 0.22, n: int = 24) -> list[list[float]]:
    """A curved line from ``a`` to ``b`` (lon, lat): a quadratic Bézier whose control point lies
    ``bend`` × the distance to the left of the straight line, so A→B and B→A are two separate arcs."""
    (x0, y0), (x1, y1) = a, b
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    dx, dy = x1 - x0, y1 - y0
    cx, cy = mx - dy * bend, my + dx * bend
    pts = []
    for i in range(n + 1):
        t = i / n
        u = 1 - t
        pts.append(
            [
                round(u * u * x0 + 2 * u * t * cx + t * t * x1, 4),
                round(u * u * y0 + 2 * u * t * cy + t * t * y1, 4),
            ]
        )
    return pts


def width_class(cartons: int, largest: int) -> int:
    """Width class 1 … WIDTH_CLASSES by the square root of the share of the largest flow."""
    if largest <= 0 or cartons <= 0:
        return 1
    return max(1, min(WIDTH_CLASSES, math.ceil(math.sqrt(cartons / largest) * WIDTH_CLASSES)))


def flow_features(
    pairs: Mapping[tuple[int, int], int],
    points: Mapping[int, tuple[float, float]],
    levels: Mapping[tuple[int, int], int],
    limit: int = 40,
) -> list[dict[str, Any]]:
    """Arcs of the ``limit`` largest flows (largest first): properties from, to (adcodes), n
    (cartons), w (width class), lv (warning level 1–4, 0 = no open warning)."""
    ranked = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    largest = ranked[0][1] if ranked else 0
    feats = []
    for (a, b), n in ranked:
        if a not in points or b not in points:
            continue
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "from": a,
                    "to": b,
                    "n": n,
                    "w": width_class(n, largest),
                    "lv": levels.get((a, b), 0),
                },
                "geometry": {"type": "LineString", "coordinates": arc(points[a], points[b])},
            }
        )
    return feats


def _ring(cell: str) -> list[list[float]]:
    ring = [[round(lng, 4), round(lat, 4)] for lat, lng in h3.cell_to_boundary(cell)]
    return ring + [ring[0]]


def heat_class(n: int, largest: int, classes: int = 7) -> int:
    """Log-scaled class 0 … classes-1 of a count against the largest one."""
    if n <= 0 or largest <= 0:
        return 0
    return min(classes - 1, int(math.log1p(n) / math.log1p(largest) * (classes - 1) + 0.5))


def heat_features(heat: Mapping[str, int]) -> list[dict[str, Any]]:
    """Hexes of inspected licences: properties n (inspections in the window), k (colour class)."""
    largest = max(heat.values(), default=0)
    return [
        {
            "type": "Feature",
            "properties": {"n": n, "k": heat_class(n, largest)},
            "geometry": {"type": "Polygon", "coordinates": [_ring(cell)]},
        }
        for cell, n in sorted(heat.items())
        if n > 0
    ]


def gap_features(
    valid: Mapping[str, int], inspected: Mapping[str, int], min_share: float
) -> list[dict[str, Any]]:
    """Coverage-gap hexes: cells whose share of valid licences NOT inspected in 30 days is at least
    ``min_share``; properties g (licences not inspected), v (valid), s (that share, 2 decimals)."""
    feats = []
    for cell, v in sorted(valid.items()):
        if v <= 0:
            continue
        gap = max(0, v - inspected.get(cell, 0))
        share = gap / v
        if gap and share >= min_share:
            feats.append(
                {
                    "type": "Feature",
                    "properties": {"g": gap, "v": v, "s": round(share, 2)},
                    "geometry": {"type": "Polygon", "coordinates": [_ring(cell)]},
                }
            )
    return feats


def warning_pins(warnings: Iterable[dict], points: Mapping[int, tuple[float, float]]) -> list[dict[str, Any]]:
    """One point per warning at its place, else at its region's seat: properties id, c (colour),
    lv (level), ty (type), rg (region adcode), at (raised_at ms). Most severe drawn last (on top)."""
    feats = []
    for w in sorted(warnings, key=lambda w: (-int(w.get("level", 4)), int(w.get("raised_at", 0)))):
        place = w.get("place") or None
        if place and place.get("lon") is not None and place.get("lat") is not None:
            xy = [round(float(place["lon"]), 5), round(float(place["lat"]), 5)]
        elif int(w.get("region", 0)) in points:
            xy = list(points[int(w["region"])])
        else:
            continue
        feats.append(
            {
                "type": "Feature",
                "properties": {
                    "id": str(w.get("id", "")),
                    "c": str(w.get("colour", "blue")),
                    "lv": int(w.get("level", 4)),
                    "ty": str(w.get("type", "")),
                    "rg": int(w.get("region", 0)),
                    "at": int(w.get("raised_at", 0)),
                },  # fmt: skip
                "geometry": {"type": "Point", "coordinates": xy},
            }
        )
    return feats


def collection(features: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    """A FeatureCollection with a ``meta`` member."""
    return {"type": "FeatureCollection", "features": features, "meta": meta}
