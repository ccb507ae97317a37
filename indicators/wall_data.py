"""What the wall reads from Redis (docs/wall.md): panel figures and scene layers for one scope.

Reads only; every key comes from core/keys.py. The maths is in ``indicators/wall_figures.py`` and
``geo/scenes.py``. ``now_ms`` is passed in so tests can pin the clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis

from alerts.loop import is_overdue
from alerts.store import list_open
from core import keys
from geo import scenes
from geo.boundaries import Regions
from indicators import wall_figures as wf
from indicators.jobs import read_indicators

DAY_SOURCES = ("inspection", "case", "complaint", "scan")
CHUNK = 20_000


def _decode(fields: dict) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in fields.items()}


def day_counters(r: redis.Redis, day: str) -> dict[str, dict[str, int]]:
    """The day counters of every non-licence source for one local day."""
    pipe = r.pipeline(transaction=False)
    for source in DAY_SOURCES:
        pipe.hgetall(keys.day_counts(source, day))
    return {s: _decode(f) for s, f in zip(DAY_SOURCES, pipe.execute(), strict=True)}


def region_points(regions: Regions) -> dict[int, tuple[float, float]]:
    """The seat (WGS-84) of every city and county: where arcs start and pins without a place sit."""
    out = {}
    for frame in (regions.cities, regions.counties):
        for a, lon, lat in zip(frame["adcode"], frame["seat_lon"], frame["seat_lat"], strict=True):
            out[int(a)] = (round(float(lon), 4), round(float(lat), 4))
    return out


def region_names(regions: Regions, lang: str) -> dict[int, str]:
    """Every region's name in the wall's language (Chinese, or the English column)."""
    column = "name" if lang == "zh" else "name_en"
    frames = (regions.province, regions.cities, regions.counties)
    return {int(a): str(n) for f in frames for a, n in zip(f["adcode"], f[column], strict=True)}


def counties_in(regions: Regions, scope: int) -> list[int]:
    """The counties inside ``scope``."""
    return [int(a) for a in regions.counties["adcode"] if scenes.in_scope(int(a), scope)]


def children_of(regions: Regions, scope: int) -> list[int]:
    """The regions one level below ``scope`` (a county has none: itself)."""
    if scope % 10000 == 0:
        return [int(a) for a in regions.cities["adcode"] if scenes.in_scope(int(a), scope)]
    if scope % 100 == 0:
        return counties_in(regions, scope)
    return [scope]


def open_in_scope(r: redis.Redis, scope: int) -> list[dict]:
    """Every open warning the scope may see."""
    return list_open(r, scope, limit=10**6)


def inspection_hours(r: redis.Redis, counties: list[int], now_ms: int, hours: int = 24) -> list[int]:
    """Licences whose latest inspection fell in each of the last ``hours`` hours (coverage sets)."""
    start = now_ms - hours * wf.HOUR_MS
    pipe = r.pipeline(transaction=False)
    for county in counties:
        for h in range(hours):
            lo = start + h * wf.HOUR_MS
            pipe.zcount(keys.coverage(county), f"({lo}", lo + wf.HOUR_MS)
    values = pipe.execute()
    return [sum(values[c * hours + h] for c in range(len(counties))) for h in range(hours)]


def panels(r: redis.Redis, regions: Regions, scope: int, now_ms: int, coverage_target: float) -> dict:
    """KPIs, ranking, trend and per-source freshness for ``scope`` (one JSON-able dict)."""
    today, yesterday = (wf.day_figures(day_counters(r, wf.local_day(now_ms, d)), scope) for d in (0, 1))
    _, w1 = read_indicators(r, 1, [scope])
    _, w7 = read_indicators(r, 7)
    _, w30 = read_indicators(r, 30, [scope])
    warnings = open_in_scope(r, scope)
    midnight = wf.day_start_ms(now_ms)
    raised = [int(w["raised_at"]) for w in warnings]
    kpi = wf.kpis(
        today, yesterday, w1.get(scope, {}), w30.get(scope, {}), len(warnings),
        sum(1 for w in warnings if is_overdue(w, now_ms)), sum(1 for t in raised if t >= midnight),
        coverage_target,
    )  # fmt: skip
    pipe = r.pipeline(transaction=False)
    for source in wf.SOURCES:
        pipe.hget(keys.source_status(source), "last_ingest_ms")
    last = {s: (int(v) if v else None) for s, v in zip(wf.SOURCES, pipe.execute(), strict=True)}
    return {
        "kpi": kpi,
        "ranking": wf.ranking(w7, children_of(regions, scope)),
        "trend": {
            "inspections": inspection_hours(r, counties_in(regions, scope), now_ms),
            "warnings": wf.hour_bins(raised, now_ms),
            "end_ms": now_ms,
        },
        "sources": last,
        "serverMs": now_ms,
    }


# -- scene layers --------------------------------------------------------------------------------


def flows_layer(r: redis.Redis, regions: Regions, scope: int, province: int, days: int, now_ms: int) -> dict:
    """Arcs of cross-region cartons over the last ``days`` local days, coloured by open corridor warnings."""
    first = wf.day_start_ms(now_ms, days - 1)
    day_keys = [d.decode() for d in r.zrangebyscore(keys.days_index("scan"), first, "+inf")]
    pipe = r.pipeline(transaction=False)
    for day in day_keys:
        pipe.hgetall(keys.day_counts("scan", day))
    summed: dict[str, int] = {}
    for fields in pipe.execute():
        for k, v in fields.items():
            summed[k.decode()] = summed.get(k.decode(), 0) + int(v)
    pairs = scenes.flow_pairs(summed, scope, province)
    levels = scenes.pair_levels(open_in_scope(r, scope), scope, province)
    feats = scenes.flow_features(pairs, region_points(regions), levels)
    return scenes.collection(feats, days=days, level=scenes.child_level(scope))


def _cells_of(r: redis.Redis, members: list[bytes], index: int, prefix: str) -> list[str | None]:
    cells: list[str | None] = []
    for i in range(0, len(members), CHUNK):
        for raw in r.hmget(keys.LICENCE_META, members[i : i + CHUNK]):
            parts = raw.decode().split() if raw else []
            ok = len(parts) > index and parts[3].startswith(prefix) and parts[index] != "-"
            cells.append(parts[index] if ok else None)
    return cells


def heat_layers(r: redis.Redis, regions: Regions, scope: int, res: int, resolutions: tuple[int, ...],
                heat_days: int, gap_share: float, province_wide: bool, now_ms: int) -> dict:  # fmt: skip
    """Inspection heat (licences inspected in the last ``heat_days`` days, per H3 cell) and the
    coverage gap (cells whose valid licences were mostly not inspected in 30 days)."""
    since30, since_heat = now_ms - 30 * wf.DAY_MS, now_ms - heat_days * wf.DAY_MS
    pipe = r.pipeline(transaction=False)
    for county in counties_in(regions, scope):
        pipe.zrangebyscore(keys.coverage(county), since30, "+inf", withscores=True)
    members: list[bytes] = []
    times: list[float] = []
    for rows in pipe.execute():
        for m, t in rows:
            members.append(m)
            times.append(t)
    index = 7 + resolutions.index(res)  # meta: status_version status place_version county city lon lat cells…
    heat: dict[str, int] = {}
    inspected: dict[str, int] = {}
    for cell, t in zip(_cells_of(r, members, index, scenes._prefix(scope)), times, strict=True):
        if cell is None:
            continue
        inspected[cell] = inspected.get(cell, 0) + 1
        if t >= since_heat:
            heat[cell] = heat.get(cell, 0) + 1
    gap: list[dict] = []
    if province_wide:  # the valid count per cell is province-wide (no region in the cell counters)
        valid = _decode(r.hgetall(keys.licence_cells(res, "valid")))
        gap = scenes.gap_features(valid, inspected, gap_share)
    return {
        "heat": scenes.collection(scenes.heat_features(heat), days=heat_days, res=res),
        "gap": scenes.collection(gap, days=30, res=res, min_share=gap_share, shown=province_wide),
    }


def warnings_layer(r: redis.Redis, regions: Regions, scope: int) -> dict:
    """Pins of the open warnings in scope."""
    return scenes.collection(scenes.warning_pins(open_in_scope(r, scope), region_points(regions)))


class TTLCache:
    """A tiny per-process cache: heavy layers are computed at most once per ``ttl`` for all walls."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._data: dict[tuple, tuple[float, object]] = {}

    def get(self, key: tuple, make: Callable[[], object]) -> object:
        """The cached value of ``key``, made anew when older than ``ttl``."""
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        value = make()
        with self._lock:
            self._data[key] = (now, value)
            if len(self._data) > 64:
                self._data.pop(next(iter(self._data)))
        return value
