"""The embedded redis-server, connect(), and the demo supervisor: real processes, no orphans."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from core.connection import RedisUnreachable, connect
from core.redis_server import EmbeddedRedis, RedisServerError, free_port
from core.settings import ROOT, SettingsError, load_settings


@pytest.fixture(scope="module")
def binary(redis_server: EmbeddedRedis) -> str:
    """The redis-server the session fixture found (which fails clearly if there is none)."""
    return redis_server.binary


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def redis_pids(data_dir: Path) -> list[int]:
    """Live redis-server processes working in ``data_dir`` (found through /proc; EmbeddedRedis runs
    the server with its data dir as working directory)."""
    found = []
    target = str(data_dir.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            is_redis = (entry / "comm").read_text().strip().startswith("redis-server")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if is_redis and cwd == target and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# -- EmbeddedRedis ---------------------------------------------------------------------------------


@pytest.fixture
def server_dir(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "redis"
    yield data
    leftovers = redis_pids(data)
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, f"redis-server left running: {leftovers}"


def test_free_port_is_bindable() -> None:
    import socket

    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_starts_answers_writes_aof_and_stops_cleanly(server_dir: Path, binary: str) -> None:
    server = EmbeddedRedis(binary, server_dir)
    with server:
        assert server.running and server.port > 0
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        r = redis.Redis.from_url(server.url)
        assert r.ping()
        assert r.config_get("appendonly") == {"appendonly": "yes"}
        assert r.config_get("bind") == {"bind": "127.0.0.1"}
        assert r.config_get("dir") == {"dir": str(server_dir.resolve())}
        r.set(b"wf:test", "值")
        r.close()
        pid = server.pid
        assert redis_pids(server_dir) == [pid]
    assert not server.running
    assert not alive(pid)
    assert redis_pids(server_dir) == []
    aof = [p for p in server_dir.rglob("*.aof") if p.stat().st_size > 0]
    assert aof, f"no AOF under {server_dir}: {sorted(server_dir.rglob('*'))}"
    assert b"wf:test" in b"".join(p.read_bytes() for p in aof)
    assert (server_dir / "redis.log").exists()
    server.stop()  # a second stop is harmless


def test_keeps_data_across_stop_and_start(server_dir: Path, binary: str) -> None:
    with EmbeddedRedis(binary, server_dir) as first:
        c = first.client()
        c.hset(b"wf:h", mapping={b"a": b"1", b"b": b"2"})
        c.xadd(b"wf:in:test", {b"id": b"1"})
        c.close()
    with EmbeddedRedis(binary, server_dir) as second:
        c = second.client()
        assert c.hgetall(b"wf:h") == {b"a": b"1", b"b": b"2"}
        assert c.xlen(b"wf:in:test") == 1
        c.close()


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(
        RedisServerError, match="no-such-redis-server.*not found.*apt-get install redis-server"
    ):
        EmbeddedRedis("no-such-redis-server", tmp_path).start()


def test_a_port_in_use_is_a_clear_error(server_dir: Path, redis_server: EmbeddedRedis, binary: str) -> None:
    with pytest.raises(RedisServerError) as info:
        EmbeddedRedis(binary, server_dir, port=redis_server.port).start()
    message = str(info.value)
    assert str(redis_server.port) in message and "redis.log" in message


def test_owner_killed_outright_takes_redis_with_it(tmp_path: Path, binary: str) -> None:
    data = tmp_path / "redis"
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from core.redis_server import EmbeddedRedis;"
            f"s = EmbeddedRedis({binary!r}, {str(data)!r}).start(); print(s.pid, flush=True);"
            "time.sleep(600)",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pid = int(owner.stdout.readline())
        assert alive(pid)
    finally:
        owner.kill()
        owner.wait()
    wait_for(lambda: not alive(pid), 10, "redis-server to follow its killed owner")


# -- connect() -------------------------------------------------------------------------------------


def test_connect_without_wait_to_a_dead_port_raises_a_clear_error() -> None:
    port = free_port()
    settings = load_settings(environ={"WATCHFLOOR_REDIS_URL": f"redis://:secret@127.0.0.1:{port}/0"})
    with pytest.raises(ConnectionError) as info:
        connect(settings, wait=False)
    message = str(info.value)
    assert isinstance(info.value, RedisUnreachable)
    assert isinstance(info.value, redis.ConnectionError)
    assert message.startswith(f"watchfloor: Redis at redis://:***@127.0.0.1:{port}/0 is unreachable (")
    assert "refused" in message.lower()
    assert "secret" not in message


def test_connect_waits_until_redis_answers(tmp_path: Path, binary: str) -> None:
    port = free_port()
    settings = load_settings(
        environ={
            "WATCHFLOOR_REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "WATCHFLOOR_REDIS_RETRY_SECONDS": "0.1",
        }
    )
    out = io.StringIO()
    result: dict[str, object] = {}

    def client_side() -> None:
        try:
            result["client"] = connect(settings, stream=out)
        except Exception as exc:  # reported below
            result["error"] = exc

    waiter = threading.Thread(target=client_side, daemon=True)
    waiter.start()
    time.sleep(0.8)
    assert waiter.is_alive(), result
    with EmbeddedRedis(binary, tmp_path / "late", port=port):
        waiter.join(20)
        assert "error" not in result, result
        client = result["client"]
        assert client.ping()
        assert client.get_connection_kwargs().get("decode_responses") is False
        client.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"watchfloor: Redis at redis://127.0.0.1:{port}/0 is unreachable (")
    assert lines[0].endswith("; retrying every 0.1 s")
    assert "answers now" in lines[1]


def test_connect_with_an_empty_url_says_what_to_do() -> None:
    with pytest.raises(SettingsError, match="redis.url is empty.*WATCHFLOOR_REDIS_URL"):
        connect(load_settings(environ={}), wait=False)


def test_connect_returns_a_bytes_client(settings, redis_client) -> None:
    client = connect(settings, wait=False)
    client.set(b"k", "é")
    assert client.get(b"k") == "é".encode()
    client.close()


# -- the demo supervisor ---------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, pathlib, signal, sys, time
    name, out = sys.argv[1], pathlib.Path(sys.argv[2])
    if name == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    runs = out / f"{name}.runs"
    n = int(runs.read_text()) + 1 if runs.exists() else 1
    runs.write_text(str(n))
    (out / f"{name}.{n}.pid").write_text(str(os.getpid()))
    (out / f"{name}.url").write_text(os.environ.get("WATCHFLOOR_REDIS_URL", ""))
    if name == "flaky" and n == 1:
        time.sleep(0.3)
        sys.exit(3)
    time.sleep(600)
    """
)


