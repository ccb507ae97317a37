"""Which objects grow in /wall's JS heap: two CDP heap snapshots, compared by constructor.

    python -m bench.heap_diff [--minutes 6] [--rate 400] [--scene-seconds 1] [--top 30]

Starts a private Redis with 20,000 licences, the real stack and /wall in headless Chromium, feeds
events like bench/soak.py, takes a heap snapshot (after a forced GC) one minute in and another
``--minutes`` later, and prints the constructors whose retained self size grew most, with the
change in their count. This found Dash's undo history growing one entry per push (docs/performance.md).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import chromium, private_redis, stack  # noqa: E402
from bench.map_viewport import load  # noqa: E402
from bench.soak import feed  # noqa: E402
from core.settings import load_settings  # noqa: E402
from geo.boundaries import load_regions  # noqa: E402
from geo.index import RegionIndex  # noqa: E402

NAMED = ("object", "closure", "array", "native")  # node types whose name is a constructor


def snapshot(cdp) -> tuple[collections.Counter, collections.Counter]:
    """(count, self size) per node type and constructor of a heap snapshot taken after a GC."""
    chunks: list[str] = []
    cdp.on("HeapProfiler.addHeapSnapshotChunk", lambda e: chunks.append(e["chunk"]))
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("HeapProfiler.takeHeapSnapshot", {"reportProgress": False})
    snap = json.loads("".join(chunks))
    fields = snap["snapshot"]["meta"]["node_fields"]
    types = snap["snapshot"]["meta"]["node_types"][0]
    ti, ni, si, width = fields.index("type"), fields.index("name"), fields.index("self_size"), len(fields)
    nodes, strings = snap["nodes"], snap["strings"]
    count, size = collections.Counter(), collections.Counter()
    for i in range(0, len(nodes), width):
        kind = types[nodes[i + ti]]
        key = f"{kind}:{strings[nodes[i + ni]][:60] if kind in NAMED else ''}"
        count[key] += 1
        size[key] += nodes[i + si]
    return count, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--rate", type=float, default=400.0)
    parser.add_argument("--scene-seconds", type=float, default=1.0)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    env = {"WATCHFLOOR_WALL_SCENE_SECONDS": str(args.scene_seconds)}
    settings = load_settings(environ={"WATCHFLOOR_REDIS_URL": "redis://unused", **env})
    with tempfile.TemporaryDirectory(prefix="wf-heap-") as tmp, private_redis() as server:
        regions = load_regions(settings)
        load(server.client(), settings, regions, RegionIndex(regions), 20_000)
        with stack(server, Path(tmp), **env) as s, chromium() as browser:
            stop, sent = threading.Event(), [0]
            threading.Thread(target=feed, args=(server.client(), args.rate, stop, sent), daemon=True).start()
            page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            page.goto(s.url + "/wall")
            page.wait_for_selector("#wall-root", timeout=60_000)
            cdp = page.context.new_cdp_session(page)
            cdp.send("HeapProfiler.enable")
            time.sleep(60)
            a, a_size = snapshot(cdp)
            print(f"snapshot 1 after {sent[0]:,} events: {sum(a_size.values()) / 1e6:.2f} MB", flush=True)
            time.sleep(args.minutes * 60)
            b, b_size = snapshot(cdp)
            print(f"snapshot 2 after {sent[0]:,} events: {sum(b_size.values()) / 1e6:.2f} MB")
            stop.set()
    grown = sorted(((b_size[k] - a_size[k], b[k] - a[k], k) for k in set(a) | set(b)), reverse=True)
    print(f"\n{'self size':>12} {'count':>8}  node type:constructor")
    for size, count, key in grown[: args.top]:
        print(f"{size / 1e3:>+9.1f} KB {count:>+8}  {key}")


if __name__ == "__main__":
    main()
