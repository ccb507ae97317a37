"""A private ``redis-server`` for the demo and the tests: loopback only, AOF on, no orphans.

>>> with EmbeddedRedis("redis-server", "var/redis") as server:   # doctest: +SKIP
...     r = redis.Redis.from_url(server.url)

The server listens on 127.0.0.1 only (a free port when ``port=0``), keeps its data as an append-only
file under ``data_dir`` (``appendfsync everysec``; no RDB snapshots) and logs to
``data_dir/redis.log``. :meth:`EmbeddedRedis.stop` sends SHUTDOWN so the AOF is flushed, then waits
and kills if needed. The server runs in its own process group (a Ctrl-C in the terminal reaches the
owner, which stops its clients first and Redis last), is stopped at interpreter exit, and gets
SIGTERM from the kernel if its owner dies without cleaning up (Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

HOST = "127.0.0.1"
LOG_NAME = "redis.log"
AOF_DIR_NAME = "appendonlydir"  # Redis ≥ 7 keeps a multi-part AOF in this directory
AOF_FILE_NAME = "appendonly.aof"  # Redis < 7: a single file (or the base name inside AOF_DIR_NAME)
RDB_FILE_NAME = "dump.rdb"

_NO_RETRY = Retry(NoBackoff(), 0)
_PR_SET_PDEATHSIG = 1
_libc = None
with contextlib.suppress(OSError):
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


class RedisServerError(RuntimeError):
    """The embedded redis-server could not be started (the message says why and where the log is)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def die_with_parent(sig: int = signal.SIGTERM):
    """A ``preexec_fn`` that makes the kernel send ``sig`` to the child when its parent dies.

    The kernel counts the *thread* that started the child as its parent, so this is only armed for
    children started from the main thread (others rely on atexit and explicit stops). A no-op where
    prctl is not available.
    """
    parent = os.getpid()
    armed = _libc is not None and threading.current_thread() is threading.main_thread()

    def preexec() -> None:
        if armed:
            _libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os.kill(os.getpid(), sig)

    return preexec


def exited(proc: subprocess.Popen) -> bool:
    """Whether ``proc`` has exited, *without* reaping it (its pid, and so its process group id, stay ours)."""
    if proc.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # reaped elsewhere
        return True


def kill_group(proc: subprocess.Popen) -> int | None:
    """SIGKILL everything left in ``proc``'s process group (``proc`` must lead it), then reap ``proc``.

    Safe against pid reuse: the group is signalled only while its leader is not yet reaped.
    Returns the exit code.
    """
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    return proc.returncode


