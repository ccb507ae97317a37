"""Signing in and out, CSRF, session expiry and security headers, through Flask's test client."""

from __future__ import annotations

import pytest

from app import create_app
from core import keys
from core.users import save_users
from tests.integration.auth_app import OPS_TICK, PASSWORD, local_app, signed_in, write_users
from tests.webclient import CALLBACK, csrf_client, csrf_token, form_token, sign_in


@pytest.fixture
def users_file(tmp_path):
    return write_users(tmp_path / "users.yaml")


@pytest.fixture
def local(redis_client, settings_for, users_file, tmp_path):
    return local_app(redis_client, settings_for, users_file, tmp_path)


def test_pages_redirect_to_login_and_scripts_get_401(local):
    client = local.server.test_client()
    resp = client.get("/ops?x=1")
    assert resp.status_code == 303 and resp.headers["Location"] == "/login?next=/ops%3Fx%3D1"
    for path in (
        "/_dash-layout",
        "/_dash-dependencies",
        "/api/v1/map/licences?bbox=118,31,121,33",
        "/geo/city.geojson",
    ):
        resp = client.get(path)
        assert resp.status_code == 401 and resp.get_json() == {"error": "sign in first"}
    for path in ("/login", "/healthz", "/assets/wall.css"):
        assert client.get(path).status_code == 200
    # the machine API keeps its bearer tokens and needs no session or CSRF token
    assert client.post("/api/v1/events/licence", json=[]).status_code == 403  # closed source, not CSRF


def test_sign_in_and_out(local, redis_client):
    client = local.server.test_client()
    assert 'name="csrf_token"' in client.get("/login").get_data(as_text=True)
    resp = sign_in(client, "nj", PASSWORD, "/ops")
    assert resp.status_code == 303 and resp.headers["Location"] == "/ops"
    assert client.get("/ops").status_code == 200
    assert client.get("/login").headers["Location"] == "/"  # already signed in
    stolen = client.get_cookie("wf_session").value
    assert len(redis_client.keys(keys.session("*"))) == 1

    resp = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 303 and resp.headers["Location"] == "/login?out=1"
    assert "您已退出登录" in client.get("/login?out=1").get_data(as_text=True)
    assert client.get("/ops").status_code == 303
    # the session is gone on the server: a copy of the old cookie is worthless
    assert redis_client.keys(keys.session("*")) == []
    client.set_cookie("wf_session", stolen)
    assert client.get("/ops").headers["Location"].startswith("/login")


@pytest.mark.parametrize("name", ["nj", "nobody"])
def test_a_wrong_password_and_an_unknown_name_read_the_same(local, name):
    client = local.server.test_client()
    resp = sign_in(client, name, "wrong password", "/ops")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 401 and "用户名或密码错误" in html
    assert f'value="{name}"' in html  # the name stays filled in; the password does not
    assert client.get("/ops").status_code == 303


def test_the_form_echoes_a_hostile_name_as_text(local):
    resp = sign_in(local.server.test_client(), '"><script>alert(1)</script>', "wrong password")
    html = resp.get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_repeated_failures_lock_that_name_from_that_address(local):
    client = local.server.test_client()
    for _ in range(5):
        assert sign_in(client, "nj", "wrong password").status_code == 401
    locked = sign_in(client, "nj", PASSWORD)  # even the right password, while locked
    assert locked.status_code == 429 and "15 分钟后再试" in locked.get_data(as_text=True)
    assert sign_in(client, "nobody", "wrong password").status_code == 401  # another name: not locked
    elsewhere = local.server.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    assert sign_in(elsewhere, "nj", PASSWORD).status_code == 303  # another address: not locked


