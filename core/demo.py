"""``python -m core.demo`` (``make demo``): run all of Watchfloor on one machine; Ctrl-C stops it all.

1. Load the settings (a bad value: one line and exit code 2).
2. Unless ``redis.url`` is set, start a private redis-server (AOF on) under ``redis.embedded.dir`` and
   pass its address to every child in ``WATCHFLOOR_REDIS_URL``.
3. Start the :data:`CHILDREN` (two stream consumers, indicator worker, upstream simulator, web app), each
   in its own process group, with this process's environment and the project root as working dir.
4. A child that dies with a non-zero code (or a signal) is reported and restarted after a back-off
   (1, 2, 4, 8 … s, at most :data:`MAX_RESTARTS` per :data:`RESTART_WINDOW` seconds); one that exits
   with code 0 has finished its work and is not restarted.
5. Ctrl-C, SIGTERM or SIGHUP: SIGTERM every child's process group, wait up to
   :data:`STOP_GRACE_SECONDS`, SIGKILL what is left, then SHUTDOWN Redis (its data stays in
   ``var/redis``). A second Ctrl-C skips the wait. If this process is killed outright, the kernel
   sends SIGTERM to the children and Redis (PR_SET_PDEATHSIG), so nothing is left behind.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from core.connection import redacted
from core.redis_server import EmbeddedRedis, RedisServerError, die_with_parent, exited, kill_group
from core.settings import ROOT, Settings, load_or_exit

#: (name, argv) of every process the demo runs; tests replace this list.
CHILDREN: list[tuple[str, list[str]]] = [
    # two consumers in the group: ingest throughput (bench/ingest.py) is counted with two processes
    ("consumer", [sys.executable, "-m", "streams.consumer"]),
    ("consumer-2", [sys.executable, "-m", "streams.consumer"]),
    ("worker", [sys.executable, "-m", "indicators.worker"]),
    ("simulator", [sys.executable, "-m", "streams.simulator"]),
    ("web", [sys.executable, "app.py"]),
]

STOP_GRACE_SECONDS = 10.0  # between SIGTERM and SIGKILL when stopping
RESTART_WINDOW = 60.0  # seconds over which restarts are counted
MAX_RESTARTS = 4  # per child per RESTART_WINDOW
MAX_BACKOFF = 30.0  # seconds
REDIS_START_TIMEOUT = 120.0  # loading a large AOF takes a while
POLL_SECONDS = 0.2


def say(message: str) -> None:
    print(f"watchfloor demo: {message}", file=sys.stderr, flush=True)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: collections.deque[float] = field(default_factory=collections.deque)
    next_start: float | None = None

    def start(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        self.next_start = None

    def backoff(self, now: float) -> float:
        """Seconds to wait before the next restart (also records that restart)."""
        while self.restarts and now - self.restarts[0] > RESTART_WINDOW:
            self.restarts.popleft()
        delay = min(2.0 ** len(self.restarts), MAX_BACKOFF)
        if len(self.restarts) >= MAX_RESTARTS:
            delay = max(delay, self.restarts[0] + RESTART_WINDOW - now)
        self.restarts.append(now + delay)
        return delay


class _Interrupted(Exception):
    pass


class Supervisor:
    """Runs Redis (unless configured) and the children until a stop signal; see the module doc."""

    def __init__(self, settings: Settings, children: list[tuple[str, list[str]]] | None = None) -> None:
        self.settings = settings
        specs = CHILDREN if children is None else children
        self.children = [Child(name, list(argv)) for name, argv in specs]
        self.redis: EmbeddedRedis | None = None
        self.phase = "starting"
        self.signals = 0

    # -- signals -------------------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame) -> None:
        self.signals += 1
        if self.phase == "starting":
            raise _Interrupted
        if self.phase == "stopping":
            say("stopping now")

    def _install_signal_handlers(self) -> dict[int, object]:
        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, self._on_signal)
        return previous

    # -- main loop -----------------------------------------------------------------------------------

    def run(self) -> int:
        previous: dict[int, object] = {}
        try:
            previous = self._install_signal_handlers()
            return self._run()
        except _Interrupted:
            say("interrupted while starting; stopping")
            return 0
        finally:
            self.phase = "stopping"
            self._stop_children()
            self._stop_redis()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self) -> int:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        if self.settings.redis.url:
            say(f"using Redis at {redacted(self.settings.redis.url)}")
        else:
            embedded = self.settings.redis.embedded
            self.redis = EmbeddedRedis(
                embedded.binary,
                self.settings.path(embedded.dir),
                embedded.port,
                start_timeout=REDIS_START_TIMEOUT,
            )
            try:
                self.redis.start()
            except RedisServerError as exc:
                say(f"cannot start Redis: {exc}")
                return 1
            env["WATCHFLOOR_REDIS_URL"] = self.redis.url
            say(f"Redis {self.redis.url} (pid {self.redis.pid}, data in {self.redis.data_dir})")
        self.phase = "running"
        for child in self.children:
            child.start(env)
            say(f"started {child.name} (pid {child.proc.pid}): {' '.join(child.argv[1:])}")
        host = self.settings.web.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{self.settings.web.port}/wall"
        print(f"Watchfloor demo: {url} (Ctrl-C stops everything)", flush=True)
        while not self.signals:
            self._watch(env)
            time.sleep(POLL_SECONDS)
        say("stopping")
        return 0

    def _watch(self, env: dict[str, str]) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.proc is not None and exited(child.proc):
                code = kill_group(child.proc)  # also removes anything the child left in its group
                child.proc = None
                if code == 0:
                    say(f"{child.name} finished (exit code 0); not restarted")
                    continue
                how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                delay = child.backoff(now)
                child.next_start = now + delay
                say(f"{child.name} died unexpectedly ({how}); restarting in {delay:.0f} s")
            elif child.proc is None and child.next_start is not None and now >= child.next_start:
                child.start(env)
                say(f"restarted {child.name} (pid {child.proc.pid})")

    # -- stopping ------------------------------------------------------------------------------------

    def _stop_children(self) -> None:
        running = [c for c in self.children if c.proc is not None]
        for child in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        signals_at_start = self.signals
        while any(not exited(c.proc) for c in running):
            if time.monotonic() > deadline or self.signals > signals_at_start:
                break
            time.sleep(0.05)
        for child in running:
            if not exited(child.proc):
                say(f"{child.name} (pid {child.proc.pid}) did not stop; killing it")
            kill_group(child.proc)  # SIGKILL whatever is left in the group, then reap
            child.proc = None

    def _stop_redis(self) -> None:
        if self.redis is not None and self.redis.pid is not None:
            self.redis.stop()
            say(f"Redis stopped; data kept in {self.redis.data_dir}")


def main() -> int:
    settings = load_or_exit()
    return Supervisor(settings).run()


if __name__ == "__main__":
    sys.exit(main())
