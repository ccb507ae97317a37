"""Every Socket.IO event handler of the real app, as each role of a Nanjing (320100) user and
unauthenticated: no Suzhou (320500) room, no Suzhou push, no change in Redis; and Engine.IO refuses a
foreign origin. Handlers are enumerated from the server: one without a case here fails the test."""

from __future__ import annotations

import json

from core.push import messages_for, room
from tests.integration.authz_cases import SOCKET_EVENTS
from tests.integration.test_authz_all import clients, state, world  # noqa: F401 - the fixture

INDICATORS = {"regions": {"320500": {"per_1000": 9.87}, "320100": {"per_1000": 1.23}}}


def test_every_socket_event_has_a_case(world):  # noqa: F811
    handlers = set(world[0].socketio.server.handlers.get("/", {}))
    missing = sorted(handlers - set(SOCKET_EVENTS))
    assert not missing, (
        f"Socket.IO events without an authorisation case: {missing}. Drive them in "
        "tests/integration/test_authz_sockets.py and add them to SOCKET_EVENTS in authz_cases.py."
    )
    assert set(SOCKET_EVENTS) <= handlers | {"disconnect"}


def announcements(seed) -> list[dict]:
    """A Suzhou-only warning, a mixed batch, licence counts and indicators of both cities."""
    return [
        {"topic": "warnings", "raised": [seed.suzhou], "regions": [320508], "open": 3, "at": 1},
        {"topic": "warnings", "raised": [seed.suzhou, seed.nanjing], "regions": [320102, 320508], "at": 2},
        {"topic": "licence", "active": {"320500": 777, "320100": 5}, "version": 4, "last_ingest_ms": 3},
        {"topic": "indicators", "version": 5},
    ]


def relay(sio, seed) -> None:
    """What the relay thread does with each announcement (core.push.register.relay)."""
    for update in announcements(seed):
        for event, adcode, payload in messages_for(update, lambda: INDICATORS):
            sio.emit(event, payload, to=room(adcode))


def test_sockets_join_and_hear_only_their_own_region(world, monkeypatch):  # noqa: F811
    app, r, seed, _ = world
    sio = app.socketio
    monkeypatch.setattr(sio, "start_background_task", lambda *a, **k: None)  # no relay or sweep thread
    people = clients(app)
    before = state(r)
    socks = {}
    for name, (client, user, status) in people.items():
        sock = sio.test_client(app.server, flask_test_client=client)
        if user is None or status == 403 and "origin" in name:
            if user is None:
                assert not sock.is_connected(), f"{name}: connected without a user"
            continue
        assert sock.is_connected(), name
        province = user.scope == 320000
        # join: only rooms inside the scope, whatever the form of the request
        for asked in (
            {"adcode": 320500},
            {"adcode": "320508"},
            {"adcode": 320000},
            {"adcode": [320500]},
            "x",
        ):
            ok = sock.emit("join", asked, callback=True)["ok"]
            assert ok is (province and asked not in ({"adcode": [320500]}, "x")), (name, asked, ok)
        assert sock.emit("join", {"adcode": 320102}, callback=True)["ok"] is True
        assert sock.emit("leave", {"adcode": 320500}, callback=True)["ok"] is True  # leaving is harmless
        assert sock.emit("leave", None, callback=True)["ok"] is False
        sock.get_received()
        socks[name] = (sock, province)
    relay(sio, seed)
    for name, (sock, province) in socks.items():
        got = sock.get_received()
        text = json.dumps(got, ensure_ascii=False)
        heard = {(m["name"], m["args"][0].get("adcode")) for m in got}
        if province:  # the control: the province hears Suzhou (it joined a Suzhou county's room)
            assert ("warnings", 320508) in heard and ("warnings", 320000) in heard, (name, heard)
            continue
        assert ("warnings", 320100) in heard and ("licence", 320100) in heard, (name, heard)
        assert all(str(adcode).startswith("3201") for _, adcode in heard), (name, heard)
        for foreign in (seed.suzhou, "320508", "320500", "777", "9.87"):
            assert foreign not in text, (name, foreign, got)
    for sock, _ in socks.values():
        sock.disconnect()
    assert all(not s.is_connected() for s, _ in socks.values())
    assert state(r) == before


def test_engineio_refuses_a_foreign_origin(world):  # noqa: F811
    client = clients(world[0])["duty"][0]
    handshake = "/socket.io/?EIO=4&transport=polling"
    assert client.get(handshake, headers={"Origin": "http://evil.example"}).status_code == 400
    assert client.get(handshake, headers={"Origin": "http://localhost"}).status_code == 200
