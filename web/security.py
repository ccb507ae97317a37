"""Guards around every request of the web process: sign-in, CSRF, kiosk limits, security headers.

- Sign-in: every path except the login page, static assets, Dash's script bundles and the machine
  APIs (``/api/v1/events/*``, ``/healthz``) needs a user; pages redirect to ``/login``, data and
  callback requests get 401 JSON (``assets/auth.js`` turns that into a redirect).
- CSRF: every POST/PUT/PATCH/DELETE except the bearer-token ingest API and the Socket.IO transport
  carries the session's token, in the ``X-CSRFToken`` header (Dash's renderer copies it from the
  ``_csrf_token`` cookie by itself) or the ``csrf_token`` form field; a cross-site Origin is refused.
- Kiosks (wall tokens): the wall screen only, and only callbacks whose outputs are on the wall.
- Headers: CSP without external origins, nosniff, no framing, referrer policy, HSTS behind HTTPS.

See docs/security.md.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import dash
import orjson
from dash.exceptions import DependencyException
from flask import Flask, Response, g, redirect, request, session

from core.identity import Identity
from core.settings import Settings

CSRF_COOKIE = "_csrf_token"  # Dash's renderer reads this cookie ...
CSRF_HEADER = "X-CSRFToken"  # ... and sends its value in this header with every callback
CSRF_FIELD = "csrf_token"  # plain HTML forms (login, logout) send it as this field
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_PATHS = frozenset({"/login", "/logout", "/healthz", "/_favicon.ico"})
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/api/v1/events", "/socket.io/")
#: bearer-token machine clients and the Socket.IO transport (same-origin checked by Engine.IO itself)
CSRF_EXEMPT_PREFIXES = ("/api/v1/events", "/socket.io/")
#: requests made by scripts, not by navigation: answered 401 JSON instead of a redirect
DATA_PREFIXES = ("/_dash-", "/api/", "/geo/")
KIOSK_PAGES = frozenset({"/", "/wall"})
KIOSK_OUTPUTS = ("wall-", "page-content")
#: the data a wall reads (its layers, boundaries, callbacks); other data routes refuse a kiosk
KIOSK_DATA_PREFIXES = ("/_dash-", "/api/v1/wall/", "/api/v1/map/", "/geo/")


def load_secret(settings: Settings) -> str:
    """``auth.session_secret``, or the one in ``auth.secret_file`` (created 0600 on first start)."""
    if settings.auth.session_secret:
        return settings.auth.session_secret
    path = settings.path(settings.auth.secret_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two processes starting together agree on the first one's secret
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32) + "\n")
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    for _ in range(50):  # another process may have created the file and not written it yet
        text = path.read_text().strip()
        if text:
            break
        time.sleep(0.02)
    if len(text) < 32:
        raise RuntimeError(f"{path}: session secret is missing or shorter than 32 characters")
    return text


def csrf_token() -> str:
    """The CSRF token of this browser's session (created on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok() -> bool:
    """Whether this state-changing request carries the session's CSRF token from our own origin."""
    origin = request.headers.get("Origin")
    # behind a TLS proxy the scheme differs (https outside, http here): compare host and port only
    if origin is not None and urlsplit(origin).netloc != request.host:
        return False
    expected = session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.mimetype == "application/x-www-form-urlencoded":
        sent = request.form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not sent:
        return False
    return hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), expected.encode())


def kiosk_may_call(body: object) -> bool:
    """Whether a Dash callback request only updates the wall (what a kiosk session may ask for)."""
    outputs = body.get("outputs") if isinstance(body, dict) else None
    items = outputs if isinstance(outputs, list) else [outputs]
    for item in items:
        ident = item.get("id") if isinstance(item, dict) else None
        if isinstance(ident, dict):
            ident = str(ident.get("type", ""))
        if not isinstance(ident, str) or not ident.startswith(KIOSK_OUTPUTS):
            return False
    return True