def start_demo(
    tmp_path: Path, binary: str, children: list[str], grace: float = 10.0
) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    out = tmp_path / "out"
    out.mkdir()
    specs = [(name, [sys.executable, str(script), name, str(out)]) for name in children]
    code = (
        "import sys, core.demo as demo\n"
        f"demo.CHILDREN = {specs!r}\n"
        f"demo.STOP_GRACE_SECONDS = {grace!r}\n"
        "sys.exit(demo.main())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHFLOOR_")}
    env["WATCHFLOOR_REDIS_EMBEDDED_DIR"] = str(tmp_path / "redis")
    env["WATCHFLOOR_REDIS_EMBEDDED_BINARY"] = binary
    env["WATCHFLOOR_WEB_PORT"] = "18050"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def child_pids(out: Path) -> dict[str, int]:
    return {p.name.removesuffix(".pid"): int(p.read_text()) for p in out.glob("*.pid") if p.read_text()}


def stop_demo(demo: subprocess.Popen[str], sig: int = signal.SIGINT, timeout: float = 30) -> tuple[str, str]:
    demo.send_signal(sig)
    try:
        return demo.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        demo.kill()
        out, err = demo.communicate()
        raise AssertionError(f"demo did not stop within {timeout} s:\n{out}\n{err}") from None


def test_demo_starts_children_and_redis_and_ctrl_c_stops_them_all(tmp_path: Path, binary: str) -> None:
    demo = start_demo(tmp_path, binary, ["alpha", "beta", "flaky"])
    out = tmp_path / "out"
    try:
        # flaky exits with code 3 once and is started again after a 1 s back-off
        wait_for(lambda: {"alpha.1", "beta.1", "flaky.1", "flaky.2"} <= set(child_pids(out)), 20, "children")
        pids = child_pids(out)
        url = (out / "alpha.url").read_text()
        assert url.startswith("redis://127.0.0.1:")
        assert redis.Redis.from_url(url).set(b"wf:kept", b"1")
        [redis_pid] = redis_pids(tmp_path / "redis")
        for name in ("alpha.1", "beta.1", "flaky.2"):
            assert alive(pids[name]), name
            assert os.getpgid(pids[name]) == pids[name], f"{name} is not in its own process group"
        assert os.getpgid(redis_pid) == redis_pid
    finally:
        stdout, stderr = stop_demo(demo)
    assert demo.returncode == 0, stderr
    assert "Watchfloor demo: http://127.0.0.1:18050/wall (Ctrl-C stops everything)" in stdout
    assert "flaky died unexpectedly (exit code 3); restarting in 1 s" in stderr
    assert "restarted flaky" in stderr
    for name, pid in pids.items():
        assert not alive(pid), f"{name} (pid {pid}) survived the demo"
    assert not alive(redis_pid)
    assert redis_pids(tmp_path / "redis") == []
    # SHUTDOWN flushed the AOF: the key is there on the next start
    with EmbeddedRedis(binary, tmp_path / "redis") as again:
        assert again.client().get(b"wf:kept") == b"1"


def test_demo_kills_a_child_that_ignores_sigterm(tmp_path: Path, binary: str) -> None:
    demo = start_demo(tmp_path, binary, ["stubborn", "alpha"], grace=1.0)
    out = tmp_path / "out"
    try:
        wait_for(lambda: {"stubborn.1", "alpha.1"} <= set(child_pids(out)), 20, "children")
        pids = child_pids(out)
    finally:
        _, stderr = stop_demo(demo, signal.SIGTERM)
    assert demo.returncode == 0, stderr
    assert "stubborn" in stderr and "did not stop; killing it" in stderr
    assert not any(alive(pid) for pid in pids.values())
    assert redis_pids(tmp_path / "redis") == []


def test_demo_killed_outright_leaves_no_orphans(tmp_path: Path, binary: str) -> None:
    demo = start_demo(tmp_path, binary, ["alpha", "beta"])
    out = tmp_path / "out"
    try:
        wait_for(lambda: {"alpha.1", "beta.1"} <= set(child_pids(out)), 20, "children")
        pids = child_pids(out)
        [redis_pid] = redis_pids(tmp_path / "redis")
    finally:
        demo.kill()
        demo.communicate()
    for pid in [*pids.values(), redis_pid]:
        wait_for(lambda pid=pid: not alive(pid), 15, f"pid {pid} to exit after the demo was killed")


def test_demo_with_a_bad_setting_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHFLOOR_")}
    env["WATCHFLOOR_WEB_PORT"] = "99999"
    result = subprocess.run(
        [sys.executable, "-m", "core.demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "web.port" in result.stderr and "Traceback" not in result.stderr
