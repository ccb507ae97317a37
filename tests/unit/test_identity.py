"""Users file and hashes, single sign-on headers, kiosk tokens, and the pure parts of the request guards."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from flask import Flask, session

from core.auth import EXTENSION, User, current_user
from core.identity import Identity
from core.push import requested_region
from core.settings import SettingsError, load_settings
from core.users import (
    UserRecord,
    UsersError,
    UsersFile,
    hash_password,
    load_users,
    main,
    save_users,
    verify_password,
)
from web.login import safe_next
from web.security import content_security_policy, kiosk_may_call

TOKEN = "kiosk-token-0123456789"


def settings_of(**env: str):
    return load_settings(environ={f"WATCHFLOOR_AUTH_{k.upper()}": v for k, v in env.items()})


def test_a_password_is_stored_only_as_a_salted_scrypt_hash():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("scrypt:") and first != second  # salted
    assert "correct horse" not in first
    record = UserRecord("nj", first, "duty", 320100)
    assert verify_password(record, "correct horse")
    assert not verify_password(record, "correct horsE")
    assert not verify_password(None, "correct horse")  # unknown user: same answer
    assert not verify_password(record, "x" * 5000)
    with pytest.raises(UsersError, match="8 to 1024"):
        hash_password("short")


def test_the_users_file_round_trips_with_owner_only_permissions(tmp_path: Path):
    path = tmp_path / "sub" / "users.yaml"
    users = {
        "nj": UserRecord("nj", hash_password("correct horse"), "duty", 320100, "南京值班"),
        "admin": UserRecord("admin", hash_password("battery staple"), "admin", 320000),
    }
    save_users(path, users)
    assert load_users(path) == users
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert "correct horse" not in text and "南京值班" in text
    assert load_users(tmp_path / "missing.yaml") == {}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("- {name: a, password_hash: 'scrypt:x', role: boss, scope: 320100}", "role 'boss'"),
        ("- {name: a, password_hash: 'scrypt:x', role: duty, scope: 12}", "six-digit"),
        ("- {name: a, password_hash: plain, role: duty, scope: 320100}", "not a Werkzeug"),
        ("- {name: 'a b', password_hash: 'scrypt:x', role: duty, scope: 320100}", "letters, digits"),
        ("{a: 1}", "YAML list"),
    ],
)
def test_a_bad_users_file_is_explained(tmp_path: Path, text: str, fragment: str):
    path = tmp_path / "users.yaml"
    path.write_text(text)
    with pytest.raises(UsersError, match=fragment):
        load_users(path)


def test_the_web_process_sees_a_changed_users_file_without_restart(tmp_path: Path):
    path = tmp_path / "users.yaml"
    users = UsersFile(path)
    assert users.get("nj") is None
    save_users(path, {"nj": UserRecord("nj", hash_password("correct horse"), "duty", 320100)})
    assert users.get("nj").scope == 320100
    path.write_text("not: [valid")  # a broken edit keeps the last good list
    assert users.get("nj") is not None


def test_the_command_line_adds_lists_and_removes_users(tmp_path: Path, monkeypatch, capsys):
    path = tmp_path / "users.yaml"
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse\n"))
    assert (
        main(["--file", str(path), "add", "nj", "--role", "duty", "--scope", "320100", "--password-stdin"])
        == 0
    )
    assert verify_password(load_users(path)["nj"], "correct horse")
    monkeypatch.setattr("sys.stdin", io.StringIO("another one\n"))
    assert (
        main(["--file", str(path), "add", "nj", "--role", "duty", "--scope", "320100", "--password-stdin"])
        == 2
    )
    assert "exists" in capsys.readouterr().err
    assert (
        main(["--file", str(path), "add", "sh", "--role", "duty", "--scope", "310100", "--password-stdin"])
        == 2
    )
    assert "outside the province" in capsys.readouterr().err
    assert main(["--file", str(path), "list"]) == 0
    listing = capsys.readouterr().out
    assert "nj\tduty\t320100" in listing and "scrypt" not in listing
    assert main(["--file", str(path), "remove", "nj"]) == 0
    assert load_users(path) == {}


def identity_for(settings) -> tuple[Flask, Identity]:
    app = Flask(__name__)
    app.secret_key = "test-secret-test-secret-test-secret"
    identity = Identity(settings, r=None)  # type: ignore[arg-type]  # header and token users need no Redis
    app.extensions[EXTENSION] = identity
    return app, identity


SSO = {"X-Remote-User": "zhang.san", "X-Remote-Role": "duty", "X-Remote-Scope": "320100"}


@pytest.mark.parametrize(
    ("address", "headers", "expected"),
    [
        ("10.0.0.5", SSO, User("zhang.san", "duty", 320100, "", via="header")),
        (
            "10.0.0.5",
            SSO | {"X-Remote-Name": "%E5%BC%A0%E4%B8%89"},
            User("zhang.san", "duty", 320100, "张三", "header"),
        ),
        ("10.0.9.9", SSO, None),  # not a trusted proxy: the headers are ignored
        ("192.168.1.10", SSO, None),
        ("10.0.0.5", SSO | {"X-Remote-Role": "boss"}, None),
        ("10.0.0.5", SSO | {"X-Remote-Scope": "310100"}, None),  # outside the province
        ("10.0.0.5", SSO | {"X-Remote-Scope": "3201"}, None),
        ("10.0.0.5", {"X-Remote-Role": "admin", "X-Remote-Scope": "320000"}, None),
    ],
)
def test_header_mode_believes_only_trusted_proxies(address, headers, expected):
    settings = settings_of(mode="header", trusted_proxies="[10.0.0.5, 172.16.0.0/12]")
    app, _ = identity_for(settings)
    with app.test_request_context("/wall", headers=headers, environ_base={"REMOTE_ADDR": address}):
        assert current_user(settings) == expected


def test_a_wall_token_signs_in_with_its_configured_scope_only():
    settings = settings_of(mode="local", wall_tokens=f"{{{TOKEN}: 320500}}")
    app, identity = identity_for(settings)
    with app.test_request_context("/wall"):
        assert identity.sign_in_kiosk("not-the-token-at-all") is None
        assert current_user(settings) is None
        user = identity.sign_in_kiosk(TOKEN)
        assert (user.role, user.scope, user.kiosk) == ("wall", 320500, True)
        assert current_user(settings) == user and identity.alive(user)
        fingerprint = session["wall"]
    assert TOKEN not in fingerprint
    # the cookie holds a fingerprint, the scope comes from the settings: a token taken out of them ends it
    other = Identity(settings_of(mode="local", wall_tokens="{another-token-0123456789: 320500}"), r=None)  # type: ignore[arg-type]
    app.extensions[EXTENSION] = other
    with app.test_request_context("/wall"):
        session["wall"] = fingerprint
        assert other.user() is None and not other.alive(user)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"WATCHFLOOR_AUTH_WALL_TOKENS": "{short: 320000}"}, "at least 16"),
        ({"WATCHFLOOR_AUTH_WALL_TOKENS": f"{{{TOKEN}: 12}}"}, "six-digit"),
        ({"WATCHFLOOR_AUTH_TRUSTED_PROXIES": "[10.0.0.300]"}, "not an IP address"),
        ({"WATCHFLOOR_AUTH_MODE": "ldap"}, "auth.mode"),
    ],
)
def test_bad_auth_settings_are_explained(env, fragment):
    with pytest.raises(SettingsError, match=fragment):
        load_settings(environ=env)


def test_open_mode_outside_a_request_is_the_anonymous_role_over_the_province():
    assert current_user(settings_of()) == User("wall", "wall", 320000)
    assert current_user(settings_of(mode="local")) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/ops", "/ops"),
        ("/ops?x=1", "/ops?x=1"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/login?next=/ops", "/"),
        ("/ops\r\nSet-Cookie: x", "/"),
    ],
)
def test_after_sign_in_only_local_paths_are_followed(value, expected):
    assert safe_next(value) == expected


def test_a_kiosk_may_only_run_callbacks_that_update_the_wall():
    assert kiosk_may_call({"outputs": {"id": "wall-snapshot", "property": "data"}})
    assert kiosk_may_call({"outputs": [{"id": "page-content", "property": "children"}]})
    assert not kiosk_may_call(
        {"outputs": [{"id": "wall-x", "property": "a"}, {"id": "ops-message", "property": "b"}]}
    )
    assert not kiosk_may_call({"outputs": {"id": {"type": "ops-redrive-one", "id": "1"}, "property": "x"}})
    assert not kiosk_may_call(None)


def test_join_requests_name_a_six_digit_region():
    assert requested_region({"adcode": 320100}) == 320100
    assert requested_region({"adcode": "320102"}) == 320102
    assert [requested_region(x) for x in ({"adcode": "32"}, {}, [], {"adcode": 1.5})] == [None] * 4


def test_the_policy_allows_this_server_only():
    csp = content_security_policy(["'sha256-abc'"])
    assert "script-src 'self' 'sha256-abc'" in csp
    assert "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp  # no external origin anywhere
