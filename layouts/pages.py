"""The page shell: a URL location and a container the router fills with the screen for the path."""

from __future__ import annotations

from dash import dcc, html

from core.auth import User
from core.settings import Settings
from geo.boundaries import Regions
from layouts import duty, meeting, ops, wall
from layouts.i18n import t
from wf_components import Location

#: the only screens a wall kiosk link may open
KIOSK_PATHS = ("/", "/wall", None)


def shell() -> html.Div:
    """Top-level layout shared by every screen."""
    # not dcc.Location: a wall page without a Referer gets this shell, and the wall page loads no dcc
    return html.Div([Location(id="page-url"), html.Div(id="page-content", className="page")])


def initial(pathname: str | None, settings: Settings, regions: Regions) -> html.Div:
    """The layout a page starts with: on the wall's paths the wall itself (no router round trip before
    its map mounts; no ``page-url``, so the router never runs there), else the shell the router fills.

    ``pathname`` None (unknown) gives the shell: the router then shows the wall too, one step later.
    """
    if pathname in ("/", "/wall"):
        return html.Div([html.Div(wall.layout(settings, regions), id="page-content", className="page")])
    return shell()


def account(user: User, lang: str, csrf: str) -> html.Form:
    """Who is signed in, and a sign-out button (a POST form carrying the CSRF token).

    The role is not repeated here: the screens that depend on it say it themselves (``ops-role``).
    """
    return html.Form(
        id="account",
        className="account",
        method="POST",
        action="/logout",
        children=[
            html.Span(user.display_name or user.name, className="account-name"),
            dcc.Input(type="hidden", name="csrf_token", value=csrf, id="account-csrf"),
            html.Button(
                t(lang, "account.logout"), type="submit", id="account-logout", className="account-logout"
            ),
        ],
    )


def screen(
    pathname: str | None, settings: Settings, regions: Regions, user: User | None = None, csrf: str = ""
) -> html.Div:
    """The screen for ``pathname`` (``/`` shows the wall) as ``user`` may see it."""
    lang = settings.wall.language
    if user is not None and user.kiosk and pathname not in KIOSK_PATHS:
        return html.Div(t(lang, "page.forbidden"), className="page-missing")
    if pathname in KIOSK_PATHS:
        return wall.layout(settings, regions)
    if pathname == "/ops":
        signed_in = user is not None and settings.auth.mode != "open"
        return ops.layout(settings, account(user, lang, csrf) if signed_in else None)
    if pathname == "/duty":
        signed_in = user is not None and settings.auth.mode != "open"
        return duty.layout(settings, regions, user, account(user, lang, csrf) if signed_in else None)
    if pathname == "/meeting":
        signed_in = user is not None and settings.auth.mode != "open"
        return meeting.layout(settings, regions, user, account(user, lang, csrf) if signed_in else None)
    return html.Div(t(lang, "page.notfound"), className="page-missing")
