"""Server time and bytes of the licence map layer per viewport, at 250k and 1M licences.

    python bench/map_viewport.py [--sizes 250000,1000000]

Loads the simulator's licences through the real apply path (parse → place → atomic Lua apply) into a
private redis-server, then times ``licence_layer`` + JSON encoding for three views and prints bytes
raw and gzipped. Baseline, in the same run: the naive layer, every licence in view as a GeoJSON point.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import keys  # noqa: E402
from core.redis_server import EmbeddedRedis  # noqa: E402
from core.settings import load_settings  # noqa: E402
from geo.boundaries import load_regions  # noqa: E402
from geo.index import RegionIndex  # noqa: E402
from geo.viewport import View, licence_layer  # noqa: E402
from streams.licences import LicenceStore  # noqa: E402
from streams.schema import parse_entry  # noqa: E402
from streams.simulator import LicenceSimulator  # noqa: E402

VIEWS = {
    # whole province on a 1920x1080 wall map (the wall's initial view)
    "province": View(116.36, 30.77, 121.93, 35.13, 7.6),
    # a city: Nanjing's urban area, zoom 11
    "city": View(118.55, 31.90, 119.05, 32.20, 11.0),
    # streets near Xuanwu's seat, zoom 16
    "street": View(118.785, 32.045, 118.800, 32.055, 16.0),
    # one block in the same place, zoom 18
    "block": View(118.7915, 32.0495, 118.7945, 32.0515, 18.0),
}


def load(r, settings, regions, index, n: int) -> float:
    sim = LicenceSimulator(
        settings.model_copy(update={"simulator": settings.simulator.model_copy(update={"licences": n})}),
        regions,
        index,
    )
    store = LicenceStore(r, index, settings.map.h3_resolutions)
    t0 = time.perf_counter()
    for batch in sim.initial(batch=2000):
        events = [parse_entry("licence", e) for e in batch]
        places, errors = store.place(events)
        ok = [i for i, e in enumerate(errors) if e is None]
        store.apply([events[i] for i in ok], [places[i] for i in ok])
    return time.perf_counter() - t0


def timed(fn, repeat: int) -> tuple[float, bytes]:
    times, body = [], b""
    for _ in range(repeat):
        t0 = time.perf_counter()
        body = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, body


def naive(r, view: View) -> bytes:
    """Baseline: every licence in the view as a GeoJSON point (what a map without aggregation sends)."""
    found = r.geosearch(
        keys.LICENCE_GEO,
        longitude=(view.west + view.east) / 2,
        latitude=(view.south + view.north) / 2,
        width=view.area_km2 / ((view.north - view.south) * 110.57),
        height=(view.north - view.south) * 110.57,
        unit="km",
        withcoord=True,
    )
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {"no": m.decode()},
        }
        for m, (x, y) in found
    ]
    return orjson.dumps({"type": "FeatureCollection", "features": feats})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250000,1000000")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    base = load_settings(environ={"WATCHFLOOR_REDIS_URL": "redis://unused"})
    regions = load_regions(base)
    index = RegionIndex(regions)
    print(
        f"settings: max_cells={base.map.max_cells} max_points={base.map.max_points} "
        f"resolutions={base.map.h3_resolutions}"
    )
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis("redis-server", Path(tmp)) as server:
        r = server.client()
        for n in (int(s) for s in args.sizes.split(",")):
            r.flushall()
            secs = load(r, base, regions, index, n)
            print(f"\n== {n:,} licences (loaded through the apply path in {secs:.1f} s, {n / secs:,.0f}/s)")
            print(
                f"{'view':9} {'mode':7} {'res':>3} {'feats':>6} {'server ms':>9} {'raw KB':>8} {'gzip KB':>8}"
                f" | {'naive ms':>9} {'naive KB':>9} {'ratio t':>7} {'ratio B':>8}"
            )
            for name, view in VIEWS.items():
                ms, body = timed(
                    lambda v=view: orjson.dumps(licence_layer(r, v, base.map, "32")), args.repeat
                )
                layer = orjson.loads(body)
                gz = len(gzip.compress(body, 5))
                nms, nbody = timed(lambda v=view: naive(r, v), max(1, args.repeat // 5))
                meta = layer["meta"]
                print(
                    f"{name:9} {meta['mode']:7} {meta['res']:>3} {len(layer['features']):>6} "
                    f"{ms:>9.1f} {len(body) / 1024:>8.1f} {gz / 1024:>8.1f} | {nms:>9.1f} "
                    f"{len(nbody) / 1024:>9.1f} {nms / ms:>6.1f}x {len(nbody) / max(gz, 1):>7.1f}x"
                )


if __name__ == "__main__":
    main()
