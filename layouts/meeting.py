"""``/meeting``: the screen leaders drive in a meeting — drill down on the map (province → city →
county → shop) with a breadcrumb back up, KPI tiles, a ranking table and bar chart of the regions one
level down for any indicator, a 7 / 30 / 90-day trend, the shop card or the top warnings, and PNG /
PDF export of the current view.

Sized in vh (like the wall) on a grid whose columns stretch, so 16:9 and 32:9 screens both fill
without overflow. This module builds the skeleton; ``callbacks/meeting.py`` fills it.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from core.auth import User
from core.settings import Settings
from geo.boundaries import Regions
from indicators.briefing import TREND_DAYS
from indicators.compare import INDICATORS
from layouts.i18n import t

#: poll interval (ms): new indicator versions reach the screen within this
REFRESH_MS = 30_000
DEFAULT_INDICATOR = "risk"
DEFAULT_WINDOW = 30


def _fn(name: str) -> dict:
    return {"variable": f"wf.meeting.{name}"}


def _map(regions: Regions) -> dl.MapContainer:
    west, south, east, north = regions.province.total_bounds
    return dl.MapContainer(
        id="meeting-map",
        center=[(south + north) / 2, (west + east) / 2],
        zoom=7,
        zoomSnap=0.1,
        zoomControl=False,  # drilled by clicks (the wheel still zooms); Leaflet's buttons do not scale
        attributionControl=False,
        className="meeting-map",
        style={"width": "100%", "height": "100%"},
        children=[
            dl.GeoJSON(  # context: every county border, geography only (no data)
                url="/geo/county.geojson",
                style=_fn("contextStyle"),
                interactive=False,
            ),  # fmt: skip
            dl.GeoJSON(
                id="meeting-regions",
                style=_fn("regionStyle"),
                onEachFeature=_fn("regionTooltip"),
            ),  # fmt: skip
            dl.GeoJSON(
                id="meeting-shops",
                pointToLayer=_fn("shopPoint"),
                onEachFeature=_fn("shopTooltip"),
            ),  # fmt: skip
        ],
    )


def _panel(cls: str, title_id: str, *children: Any, title: str = "") -> html.Section:
    return html.Section(
        className=f"meeting-panel {cls}",
        children=[html.H2(title, id=title_id, className="meeting-h2"), *children],
    )


def _graph(id_: str) -> dcc.Graph:
    return dcc.Graph(
        id=id_,
        className="meeting-graph",
        config={"displayModeBar": False, "responsive": True},
        style={"height": "100%", "width": "100%"},
    )


def layout(settings: Settings, regions: Regions, user: User | None, account: Any = None) -> html.Div:
    """Build the meeting screen for ``user``; the selection starts at the user's own region."""
    lang = settings.wall.language
    windows = [w for w in settings.indicators.windows_days]
    window = DEFAULT_WINDOW if DEFAULT_WINDOW in windows else windows[-1]
    start = {"region": user.scope if user else settings.geo.province_adcode, "shop": None}
    return html.Div(
        id="meeting-root",
        className="meeting",
        children=[
            dcc.Store(id="meeting-sel", data=start),
            dcc.Store(id="meeting-screen"),
            dcc.Store(id="meeting-bounds"),
            dcc.Interval(id="meeting-tick", interval=REFRESH_MS),
            html.Header(
                className="meeting-header meeting-tile",
                children=[
                    html.H1(t(lang, "meeting.title"), className="meeting-title"),
                    html.Nav(id="meeting-crumbs", className="meeting-crumbs", **{"aria-label": "breadcrumb"}),
                    dcc.RadioItems(
                        id="meeting-window",
                        options=[{"label": t(lang, f"meeting.window.{w}"), "value": w} for w in windows],
                        value=window,
                        className="meeting-radio",
                        inline=True,
                    ),
                    dcc.Dropdown(
                        id="meeting-indicator",
                        options=[{"label": t(lang, f"meeting.ind.{k}"), "value": k} for k in INDICATORS],
                        value=DEFAULT_INDICATOR,
                        clearable=False,
                        className="meeting-dropdown",
                    ),
                    html.A(
                        t(lang, "meeting.export.png"), id="meeting-export-png", className="meeting-button"
                    ),
                    html.A(
                        t(lang, "meeting.export.pdf"), id="meeting-export-pdf", className="meeting-button"
                    ),
                    html.Span(id="meeting-updated", className="meeting-updated"),
                    *([account] if account is not None else []),
                ],
            ),
            html.Div(id="meeting-kpis", className="meeting-kpis meeting-tile"),
            _panel(
                "meeting-map-panel meeting-tile",
                "meeting-map-title",
                html.Div(_map(regions), className="meeting-map-frame"),
                html.Div(
                    [html.Span(id="meeting-map-note"), html.Span(t(lang, "meeting.credit"))],
                    className="meeting-map-foot",
                ),
                title=t(lang, "meeting.map"),
            ),
            _panel("meeting-bar-panel meeting-tile", "meeting-compare-title", _graph("meeting-bar")),
            _panel(
                "meeting-rank-panel meeting-tile",
                "meeting-rank-title",
                html.Div(id="meeting-ranking", className="meeting-ranking"),
            ),  # fmt: skip
            _panel(
                "meeting-trend-panel meeting-tile",
                "meeting-trend-title",
                dcc.RadioItems(
                    id="meeting-trend-days",
                    options=[
                        {"label": t(lang, "meeting.trend.days").format(n=d), "value": d} for d in TREND_DAYS
                    ],
                    value=30,
                    className="meeting-radio meeting-trend-days",
                    inline=True,
                ),
                _graph("meeting-trend"),
            ),
            _panel(
                "meeting-card-panel meeting-tile",
                "meeting-card-title",
                html.Div(id="meeting-card", className="meeting-card"),
            ),  # fmt: skip
        ],
    )
