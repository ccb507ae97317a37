"""The one way Watchfloor processes connect to Redis: ``connect(settings)``.

It waits for Redis rather than failing: while the server is unreachable it prints one line to stderr
and retries every ``redis.retry_seconds``, so processes can be started in any order and survive a
Redis restart at start-up. Responses are bytes (``decode_responses=False``), as RQ requires.
"""

from __future__ import annotations

import builtins
import sys
import time
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import redis

from core.settings import Settings, SettingsError


class RedisUnreachable(redis.exceptions.ConnectionError, builtins.ConnectionError):
    """Redis did not answer; the message names the URL (password hidden) and the reason.

    Both ``except ConnectionError`` and ``except redis.ConnectionError`` catch it.
    """


def redacted(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    return " ".join(text.split())


def connect(
    settings: Settings,
    *,
    wait: bool = True,
    stream: IO[str] | None = None,
    **client_kwargs: Any,
) -> redis.Redis:
    """A client on ``settings.redis.url`` that has answered PING.

    ``wait=True``: while Redis is unreachable, print one line to ``stream`` (default stderr), retry
    every ``settings.redis.retry_seconds`` until it answers, and print one line when it does.
    ``wait=False``: raise :class:`RedisUnreachable` with that line's message instead.
    An empty or malformed ``redis.url`` raises :class:`~core.settings.SettingsError`; wrong
    credentials raise ``redis.AuthenticationError`` at once (retrying would not help).
    Extra keyword arguments go to ``redis.Redis.from_url``.
    """
    url = settings.redis.url
    if not url:
        raise SettingsError(
            "redis.url is empty: run `make demo` (it starts a private Redis and passes its address to "
            "every process in WATCHFLOOR_REDIS_URL) or set WATCHFLOOR_REDIS_URL=redis://host:6379/0"
        )
    options: dict[str, Any] = {"socket_connect_timeout": 5, "health_check_interval": 30}
    options.update(client_kwargs)
    options["decode_responses"] = False
    try:
        client = redis.Redis.from_url(url, **options)
    except ValueError as exc:
        raise SettingsError(f"redis.url = {redacted(url)!r}: not a Redis URL ({exc})") from None

    stream = sys.stderr if stream is None else stream
    delay = settings.redis.retry_seconds
    announced = False
    while True:
        try:
            client.ping()
        except redis.exceptions.AuthenticationError:
            client.close()
            raise
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            message = f"watchfloor: Redis at {redacted(url)} is unreachable ({_reason(exc)})"
            if not wait:
                client.close()
                raise RedisUnreachable(message) from exc
            if not announced:
                print(f"{message}; retrying every {delay:g} s", file=stream, flush=True)
                announced = True
            time.sleep(delay)
            continue
        if announced:
            print(f"watchfloor: Redis at {redacted(url)} answers now", file=stream, flush=True)
        return client


def connect_or_exit(settings: Settings) -> redis.Redis:
    """:func:`connect` for program entry points: a bad ``redis.url`` prints why and exits with code 2."""
    try:
        return connect(settings)
    except SettingsError as exc:
        print(f"watchfloor: bad configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
