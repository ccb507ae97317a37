"""Shared fixtures: a real redis-server for the session, a clean client per test, matching settings.

- ``redis_server``: an :class:`~core.redis_server.EmbeddedRedis` on a free port in a temporary dir,
  started on first use and stopped at the end of the session. A missing redis-server binary fails
  the test with a message saying what to install; it never skips.
- ``redis_client``: a ``redis.Redis`` (bytes responses) on it, after FLUSHALL.
- ``settings``: a :class:`~core.settings.Settings` from config.yaml whose ``redis.url`` points at it,
  unaffected by any ``WATCHFLOOR_*`` variables of the developer's shell.
- ``settings_for``: a function ``settings_for(**env)`` returning such settings with extra overrides,
  e.g. ``settings_for(WATCHFLOOR_MAP_MAX_POINTS="5")``.

Tests are marked ``unit``, ``integration`` or ``browser`` by their folder under tests/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from core.redis_server import EmbeddedRedis
from core.settings import Settings, load_settings

TESTS = Path(__file__).resolve().parent
FOLDER_MARKERS = ("unit", "integration", "browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = Path(str(item.path)).resolve().relative_to(TESTS).parts[0]
        except (ValueError, IndexError):
            continue
        if folder in FOLDER_MARKERS:
            item.add_marker(getattr(pytest.mark, folder))


def redis_binary() -> str:
    """The redis-server the tests use: $WATCHFLOOR_REDIS_EMBEDDED_BINARY or redis-server on PATH."""
    return os.environ.get("WATCHFLOOR_REDIS_EMBEDDED_BINARY") or "redis-server"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    binary = redis_binary()
    if shutil.which(binary) is None:
        pytest.fail(
            f"redis-server binary {binary!r} not found: the integration tests need a real Redis. "
            "Install it (Debian: apt-get install redis-server) or run `make test`, which does so as root.",
            pytrace=False,
        )
    server = EmbeddedRedis(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_client(redis_server: EmbeddedRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url, decode_responses=False)
    client.flushall()
    try:
        yield client
    finally:
        client.close()


def settings_with(url: str, **env: str) -> Settings:
    """Settings from config.yaml with ``redis.url = url`` and the given WATCHFLOOR_* overrides."""
    return load_settings(environ={"WATCHFLOOR_REDIS_URL": url, **env})


@pytest.fixture
def settings_for(redis_server: EmbeddedRedis) -> Callable[..., Settings]:
    def make(**env: str) -> Settings:
        return settings_with(redis_server.url, **env)

    return make


@pytest.fixture
def settings(settings_for: Callable[..., Settings]) -> Settings:
    return settings_for()
