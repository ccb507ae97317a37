"""Region scope, kiosk links, single sign-on headers and Socket.IO rooms, through Flask's test clients.

A Nanjing (320100) officer who asks for Suzhou (320500) gets nothing from Suzhou.
"""

from __future__ import annotations

import time

import orjson
import pytest

from app import create_app
from tests.integration.auth_app import (
    NANJING,
    OPS_TICK,
    SNAPSHOT,
    SUZHOU,
    TOKEN,
    local_app,
    signed_in,
    write_users,
)
from tests.webclient import CALLBACK, csrf_token


@pytest.fixture
def local(redis_client, settings_for, tmp_path):
    return local_app(redis_client, settings_for, write_users(tmp_path / "users.yaml"), tmp_path)


def test_a_nanjing_officer_gets_nothing_from_suzhou(local):
    client = signed_in(local, "nj")

    def layer(bbox: str) -> tuple[int, dict]:
        resp = client.get(f"/api/v1/map/licences?bbox={bbox}&zoom=14")
        return resp.status_code, orjson.loads(resp.data)

    # a view over Suzhou's shops, in points mode: none of them
    status, suzhou = layer("120.6,31.3,120.65,31.32")
    assert status == 200 and suzhou["meta"]["mode"] == "points" and suzhou["features"] == []
    # the whole province: only Nanjing's five
    status, province = layer("116,30.5,122,35.2")
    assert status == 200 and sorted(f["properties"]["no"][:6] for f in province["features"]) == ["320102"] * 5
    # the wall snapshot is Nanjing's, whatever the request says
    resp = client.post(CALLBACK, json=SNAPSHOT | {"inputs": [{"id": "wall-socket", "property": "connected"}]})
    snap = resp.get_json()["response"]["wall-snapshot"]["data"]
    assert (snap["adcode"], snap["active"]) == (NANJING, 5)
    # province-wide operations figures are not for a city officer
    resp = client.post(CALLBACK, json=OPS_TICK)
    assert "无权查看" in orjson.dumps(resp.get_json()).decode()
    # while the province's admin sees all eight
    boss = signed_in(local, "boss")
    snap = boss.post(CALLBACK, json=SNAPSHOT).get_json()["response"]["wall-snapshot"]["data"]
    assert (snap["adcode"], snap["active"]) == (320000, 8)


def test_a_kiosk_link_shows_its_own_region_on_the_wall_only(local):
    client = local.server.test_client()
    assert client.get("/wall?token=wrong-token-0123456789").status_code == 403
    resp = client.get(f"/wall?token={TOKEN}")
    assert resp.status_code == 303 and resp.headers["Location"] == "/wall"  # the token leaves the address bar
    assert client.get("/wall").status_code == 200
    assert client.get("/ops").headers["Location"] == "/wall"
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    snap = client.post(CALLBACK, json=SNAPSHOT).get_json()["response"]["wall-snapshot"]["data"]
    assert (snap["adcode"], snap["active"]) == (SUZHOU, 3)
    assert client.post(CALLBACK, json=OPS_TICK).status_code == 403  # a kiosk runs wall callbacks only


def test_header_mode_signs_in_through_the_trusted_proxy_only(redis_client, settings_for, tmp_path):
    settings = settings_for(
        WATCHFLOOR_AUTH_MODE="header",
        WATCHFLOOR_AUTH_TRUSTED_PROXIES="[127.0.0.1]",
        WATCHFLOOR_AUTH_SECRET_FILE=str(tmp_path / "s"),
    )
    app = create_app(settings, redis_client)
    sso = {"X-Remote-User": "li.si", "X-Remote-Role": "leader", "X-Remote-Scope": str(NANJING)}
    via_proxy = app.server.test_client()
    assert via_proxy.get("/ops", headers=sso).status_code == 200
    direct = app.server.test_client()
    direct.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert direct.get("/ops", headers=sso).status_code == 303
    assert "统一身份认证" in direct.get("/login").get_data(as_text=True)
    assert via_proxy.get("/ops").status_code == 303  # the proxy did not say who it is


def test_sockets_need_a_session_and_join_only_rooms_in_scope(local, monkeypatch):
    monkeypatch.setattr("core.push.SWEEP_SECONDS", 0.05)
    sio = local.socketio
    # the sweep only: a relay thread would outlive the test and react to later tests' announcements
    start = sio.start_background_task
    only_sweep = lambda f, *a: start(f, *a) if f.__name__ == "sweep" else None  # noqa: E731
    monkeypatch.setattr(sio, "start_background_task", only_sweep)
    nobody = sio.test_client(local.server, flask_test_client=local.server.test_client())
    assert not nobody.is_connected()
    client = signed_in(local)
    sock = sio.test_client(local.server, flask_test_client=client)
    assert sock.is_connected()
    assert sock.emit("join", {"adcode": SUZHOU}, callback=True)["ok"] is False
    assert sock.emit("join", {"adcode": 320102}, callback=True) == {"ok": True, "room": "region:320102"}
    assert sock.emit("join", {"adcode": "x"}, callback=True)["ok"] is False
    # the session ends while the socket is open: the sweep closes it
    local.identity.clock.now += 481 * 60
    deadline = time.monotonic() + 5
    while sock.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sock.is_connected()
