"""Shared by the browser benches: a private Redis, the real stack as processes, headless Chromium.

The stack is the one the browser tests start (``tests.browser.conftest.Stack``: web, consumer,
worker as ``python`` child processes on the given Redis), except that the web process is
``bench/_web.py`` — the same ``create_app()`` with a few bench-only routes added.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

from core.redis_server import EmbeddedRedis  # noqa: E402
from scripts.screenshot import ARGS as CHROMIUM_ARGS  # noqa: E402
from scripts.screenshot import CHROMIUM  # noqa: E402
from tests.browser.conftest import Stack  # noqa: E402

# Timestamps taken in the page on the same clock as Python's time.time() (epoch ms, sub-ms precision).
NOW_JS = "performance.timeOrigin + performance.now()"


@contextlib.contextmanager
def private_redis(data_dir: str | None = None) -> Iterator[EmbeddedRedis]:
    """A redis-server of its own, in ``data_dir`` (kept) or a temporary directory (removed)."""
    binary = os.environ.get("WATCHFLOOR_REDIS_EMBEDDED_BINARY") or "redis-server"
    if data_dir:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        with EmbeddedRedis(binary, Path(data_dir)) as server:
            yield server
        return
    with tempfile.TemporaryDirectory(prefix="wf-bench-") as tmp, EmbeddedRedis(binary, Path(tmp)) as server:
        yield server


@contextlib.contextmanager
def stack(
    server: EmbeddedRedis, log_dir: Path, processes: tuple[str, ...] = ("consumer", "worker"), **env: str
) -> Iterator[Stack]:
    """The bench web process plus the given processes (``consumer``, ``worker``) on ``server``."""
    s = Stack(server.url, log_dir, **env)
    commands = {"consumer": ("-m", "streams.consumer"), "worker": ("-m", "indicators.worker")}
    try:
        s.start("web", "bench/_web.py")
        for name in processes:
            s.start(name, *commands[name])
        s.wait_http()
        yield s
    finally:
        s.stop()


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium (the browser the tests use)."""
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium (make test does so as root)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared: figures need this context)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) of ``values``, linear interpolation (nan when empty)."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[min(998, max(0, round(q * 10) - 1))]
