"""Soak of /wall: events at 100/s, scenes rotating every 10 s; JS heap, reloads and frozen frames.

    python -m bench.soak                          # ~10 minutes (the default run)
    python -m bench.soak --minutes 240            # four hours, as the issue asks
    python -m bench.soak --minutes 60 --rate 400  # compressed: the events of 4 h at 100/s in 1 h
    python -m bench.soak --simulator-speed 720    # the real simulator (all sources, anomalies) instead

Starts a private redis-server with ``--licences`` licences (through the real apply path), the real
stack (web, consumer, worker) with ``wall.scene_seconds = --scene-seconds``, and /wall in headless
Chromium. A feeder XADDs a mix of upstream events at ``--rate`` a second (new licences, inspections,
scans, cases, complaints, dated now). Compression: a shorter scene period and a higher rate make the
same number of scene changes and events happen in less time (``--rate 400`` for 1 h ≈ 4 h at 100/s);
``--simulator-speed`` plays the simulator's day faster than real time.

Measured (CDP on the page): ``JSHeapUsedSize`` after a forced GC (``HeapProfiler.collectGarbage``)
after a warm-up and then every ``--sample-seconds``, with DOM nodes and event listeners; a marker set
on ``window`` at the start must still be there at the end (no reload); a requestAnimationFrame
heartbeat records the longest gap between frames (a frozen frame); a MutationObserver on
``#wall-root`` counts the scene changes (class ``wall-scene-<name>``) — "scenes: not rotating" if none.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._stack import chromium, load_average, private_redis, stack  # noqa: E402
from bench.map_viewport import load  # noqa: E402
from core import keys  # noqa: E402
from core.settings import load_settings  # noqa: E402
from geo.boundaries import load_regions  # noqa: E402
from geo.index import RegionIndex  # noqa: E402
from tests.events import case_data, complaint_data, entry, inspection_data, issued_data, scan_data  # noqa: E402

CST = dt.timezone(dt.timedelta(hours=8))

# rAF heartbeat and scene watcher; reset by START at the beginning of the measured period.
INIT = """(() => {
  window.__wfBeat = { frames: 0, maxGap: 0, over100: 0, over1000: 0, last: 0 };
  const beat = (t) => {
    const b = window.__wfBeat;
    if (b.last) {
      const gap = t - b.last;
      if (gap > b.maxGap) b.maxGap = gap;
      if (gap > 100) b.over100++;
      if (gap > 1000) b.over1000++;
    }
    b.last = t; b.frames++;
    requestAnimationFrame(beat);
  };
  requestAnimationFrame(beat);
})();"""

START = """(marker) => {
  window.__wfSoakMarker = marker;
  window.__wfBeat = { frames: 0, maxGap: 0, over100: 0, over1000: 0, last: 0 };
  window.__wfScenes = [];
  const root = document.querySelector("#wall-root");
  const scene = () => (root.className.match(/wall-scene-([\\w-]+)/) || [])[1] || null;
  let current = scene();
  new MutationObserver(() => {
    const now = scene();
    if (now !== current) { current = now; window.__wfScenes.push([performance.now(), now]); }
  }).observe(root, { attributes: true, attributeFilter: ["class"] });
  return current;
}"""

STATE = """() => ({ marker: window.__wfSoakMarker, beat: window.__wfBeat, scenes: window.__wfScenes,
                   kpi: document.querySelector("#wall-kpi-active")?.textContent })"""


def events(start: int):
    """An endless mix of valid upstream events, dated now: (source, fields)."""
    for k in itertools.count(start):
        now = dt.datetime.now(CST).isoformat(timespec="seconds")
        lon, lat = 118.70 + (k % 40) * 0.006, 31.98 + (k // 40 % 40) * 0.004
        licence_no = f"3201{k:08d}"
        kind = k % 20
        if kind < 6:
            yield "licence", entry(data=issued_data(licence_no, lon=lon, lat=lat), event_id=f"soak-l{k}")
        elif kind < 12:
            data = inspection_data(f"soak-i{k}", licence_no=f"3201{max(0, k - 20):08d}", finished=now)
            yield "inspection", entry("inspection.completed", data, event_id=f"soak-i{k}", occurred_at=now)
        elif kind < 18:
            data = scan_data(f"{k:032d}", scanned_at=now, licence_no=f"3201{max(0, k - 20):08d}")
            yield "scan", entry("scan.recorded", data, event_id=f"soak-s{k}", occurred_at=now)
        elif kind == 18:
            yield (
                "case",
                entry("case.opened", case_data(f"soak-c{k}"), event_id=f"soak-c{k}", occurred_at=now),
            )
        else:
            data = complaint_data(f"soak-p{k}")
            yield "complaint", entry("complaint.received", data, event_id=f"soak-p{k}", occurred_at=now)


WIDTHS = {"worker": 9, "consumer": 11, "web": 6}  # the stack's processes, in the table's columns


def feed(r, rate: float, stop: threading.Event, sent: list[int]) -> None:
    """XADD ``rate`` events a second (a pipeline every 100 ms) until ``stop``; counts into ``sent[0]``."""
    source = events(10_000_000)
    per_tick = max(1, round(rate / 10))
    t0 = time.monotonic()
    for tick in itertools.count():
        if stop.wait(max(0.0, t0 + tick * per_tick / rate - time.monotonic())):
            return
        pipe = r.pipeline(transaction=False)
        for _ in range(per_tick):
            src, fields = next(source)
            pipe.xadd(keys.inbound(src), fields)
        pipe.execute()
        sent[0] += per_tick


def heap(cdp) -> dict:
    """JS heap used (after a forced GC), DOM nodes and event listeners of the page."""
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {k: metrics[k] for k in ("JSHeapUsedSize", "Nodes", "JSEventListeners")}


def rss_mb(pid: int) -> float:
    """Resident memory of a process (MB), 0 when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((x for x in text.splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1]) / 1024