def _version(binary: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return (0,)
    m = re.search(r"v=(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0,)


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


class EmbeddedRedis:
    """A redis-server child process owned by this Python process.

    ``binary`` is a name looked up on PATH or a path; ``data_dir`` is created if needed and keeps the
    AOF between runs; ``port=0`` picks a free port at :meth:`start`.
    """

    def __init__(
        self,
        binary: str | os.PathLike[str],
        data_dir: str | os.PathLike[str],
        port: int = 0,
        *,
        start_timeout: float = 30.0,
    ) -> None:
        self.binary = str(binary)
        self.data_dir = Path(data_dir).resolve()
        self.requested_port = int(port)
        self.start_timeout = start_timeout
        self.log_path = self.data_dir / LOG_NAME
        self._port = int(port)
        self._proc: subprocess.Popen[bytes] | None = None

    # -- properties ----------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on (the requested one until :meth:`start` picks a free one)."""
        return self._port

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``; only valid while the server runs."""
        if not self.running:
            raise RedisServerError("the embedded Redis is not running; call start() first")
        return f"redis://{HOST}:{self._port}/0"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and not exited(self._proc)

    def client(self, **kwargs) -> redis.Redis:
        """A new client on this server (bytes responses unless ``decode_responses=True``)."""
        return redis.Redis(host=HOST, port=self._port, **kwargs)

    def _control_client(self, timeout: float) -> redis.Redis:
        # No automatic retries: a refused connection or a closed socket is the answer we wait for.
        return self.client(socket_connect_timeout=min(timeout, 2.0), socket_timeout=timeout, retry=_NO_RETRY)

    def __repr__(self) -> str:
        state = f"pid {self.pid} port {self._port}" if self.running else "stopped"
        return f"<EmbeddedRedis {self.binary} {self.data_dir} {state}>"

    # -- life cycle ----------------------------------------------------------------------------------

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> EmbeddedRedis:
        """Start the server and wait until it answers PING; raise :class:`RedisServerError` if not."""
        if self.running:
            return self
        path = shutil.which(self.binary)
        if path is None:
            raise RedisServerError(
                f"redis-server binary {self.binary!r} not found (PATH or redis.embedded.binary); "
                "install it with `apt-get install redis-server` or run `make bootstrap` as root"
            )
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RedisServerError(f"cannot create the Redis data directory {self.data_dir}: {exc}") from None
        version = _version(path)
        attempts = 5 if self.requested_port == 0 else 1
        for attempt in range(attempts):
            self._port = self.requested_port or free_port()
            try:
                self._spawn(path, version)
                self._wait_ready(path)
            except _PortTaken:
                self._kill()
                if attempt == attempts - 1:
                    raise RedisServerError(
                        f"{path}: port {self._port} on {HOST} is already in use; see {self.log_path}"
                    ) from None
                continue
            except BaseException:
                self._kill()
                raise
            atexit.register(self.stop)
            return self
        raise AssertionError("unreachable")

    def _spawn(self, path: str, version: tuple[int, ...]) -> None:
        args = [
            path,
            "--bind", HOST,
            "--port", str(self._port),
            "--protected-mode", "yes",  # loopback clients are always allowed; nothing else can reach it
            "--daemonize", "no",
            "--supervised", "no",
            "--dir", str(self.data_dir),
            "--dbfilename", RDB_FILE_NAME,
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--appendfilename", AOF_FILE_NAME,
            "--logfile", "",  # stdout, which goes to data_dir/redis.log with anything printed before
            "--loglevel", "notice",
        ]  # fmt: skip
        if version >= (7, 0):
            args += ["--appenddirname", AOF_DIR_NAME]
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- watchfloor: starting {' '.join(args)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                process_group=0,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )

    def _wait_ready(self, path: str) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        client = self._control_client(2.0)
        try:
            while True:
                if exited(self._proc):
                    code = kill_group(self._proc)
                    self._proc = None
                    if "Address already in use" in _tail(self.log_path, 4):
                        raise _PortTaken
                    raise RedisServerError(
                        f"{path} exited with code {code} while starting; see {self.log_path}:\n"
                        + _tail(self.log_path)
                    )
                try:
                    # with a fixed port another server may answer there: check that it is ours
                    if int(client.info("server")["process_id"]) != self._proc.pid:
                        raise _PortTaken
                    if client.ping():  # fails while the AOF is still loading
                        return
                except redis.exceptions.RedisError:
                    pass  # not listening yet, or still loading the AOF
                if time.monotonic() > deadline:
                    raise RedisServerError(
                        f"{path} did not answer PING on {HOST}:{self._port} within {self.start_timeout:g} s; "
                        f"see {self.log_path}:\n" + _tail(self.log_path)
                    )
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self, timeout: float = 10.0) -> None:
        """SHUTDOWN (flushes the AOF), wait up to ``timeout`` s, then kill. Safe to call twice."""
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        proc = self._proc
        if proc is None:
            return
        if not exited(proc):
            client = self._control_client(timeout)
            try:
                client.shutdown()  # returns when the server closes the connection
            except redis.exceptions.RedisError:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)  # Redis shuts down the same way on SIGTERM
            finally:
                client.close()
            deadline = time.monotonic() + timeout
            while not exited(proc) and time.monotonic() < deadline:
                time.sleep(0.02)
        self._kill()

    def _kill(self) -> None:
        """Kill whatever is left of the server's process group and reap the server."""
        if self._proc is not None:
            kill_group(self._proc)
        self._proc = None


class _PortTaken(Exception):
    pass
