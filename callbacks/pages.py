"""Router: fill the page container with the screen of the current path."""

from __future__ import annotations

import dash
from dash import Input, Output

from core.settings import Settings
from geo.boundaries import Regions
from layouts.pages import screen


def register(app: dash.Dash, settings: Settings, regions: Regions) -> None:
    """Wire the router."""

    @app.callback(Output("page-content", "children"), Input("page-url", "pathname"))
    def route(pathname: str | None):
        return screen(pathname, settings, regions)
