"""Router: fill the page container with the screen of the current path, as the signed-in user sees it."""

from __future__ import annotations

from collections.abc import Callable

import dash
from dash import Input, Output

from core.auth import User
from core.settings import Settings
from geo.boundaries import Regions
from layouts.pages import screen
from web.security import csrf_token


def register(
    app: dash.Dash, settings: Settings, regions: Regions, user_of: Callable[[], User | None] | None = None
) -> None:
    """Wire the router."""

    @app.callback(Output("page-content", "children"), Input("page-url", "pathname"))
    def route(pathname: str | None):
        user = user_of() if user_of is not None else None
        # the sign-out form of the screen carries the session's CSRF token
        return screen(pathname, settings, regions, user, csrf_token())
