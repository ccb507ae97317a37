"""Server push: relay ``wf:updates`` announcements to browsers through Socket.IO rooms.

A browser joins the room of its user's region scope (``region:<adcode>``) at connect; a connection
without a valid user is refused. A screen may ``join`` the room of another region inside that scope
(checked with :func:`core.auth.can_view`) and ``leave`` it. Connections whose session has ended
(idle or absolute limit, user removed, signed out) are closed by a sweep every
:data:`SWEEP_SECONDS`. Socket.IO delivery is at-most-once, so browsers reload a snapshot on every
(re)connect; pushes only carry what changed.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

import orjson
import redis
from flask import request
from flask_socketio import SocketIO, join_room, leave_room

from core import keys
from core.auth import User, can_view
from indicators.jobs import read_licence_indicators

#: how often open connections are checked against their sessions
SWEEP_SECONDS = 30.0


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
    elif update.get("topic") == "warnings":
        # raised / updated / transitions: each region involved and the regions above it hear of it.
        # Only a poke naming the room's own region: an announcement may list warnings and regions of
        # several cities (and the province's open count), which a city's room must not learn; the
        # screen re-reads what changed through its scope-checked callbacks.
        rooms: set[int] = set()
        for adcode in update.get("regions", []) or []:
            code = int(adcode)
            rooms |= {code, code // 100 * 100, code // 10000 * 10000}
        for code in sorted(rooms):
            out.append(("warnings", code, {"adcode": code, "at": update.get("at")}))
    elif update.get("topic") == "indicators":  # {"topic": "indicators", "version": v} (indicators/jobs.py)
        for adcode, values in indicators().get("regions", {}).items():
            out.append(("indicators", int(adcode), {"adcode": int(adcode), **values}))
    return out


def requested_region(data: object) -> int | None:
    """The adcode of a ``join``/``leave`` message (``{"adcode": 320100}``), or None when malformed."""
    adcode = data.get("adcode") if isinstance(data, dict) else None
    if isinstance(adcode, str) and adcode.isdigit():
        adcode = int(adcode)
    return adcode if isinstance(adcode, int) and 100000 <= adcode <= 999999 else None


def register(
    socketio: SocketIO,
    r: redis.Redis,
    user_of: Callable[[], User | None],
    retry_seconds: float,
    alive: Callable[[User], bool] | None = None,
    licence_every: float = 0.05,
) -> None:
    """Install the connect, join and leave handlers; start the relay (and sweep) threads on ``socketio``.

    Licence counts go to a room at most every ``licence_every`` seconds (``web.licence_push_seconds``).
    A push carries the whole count, so a newer one replaces a held-back one: a burst of consumer
    batches (2,000 events/s gives ~150 batches/s) costs a browser one update per interval instead of
    one per batch, which kept the wall's main thread saturated and queued pushes for 100-300 ms
    (bench/latency.py). An idle room's first count is not held.
    """

    started = threading.Lock()
    connected: dict[str, User] = {}  # Socket.IO session id -> its user, for the sweep

    @socketio.on("connect")
    def _connect(auth: dict | None = None) -> bool:
        user = user_of()
        if user is None:
            return False  # refuses the connection
        join_room(room(user.scope))
        connected[request.sid] = user  # type: ignore[attr-defined]  # Flask-SocketIO adds sid
        # The relay starts with the first browser, so building an app (e.g. in tests) starts no thread.
        if started.acquire(blocking=False):
            socketio.start_background_task(relay)
            if alive is not None:
                socketio.start_background_task(sweep)
        return True

    @socketio.on("disconnect")
    def _disconnect(reason: object = None) -> None:
        connected.pop(request.sid, None)  # type: ignore[attr-defined]

    @socketio.on("join")
    def _join(data: object) -> dict:
        # asked again, not remembered from connect: the session may have ended since
        user, adcode = user_of(), requested_region(data)
        if user is None or adcode is None or not can_view(user, adcode):
            return {"ok": False, "error": "region outside your scope"}
        join_room(room(adcode))
        return {"ok": True, "room": room(adcode)}

    @socketio.on("leave")
    def _leave(data: object) -> dict:
        adcode = requested_region(data)
        if adcode is not None:
            leave_room(room(adcode))
        return {"ok": adcode is not None}

    def sweep() -> None:
        assert alive is not None
        while True:
            socketio.sleep(SWEEP_SECONDS)
            for sid, user in list(connected.items()):
                try:
                    ok = alive(user)
                except redis.RedisError:
                    continue  # Redis down: decide next round rather than drop every wall
                if not ok:
                    connected.pop(sid, None)
                    socketio.server.disconnect(sid, namespace="/")

    def relay() -> None:
        while True:
            try:
                pubsub = r.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(keys.UPDATES)
                held: dict[int, dict] = {}  # region -> newest licence push not sent yet
                next_licence = 0.0
                while True:
                    wait = max(0.0, next_licence - time.monotonic()) if held else 1.0
                    message = pubsub.get_message(timeout=wait)
                    try:
                        update = orjson.loads(message["data"]) if message else None
                        pushes = messages_for(update, lambda: read_licence_indicators(r)[1]) if update else []
                    except (redis.ConnectionError, redis.TimeoutError):
                        raise
                    except Exception as exc:  # noqa: BLE001 - one bad announcement must not stop every push
                        print(f"push relay: skipped an announcement ({exc!r})", file=sys.stderr, flush=True)
                        pushes = []
                    for event, adcode, payload in pushes:
                        if event == "licence":
                            held[adcode] = payload
                        else:
                            socketio.emit(event, payload, to=room(adcode))
                    if held and time.monotonic() >= next_licence:
                        for adcode, payload in held.items():
                            socketio.emit("licence", payload, to=room(adcode))
                        held.clear()
                        next_licence = time.monotonic() + licence_every
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                print(
                    f"push relay: Redis unreachable ({exc}); retrying in {retry_seconds} s", file=sys.stderr
                )
                time.sleep(retry_seconds)
