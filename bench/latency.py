"""Event → screen latency of /wall at 2,000 events/s, against a 1 s polling page in the same run.

    python -m bench.latency [--rate 2000] [--seconds 20] [--tick-ms 10] [--warnings 20]

Starts a private redis-server and the real stack (web, consumer, worker as processes), opens /wall
and a polling page (``/bench/poll``: fetches the same snapshot every 1 s, see bench/_web.py) in
headless Chromium, then XADDs ``licence.issued`` events to ``wf:in:licence`` at ``--rate`` for
``--seconds``, in a pipeline every ``--tick-ms``.

Each new licence raises the province's active count by one, so event k is on screen once the KPI
text shows base + k or more. A MutationObserver in each page timestamps every text change
(``performance.timeOrigin + performance.now()``, the same clock as Python's ``time.time()``).
**Latency of event k** = time of the first DOM state that includes it − the time just before its
XADD was sent. ``--warnings N`` opens N warnings first, so the wall's ticker is as full as on a
working day (every line is components the page updates on each push). With batching (consumer
batches, one push per batch) every event waits for the batch that carries it, so this is per event,
not per batch; the first event of a batch waits longest.
"""

from __future__ import annotations

import argparse
import bisect
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from alerts.store import upsert_warnings  # noqa: E402
from bench._stack import NOW_JS, chromium, load_average, pct, private_redis, stack  # noqa: E402
from core import keys  # noqa: E402
from tests.events import entry, issued_data, warning_candidate  # noqa: E402

PROVINCE = 320000
WALL_KPI = "#wall-kpi-active"
POLL_KPI = "#poll-active"

# Records [epoch ms, text] on every change of the element's text (the element must exist).
OBSERVE = """(sel) => {
  const el = document.querySelector(sel);
  window.__wfObs = [[NOW, el.textContent]];
  new MutationObserver(() => window.__wfObs.push([NOW, el.textContent]))
    .observe(el, {childList: true, characterData: true, subtree: true});
  return true;
}""".replace("NOW", NOW_JS)


# Before the page's scripts: timestamp every Socket.IO "licence" push for the province as it arrives
# (the message event, before Dash handles it), to split transport from rendering.
RECEIVED = """(() => {
  const Orig = window.WebSocket;
  window.__wfWs = [];
  window.WebSocket = class extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        const t = NOW;
        if (typeof e.data !== "string" || !e.data.startsWith('42["licence"')) return;
        try {
          const p = JSON.parse(e.data.slice(2))[1];
          if (p.adcode === PROVINCE) window.__wfWs.push([t, String(p.active)]);
        } catch (err) { /* not ours */ }
      });
    }
  };
})();""".replace("NOW", NOW_JS).replace("PROVINCE", str(PROVINCE))


def value(text: str) -> int:
    """The count shown by a KPI text ("12,345" or "12345"); -1 for a placeholder."""
    digits = text.replace(",", "").strip()
    return int(digits) if digits.isdigit() else -1