def test_a_session_ends_after_the_idle_limit_and_the_absolute_limit(local):
    clock = local.identity.clock
    client = signed_in(local)
    clock.now += 479 * 60  # just inside the 480 minutes
    assert client.get("/ops").status_code == 200
    clock.now += 479 * 60  # activity moved the idle limit on
    assert client.get("/ops").status_code == 200
    clock.now += 481 * 60
    resp = client.get("/ops")
    assert resp.headers["Location"] == "/login?next=/ops&expired=1"
    assert "会话已过期" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert client.post(CALLBACK, json=OPS_TICK).status_code == 401

    client, start = signed_in(local), clock.now
    while client.get("/ops").status_code == 200 and clock.now - start < 30 * 3600:
        clock.now += 15 * 60  # busy all day long ...
    assert 24 * 3600 < clock.now - start <= 24 * 3600 + 15 * 60  # ... and still signed out after 24 h


def test_a_removed_user_is_signed_out_at_the_next_request(local, users_file):
    client = signed_in(local)
    save_users(users_file, {})
    assert client.get("/ops").status_code == 303


def test_callbacks_and_forms_need_the_csrf_token(local):
    client = signed_in(local)
    assert client.post(CALLBACK, json=OPS_TICK).status_code == 200
    bare = {k: v for k, v in client.environ_base.items() if k != "HTTP_X_CSRFTOKEN"}
    client.environ_base = bare
    resp = client.post(CALLBACK, json=OPS_TICK)
    assert resp.status_code == 403 and "csrf" in resp.get_json()["error"]
    assert client.post(CALLBACK, json=OPS_TICK, headers={"X-CSRFToken": "forged"}).status_code == 403
    token = csrf_token(client)
    good = {"X-CSRFToken": token}
    assert client.post(CALLBACK, json=OPS_TICK, headers=good).status_code == 200
    evil = good | {"Origin": "http://evil.example"}
    assert client.post(CALLBACK, json=OPS_TICK, headers=evil).status_code == 403
    # the login form without its token: refused, with a fresh form to try again
    fresh = local.server.test_client()
    resp = fresh.post("/login", data={"username": "nj", "password": PASSWORD})
    assert resp.status_code == 403 and "页面已过期" in resp.get_data(as_text=True)
    assert form_token(resp.get_data(as_text=True))
    resp = fresh.post("/login", data={"username": "nj", "password": PASSWORD, "csrf_token": "forged"})
    assert resp.status_code == 403
    assert client.post("/logout").status_code == 403  # signing out is a state change too


def test_every_response_carries_the_security_headers(local):
    client = signed_in(local)
    suite = next(r.rule for r in local.server.url_map.iter_rules() if "component-suites" in r.rule)
    assert suite
    responses = [
        client.get("/ops"),
        client.get("/login"),
        client.get("/healthz"),
        client.get("/assets/wall.css"),
        client.get("/geo/province.geojson"),
        client.get("/no/such/page"),
        client.post(CALLBACK, json=OPS_TICK),
        client.post("/api/v1/events/licence", json=[]),
        local.server.test_client().get("/ops"),
    ]
    for resp in responses:
        h = resp.headers
        assert "script-src 'self' 'sha256-" in h["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "same-origin" and "Strict-Transport-Security" not in h
    cookies = sign_in(local.server.test_client(), "nj", PASSWORD).headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("wf_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert any(c.startswith("_csrf_token=") and "SameSite=Strict" in c for c in cookies)


def test_behind_https_cookies_are_secure_and_hsts_is_sent(redis_client, settings_for, tmp_path):
    settings = settings_for(
        WATCHFLOOR_AUTH_BEHIND_HTTPS="true", WATCHFLOOR_AUTH_SECRET_FILE=str(tmp_path / "s")
    )
    app = create_app(settings, redis_client)
    resp = app.server.test_client().get("/login", base_url="https://localhost")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    cookies = resp.headers.getlist("Set-Cookie")
    assert all("Secure" in c for c in cookies)
    assert any(c.startswith("__Host-wf_session=") for c in cookies)


def test_open_mode_needs_no_sign_in_but_still_checks_csrf(redis_client, settings):
    app = create_app(settings, redis_client)
    client = app.server.test_client()
    assert client.get("/ops").status_code == 200
    assert "演示模式" in client.get("/login").get_data(as_text=True)
    assert client.post(CALLBACK, json=OPS_TICK).status_code == 403
    assert csrf_client(app.server).post(CALLBACK, json=OPS_TICK).status_code == 200
