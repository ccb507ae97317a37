"""Server push: relay ``wf:updates`` announcements to browsers through Socket.IO rooms.

A browser joins only the room of its user's region scope (``region:<adcode>``), checked on the
server at connect. Socket.IO delivery is at-most-once, so browsers reload a snapshot on every
(re)connect; pushes only carry what changed.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

import orjson
import redis
from flask_socketio import SocketIO, join_room

from core import keys
from core.auth import User
from indicators.jobs import read_licence_indicators


def room(adcode: int) -> str:
    """Socket.IO room of one region."""
    return f"region:{adcode}"


def messages_for(update: dict, indicators: Callable[[], dict]) -> list[tuple[str, int, dict]]:
    """Turn one ``wf:updates`` announcement into (event, region, payload) pushes, one per region."""
    out: list[tuple[str, int, dict]] = []
    if update.get("topic") == "licence":
        for adcode, active in update.get("active", {}).items():
            payload = {
                "adcode": int(adcode),
                "active": int(active),
                "version": update.get("version"),
                "last_ingest_ms": update.get("last_ingest_ms"),
            }
            out.append(("licence", int(adcode), payload))
    elif update.get("topic") == "indicators" and update.get("name") == "licence":
        for adcode, values in indicators().get("regions", {}).items():
            out.append(("indicators", int(adcode), {"adcode": int(adcode), **values}))
    return out


def register(
    socketio: SocketIO, r: redis.Redis, user_of: Callable[[], User | None], retry_seconds: float
) -> None:
    """Install the connect handler and start the relay thread on ``socketio``."""

    started = threading.Lock()

    @socketio.on("connect")
    def _connect(auth: dict | None = None) -> bool:
        user = user_of()
        if user is None:
            return False  # refuses the connection
        join_room(room(user.scope))
        # The relay starts with the first browser, so building an app (e.g. in tests) starts no thread.
        if started.acquire(blocking=False):
            socketio.start_background_task(relay)
        return True

    def relay() -> None:
        while True:
            try:
                pubsub = r.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(keys.UPDATES)
                for message in pubsub.listen():
                    update = orjson.loads(message["data"])
                    for event, adcode, payload in messages_for(update, lambda: read_licence_indicators(r)[1]):
                        socketio.emit(event, payload, to=room(adcode))
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                print(
                    f"push relay: Redis unreachable ({exc}); retrying in {retry_seconds} s", file=sys.stderr
                )
                time.sleep(retry_seconds)