def watch_rss(procs: dict, peaks: dict[str, float], stop: threading.Event) -> None:
    """Sample the stack's processes' resident memory twice a second, keeping each one's peak (the
    30-minute run found the RQ worker OOM-killed: the page's heap is not the only memory to watch)."""
    while not stop.wait(0.5):
        for name, proc in procs.items():
            peaks[name] = max(peaks.get(name, 0.0), rss_mb(proc.pid))


def stream_total(r) -> int:
    return sum(r.xlen(keys.inbound(s)) for s in ("licence", "inspection", "scan", "case", "complaint"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured period (after the warm-up)")
    parser.add_argument("--rate", type=float, default=100.0, help="events per second (the feeder)")
    parser.add_argument("--scene-seconds", type=float, default=10.0)
    parser.add_argument("--licences", type=int, default=20_000, help="loaded before the start")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before the first heap sample")
    parser.add_argument("--sample-seconds", type=float, default=60.0)
    parser.add_argument("--screen", default="1920x1080")
    parser.add_argument("--simulator-speed", type=float, default=0.0, help="run the simulator instead")
    parser.add_argument("--logs", default=None, help="keep the stack's logs in this directory")
    args = parser.parse_args()
    width, height = (int(v) for v in args.screen.split("x"))
    env = {"WATCHFLOOR_WALL_SCENE_SECONDS": str(args.scene_seconds)}
    settings = load_settings(environ={"WATCHFLOOR_REDIS_URL": "redis://unused", **env})
    print(f"before: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="wf-soak-") as tmp, private_redis() as server:
        r = server.client()
        procs: tuple[str, ...] = ("consumer", "worker")
        if args.simulator_speed:
            env |= {"WATCHFLOOR_SIMULATOR_SPEED": str(args.simulator_speed)}
            env |= {"WATCHFLOOR_SIMULATOR_LICENCES": str(args.licences)}
            source = f"the simulator at speed {args.simulator_speed:g}"
        else:
            regions = load_regions(settings)
            secs = load(r, settings, regions, RegionIndex(regions), args.licences)
            source = f"the feeder at {args.rate:g}/s"
            print(f"{args.licences:,} licences loaded in {secs:.0f} s")
        with stack(server, Path(args.logs or tmp), processes=procs, **env) as s, chromium() as browser:
            if args.simulator_speed:
                s.start("simulator", "-m", "streams.simulator")
            stop, sent = threading.Event(), [0]
            peaks: dict[str, float] = {}
            threading.Thread(target=watch_rss, args=(s.procs, peaks, stop), daemon=True).start()
            feeder = None
            if not args.simulator_speed:
                feeder = threading.Thread(
                    target=feed, args=(server.client(), args.rate, stop, sent), daemon=True
                )
                feeder.start()
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            navigations: list[str] = []
            page.on("framenavigated", lambda f: navigations.append(f.url) if f == page.main_frame else None)
            page.add_init_script(INIT)
            page.goto(s.url + "/wall")
            page.wait_for_selector("#wall-root", timeout=60_000)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            time.sleep(args.warmup)
            marker = f"soak-{time.time():.0f}"
            first_scene = page.evaluate(START, marker)
            loads_before = len(navigations)
            start_events, t0 = stream_total(r), time.monotonic()
            first = heap(cdp)
            print(
                f"events from {source}; scenes every {args.scene_seconds:g} s (first: {first_scene}); "
                f"measuring {args.minutes:g} min"
            )
            print(
                f"{'min':>6} {'events/s':>9} {'heap MB':>8} {'nodes':>7} {'listeners':>9}"
                f" {'max frame gap ms':>16} {'scenes':>6} {'worker MB':>9} {'consumer MB':>11} {'web MB':>6}"
            )
            last = first
            deadline = t0 + args.minutes * 60
            while True:
                now = time.monotonic()
                if now >= deadline:
                    break
                time.sleep(min(args.sample_seconds, deadline - now))
                last = heap(cdp)
                st = page.evaluate(STATE)
                elapsed = time.monotonic() - t0
                rate = (stream_total(r) - start_events) / elapsed
                print(
                    f"{elapsed / 60:>6.1f} {rate:>9.0f} {last['JSHeapUsedSize'] / 1e6:>8.1f}"
                    f" {last['Nodes']:>7.0f}"
                    f" {last['JSEventListeners']:>9.0f} {st['beat']['maxGap']:>16.0f} {len(st['scenes']):>6}"
                    + "".join(f" {rss_mb(s.procs[n].pid):>{w}.0f}" for n, w in WIDTHS.items())
                )
            stop.set()
            st = page.evaluate(STATE)
            elapsed = time.monotonic() - t0
            total = stream_total(r) - start_events
            dead = r.xlen(keys.DEAD)
            growth = (last["JSHeapUsedSize"] - first["JSHeapUsedSize"]) / first["JSHeapUsedSize"] * 100
            scenes = st["scenes"]
            print(f"\nafter: {load_average()}")
            print(
                f"events: {total:,} in {elapsed / 60:.1f} min ({total / elapsed:.0f}/s),"
                f" dead letters {dead:,}"
            )
            print(
                f"JS heap after GC: start {first['JSHeapUsedSize'] / 1e6:.1f} MB,"
                f" end {last['JSHeapUsedSize'] / 1e6:.1f}"
                f" MB ({growth:+.1f} %); DOM nodes {first['Nodes']:.0f} → {last['Nodes']:.0f}; listeners"
                f" {first['JSEventListeners']:.0f} → {last['JSEventListeners']:.0f}"
            )
            reloaded = st["marker"] != marker or len(navigations) != loads_before
            print(
                f"reload: {'YES' if reloaded else 'none'}"
                f" (window marker {'kept' if st['marker'] == marker else 'LOST'})"
            )
            beat = st["beat"]
            print(
                f"frames: {beat['frames']:,}, longest gap {beat['maxGap']:.0f} ms,"
                f" gaps > 100 ms: {beat['over100']},"
                f" > 1 s: {beat['over1000']}"
            )
            reports = (Path(s.log_dir) / "worker.log").read_text(errors="replace").count("worker: job ")
            print(
                "peak resident memory (sampled every 0.5 s): "
                + ", ".join(f"{n} {peaks.get(n, 0):.0f} MB" for n in WIDTHS)
                + f"; worker memory reports (core/memory.py): {reports}"
            )
            if scenes:
                names = sorted({n for _, n in scenes})
                period = (scenes[-1][0] - scenes[0][0]) / 1000 / max(1, len(scenes) - 1)
                print(
                    f"scenes: {len(scenes)} changes, every {period:.1f} s on average,"
                    f" shown: {', '.join(names)}"
                )
            else:
                print("scenes: not rotating")
            print(
                f"\ngoal heap growth ≤ 10 %: {'met' if growth <= 10 else 'NOT met'}; no reload: "
                f"{'met' if not reloaded else 'NOT met'}; no frozen frame (> 1 s): "
                f"{'met' if beat['over1000'] == 0 else 'NOT met'}"
            )
            if feeder is not None:
                feeder.join(5)


if __name__ == "__main__":
    main()