def json_error(status: int, message: str) -> Response:
    """``{"error": message}`` with ``status`` (never cached)."""
    resp = Response(orjson.dumps({"error": message}), status=status, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def content_security_policy(script_hashes: list[str]) -> str:
    """The CSP of every response: this server only; the one inline script Dash writes is allowed by hash.

    ``style-src 'unsafe-inline'``: Dash's components and dash-leaflet put ``<style>`` elements and
    style attributes into the page (docs/security.md); scripts get no such allowance.
    """
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' " + " ".join(script_hashes),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def install(
    server: Flask,
    dash_app: dash.Dash,
    settings: Settings,
    identity: Identity,
    csrf_failed: Callable[[], Response],
) -> None:
    """Configure cookies and register the guards and headers on ``server``.

    ``csrf_failed`` renders the refusal of a form post (the login page says "try again").
    """
    https = settings.auth.behind_https
    server.secret_key = load_secret(settings)
    server.config.update(
        # "__Host-": a sub-domain cannot plant this cookie (browsers require Secure for the prefix)
        SESSION_COOKIE_NAME="__Host-wf_session" if https else "wf_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # Lax: a link from the intranet portal still arrives signed in
        SESSION_COOKIE_SECURE=https,
    )
    csp: list[str] = []  # filled on the first response, after every callback is registered

    # Dash raises this for a bundle path it has not registered (``/_dash-component-suites/dash/../x``):
    # that is "not found", not a server error (it never serves such a file either way)
    server.register_error_handler(DependencyException, lambda _exc: json_error(404, "not found"))

    @server.before_request
    def guard() -> Response | None:
        path = request.path
        unsafe = request.method in UNSAFE_METHODS and not path.startswith(CSRF_EXEMPT_PREFIXES)
        if unsafe and not csrf_ok():
            return csrf_failed() if path in PUBLIC_PATHS else json_error(403, "csrf: missing or bad token")
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        if request.method == "GET":
            csrf_token()  # before the page's first callback needs it
            token = request.args.get("token")
            if token is not None and path in KIOSK_PAGES:
                if identity.sign_in_kiosk(token) is None:
                    return json_error(403, "token: this kiosk link is not valid")
                csrf_token()
                return redirect("/wall", code=303)  # the token leaves the address bar and history
        user = identity.user()
        if user is None:
            if path.startswith(DATA_PREFIXES) or request.method != "GET":
                return json_error(401, "sign in first")
            target = "/login?next=" + quote(request.full_path.rstrip("?"), safe="/")
            return redirect(target + ("&expired=1" if g.get("wf_expired") else ""), code=303)
        if user.kiosk:
            if path == "/_dash-update-component" and not kiosk_may_call(request.get_json(silent=True)):
                return json_error(403, "kiosk: this link shows the wall only")
            if path.startswith(DATA_PREFIXES) and not path.startswith(KIOSK_DATA_PREFIXES):
                return json_error(403, "kiosk: this link shows the wall only")
            if not path.startswith(DATA_PREFIXES) and path not in KIOSK_PAGES:
                return redirect("/wall", code=303)
        return None

    @server.after_request
    def headers(resp: Response) -> Response:
        if not csp:
            csp.append(content_security_policy(list(dash_app.csp_hashes())))
        h = resp.headers
        h["Content-Security-Policy"] = csp[0]
        h["X-Content-Type-Options"] = "nosniff"
        h["X-Frame-Options"] = "DENY"
        h["Referrer-Policy"] = "same-origin"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if https:
            h["Strict-Transport-Security"] = "max-age=31536000"
        token = session.get("csrf")
        if isinstance(token, str) and request.cookies.get(CSRF_COOKIE) != token:
            # readable by the page's scripts on purpose (it is the double of the session's token);
            # the session cookie itself stays HttpOnly
            resp.set_cookie(CSRF_COOKIE, token, secure=https, httponly=False, samesite="Strict", path="/")
        return resp
