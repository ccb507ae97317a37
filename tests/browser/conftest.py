"""Browser fixtures: the real stack (web, consumer, worker) as processes on the test Redis, and
headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from core.redis_server import EmbeddedRedis, die_with_parent, free_port
from scripts.screenshot import ARGS as CHROMIUM_ARGS
from scripts.screenshot import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]


class Stack:
    """The web process, a consumer and a worker, started with the given settings overrides."""

    def __init__(self, redis_url: str, log_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHFLOOR_")}
        self.env |= {"WATCHFLOOR_REDIS_URL": redis_url, "WATCHFLOOR_WEB_PORT": str(self.port), **env}
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *args: str) -> None:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(),
        )

    def wait_http(self, path: str = "/healthz", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + path, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        logs = (self.log_dir / "web.log").read_text(errors="replace")[-2000:]
        raise AssertionError(f"web process did not answer {path} within {timeout} s:\n{logs}")

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def stack_factory(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator:
    stacks: list[Stack] = []

    def make(**env: str) -> Stack:
        stack = Stack(redis_server.url, tmp_path, **env)
        stack.start("web", "app.py")
        stack.start("consumer", "-m", "streams.consumer")
        stack.start("worker", "-m", "indicators.worker")
        stacks.append(stack)
        stack.wait_http()
        return stack

    yield make
    for stack in stacks:
        stack.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's chromium (make test does so as root)", pytrace=False
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
