"""The page shell: a URL location and a container the router fills with the screen for the path."""

from __future__ import annotations

from dash import dcc, html

from core.settings import Settings
from geo.boundaries import Regions
from layouts import ops, wall
from layouts.i18n import t


def shell() -> html.Div:
    """Top-level layout shared by every screen."""
    return html.Div([dcc.Location(id="page-url"), html.Div(id="page-content", className="page")])


def screen(pathname: str | None, settings: Settings, regions: Regions) -> html.Div:
    """The screen for ``pathname`` (``/`` shows the wall)."""
    if pathname in ("/", "/wall", None):
        return wall.layout(settings, regions)
    if pathname == "/ops":
        return ops.layout(settings)
    return html.Div(t(settings.wall.language, "page.notfound"), className="page-missing")