def licence(k: int) -> dict:
    """The k-th new licence: unique number, a point on a grid over Nanjing's urban districts."""
    lon, lat = 118.70 + (k % 40) * 0.006, 31.98 + (k // 40 % 40) * 0.004
    return entry(data=issued_data(f"3201{k:08d}", lon=lon, lat=lat), event_id=f"lat-{k}")


def open_warnings(r, n: int) -> None:
    """Open ``n`` warnings in as many counties, the way the warning job stores them."""
    counties = (320102, 320104, 320105, 320106, 320111, 320113, 320114, 320115, 320116, 320117,
                320118, 320205, 320206, 320211, 320213, 320214, 320302, 320303, 320305, 320311)  # fmt: skip
    now = int(time.time() * 1000)
    places = (counties * (n // len(counties) + 1))[:n]
    candidates = [warning_candidate(f"complaint_spike:{a}:{k}", a, 1 + k % 4) for k, a in enumerate(places)]
    upsert_warnings(r, candidates, now, 86_400_000, max(n, 1))


def feed(r, start: int, rate: float, seconds: float, tick_ms: float) -> tuple[list[float], float]:
    """XADD ``rate`` events a second for ``seconds``; returns the send time (epoch ms) of each event."""
    per_tick = max(1, round(rate * tick_ms / 1000))
    n_ticks = round(rate * seconds / per_tick)
    sent: list[float] = []
    t0 = time.monotonic()
    k = start
    for i in range(n_ticks):
        delay = t0 + i * tick_ms / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        pipe = r.pipeline(transaction=False)
        for _ in range(per_tick):
            pipe.xadd(keys.inbound("licence"), licence(k))
            k += 1
        ts = time.time() * 1000
        pipe.execute()
        sent += [ts] * per_tick
    return sent, len(sent) / (time.monotonic() - t0)


def latencies(sent: list[float], base: int, observations: list) -> tuple[list[float], int]:
    """Per-event latency (ms) from the DOM observations [[ms, text], ...]; and the events never seen."""
    times, shown, best = [], [], -1
    for ts, text in observations:
        best = max(best, value(text))  # a state that includes event k includes every event before it
        times.append(ts)
        shown.append(best)
    out, missing = [], 0
    for k, ts in enumerate(sent, start=1):
        i = bisect.bisect_left(shown, base + k)
        if i == len(shown):
            missing += 1
        else:
            out.append(times[i] - ts)
    return out, missing


def listen(r, out: list, stop: threading.Event) -> threading.Thread:
    """Record [epoch ms, province count] of every licence announcement on ``wf:updates``."""
    pubsub = r.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.UPDATES)

    def run() -> None:
        while not stop.is_set():
            message = pubsub.get_message(timeout=0.1)
            if message is not None:
                update = orjson.loads(message["data"])
                if update.get("topic") == "licence":
                    out.append([time.time() * 1000, str(update["active"].get(str(PROVINCE), -1))])
        pubsub.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_for_count(page, sel: str, count: int, timeout_ms: int) -> None:
    """Wait until the KPI at ``sel`` shows ``count`` or more."""
    page.wait_for_function(
        "([sel, n]) => Number((document.querySelector(sel)?.textContent || '').replace(/,/g, '')) >= n",
        arg=[sel, count],
        timeout=timeout_ms,
        polling=50,
    )


def row(name: str, lat: list[float], missing: int, updates: int) -> str:
    return (
        f"{name:22} {len(lat):>7} {missing:>5} {updates:>8} {pct(lat, 50):>8.0f} {pct(lat, 95):>8.0f}"
        f" {pct(lat, 99):>8.0f} {max(lat, default=float('nan')):>8.0f}"
    )


def push_interval(override: float | None) -> str:
    from core.settings import WebSettings

    return f"{WebSettings().licence_push_seconds if override is None else override:g} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to send")
    parser.add_argument("--tick-ms", type=float, default=10.0, help="one XADD pipeline per tick")
    parser.add_argument("--logs", default=None, help="keep the stack's logs in this directory")
    parser.add_argument(
        "--push-seconds",
        type=float,
        default=None,
        help="web.licence_push_seconds of the web process (0: one push per batch), to compare",
    )
    parser.add_argument("--warnings", type=int, default=0, help="open warnings on the wall's ticker")
    args = parser.parse_args()
    env = {} if args.push_seconds is None else {"WATCHFLOOR_WEB_LICENCE_PUSH_SECONDS": str(args.push_seconds)}
    print(
        f"before: {load_average()}; licence pushes at most every {push_interval(args.push_seconds)};"
        f" {args.warnings} open warnings"
    )
    with (
        tempfile.TemporaryDirectory(prefix="wf-latency-") as tmp,
        private_redis() as server,
        stack(server, Path(args.logs or tmp), **env) as s,
        chromium() as browser,
    ):
        r = server.client()
        open_warnings(r, args.warnings)
        wall = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        wall.add_init_script(RECEIVED)
        sockets: list[str] = []
        wall.on("websocket", lambda ws: sockets.append(ws.url))
        wall.goto(s.url + "/wall")
        poll = browser.new_context(viewport={"width": 800, "height": 200}).new_page()
        poll.goto(s.url + "/bench/poll")
        # warm-up: a few events one by one, until both pages show them (the socket is up, JIT warm)
        warm = 20
        for k in range(warm):
            r.xadd(keys.inbound("licence"), licence(k))
            time.sleep(0.1)
        wait_for_count(wall, WALL_KPI, warm, 30_000)
        if args.warnings:
            wall.wait_for_selector("#wall-ticker .wall-tick", timeout=30_000)
        wait_for_count(poll, POLL_KPI, warm, 30_000)
        time.sleep(1.5)
        base = int(r.hget(keys.licence_counts("valid"), str(PROVINCE)) or 0)
        for page, sel in ((wall, WALL_KPI), (poll, POLL_KPI)):
            page.evaluate(OBSERVE, sel)
        announced: list = []
        stop = threading.Event()
        listener = listen(r, announced, stop)
        print(f"sending {args.rate:,.0f} licence.issued/s for {args.seconds:g} s (base count {base:,})")
        sent, achieved = feed(r, warm, args.rate, args.seconds, args.tick_ms)
        during = load_average()
        for page, sel in ((wall, WALL_KPI), (poll, POLL_KPI)):
            try:
                wait_for_count(page, sel, base + len(sent), 60_000)
            except PlaywrightTimeout:
                applied = int(r.hget(keys.licence_counts("valid"), str(PROVINCE)) or 0)
                raise SystemExit(
                    f"{sel} shows {page.inner_text(sel)}, not {base + len(sent):,}, 60 s after the last"
                    " event;"
                    f" in Redis the count is {applied:,} (the consumer's state)"
                ) from None
        time.sleep(0.2)
        stop.set()
        listener.join()
        obs = {name: page.evaluate("() => window.__wfObs") for name, page in (("wall", wall), ("poll", poll))}
        obs["announced"] = [[0, str(base)], *announced]
        emitted = orjson.loads(wall.request.get(s.url + "/bench/emits.json").body())
        obs["emitted"] = [[0, str(base)], *emitted]
        obs["received"] = [[0, str(base)], *wall.evaluate("() => window.__wfWs")]
        clock_skew = wall.evaluate(f"() => {NOW_JS} - Date.now()")
        print(
            f"sent {len(sent):,} events at {achieved:,.0f}/s; page clock − Date.now(): {clock_skew:+.1f} ms"
        )
        print(f"after: {during}; wall websocket: {'yes' if sockets else 'NO (long-polling)'}")
        print(
            f"\n{'per-event latency, ms':22} {'events':>7} {'lost':>5} {'updates':>8}"
            f" {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}"
        )
        results = {}
        for name, label in (
            ("announced", "consumer announced"),
            ("emitted", "emitted by the relay"),
            ("received", "arrived in the page"),
            ("wall", "/wall push (Socket.IO)"),
            ("poll", "1 s polling baseline"),
        ):
            lat, missing = latencies(sent, base, obs[name])
            results[name] = lat
            print(row(label, lat, missing, len(obs[name]) - 1))
        p95, base95 = pct(results["wall"], 95), pct(results["poll"], 95)
        print(
            f"\ngoal p95 ≤ 100 ms: {'met' if p95 <= 100 else 'NOT met'} ({p95:.0f} ms); "
            f"≥ 10× better than polling: {'met' if base95 >= 10 * p95 else 'NOT met'} ({base95 / p95:.1f}×)"
        )


if __name__ == "__main__":
    main()
