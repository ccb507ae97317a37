"""``/login`` and ``/logout``: sign in with a local user, sign out; plain HTML forms with a CSRF token.

Wrong name and wrong password give the same answer in the same time (no user enumeration). After
``auth.login_max_failures`` failures of one name from one address, that pair is refused for
``auth.login_lockout_seconds`` whatever the password (the counter lives in Redis, so every web
process sees it).
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, request

from core.identity import Identity
from core.settings import Settings
from core.users import MAX_PASSWORD, verify_password
from layouts.i18n import t
from layouts.login import LoginView, render
from web.security import csrf_token


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site (no scheme, host or ``//``), else ``/``: no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if not value.isprintable() or urlsplit(value).netloc or value.startswith(("/login", "/logout")):
        return "/"
    return value


def page(lang: str, view: LoginView, status: int = 200) -> Response:
    """The login page as a response that no cache keeps."""
    resp = Response(render(lang, view, csrf_token()), status=status, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def csrf_failed_page(settings: Settings) -> Response:
    """The refusal of a login or logout form without a valid CSRF token: 403, and a fresh form."""
    lang = settings.wall.language
    view = LoginView(message=t(lang, "login.error.csrf"), next_path=safe_next(request.form.get("next")))
    if settings.auth.mode != "local":
        view = LoginView(form="", message=t(lang, "login.error.csrf"))
    return page(lang, view, 403)


def blueprint(settings: Settings, identity: Identity) -> Blueprint:
    """Build the sign-in blueprint."""
    bp = Blueprint("login", __name__)
    lang, mode = settings.wall.language, settings.auth.mode

    def not_here() -> Response:
        """Open mode needs no sign-in; header mode signs in at the portal, not here."""
        if mode == "open":
            return page(lang, LoginView(form="enter", subtitle_key="login.open"))
        return page(lang, LoginView(form="", message=t(lang, "login.sso"), kind="info", subtitle_key=""))

    @bp.get("/login")
    def login_form() -> Response:
        next_path = safe_next(request.args.get("next"))
        user = identity.user()
        if user is not None and not user.kiosk and mode != "open":
            return redirect(next_path, code=303)  # already signed in
        if mode != "local":
            return not_here()
        message, kind = "", "info"
        if request.args.get("expired"):
            message = t(lang, "login.expired")
        elif request.args.get("out"):
            message = t(lang, "login.signed_out")
        return page(lang, LoginView(message=message, kind=kind, next_path=next_path))

    @bp.post("/login")
    def login_submit() -> Response:
        if mode != "local":
            return not_here()
        name = request.form.get("username", "").strip()[:64]
        password = request.form.get("password", "")[: MAX_PASSWORD + 1]
        next_path = safe_next(request.form.get("next"))
        address = request.remote_addr or "-"
        wait = identity.locked_for(name, address)
        if wait:
            message = t(lang, "login.error.locked").format(minutes=math.ceil(wait / 60))
            return page(lang, LoginView(message=message, username=name, next_path=next_path), 429)
        record = identity.users.get(name)
        if not verify_password(record, password) or record is None:
            identity.failed(name, address)
            message = t(lang, "login.error.credentials")
            return page(lang, LoginView(message=message, username=name, next_path=next_path), 401)
        identity.succeeded(name, address)
        identity.sign_in(record)
        csrf_token()  # a new token for the new session
        return redirect(next_path, code=303)

    @bp.get("/logout")
    def logout_form() -> Response:
        # signing out changes state, so it is a POST; this page is the no-JavaScript way to send it
        view = LoginView(form="logout", heading_key="login.logout.title", subtitle_key="login.logout.confirm")
        return page(lang, view)

    @bp.post("/logout")
    def logout() -> Response:
        identity.sign_out()
        csrf_token()
        return redirect("/login?out=1" if mode == "local" else "/login", code=303)

    return bp
