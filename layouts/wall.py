"""``/wall``: the video-wall screen. Dark, full-screen, readable from 5 m; sizes scale with the screen.

Data arrives by push (``wall-socket``) and by URL (map layers); the layout itself carries no data.
"""

from __future__ import annotations

import dash_leaflet as dl
from dash import dcc, html
from dash_socketio import DashSocketIO

from core.settings import Settings
from geo.boundaries import Regions
from layouts.i18n import catalogue, t


def _fn(name: str) -> dict[str, str]:
    """Reference to a function of assets/wall.js, for dash-leaflet's functional props."""
    return {"variable": f"wf.map.{name}"}


def _boundary(level: str, colour: str, weight: float) -> dl.GeoJSON:
    return dl.GeoJSON(
        id=f"wall-boundary-{level}",
        url=f"/geo/{level}.geojson",
        style=_fn("boundaryStyle"),
        hideout={"color": colour, "weight": weight},
        interactive=False,
        pane="boundaries",
    )


def _kpi(key: str, value_id: str, unit_key: str, lang: str) -> html.Div:
    return html.Div(
        className="wall-kpi",
        children=[
            html.Div(t(lang, key), className="wall-kpi-label"),
            html.Div(
                [
                    html.Span("—", id=value_id, className="wall-kpi-value"),
                    html.Span(t(lang, unit_key), className="wall-kpi-unit"),
                ]
            ),
        ],
    )


def _legend(lang: str) -> html.Div:
    swatches = [
        html.Span(className=f"wall-swatch wall-swatch-{s}")
        for s in ("valid", "suspended", "revoked", "expired")
    ]
    return html.Div(
        className="wall-legend",
        children=[
            html.Div(t(lang, "wall.legend.cells"), className="wall-legend-title"),
            html.Div(className="wall-legend-ramp"),
            html.Div(
                className="wall-legend-status",
                children=[
                    html.Span([sw, t(lang, f"wall.legend.{s}")], className="wall-legend-item")
                    for sw, s in zip(swatches, ("valid", "suspended", "revoked", "expired"), strict=True)
                ],
            ),
        ],
    )


def layout(settings: Settings, regions: Regions) -> html.Div:
    """Build the wall screen for the configured language and province."""
    lang = settings.wall.language
    west, south, east, north = (float(v) for v in regions.province.total_bounds)
    config = {
        "staleAfterMs": int(settings.wall.stale_after_seconds * 1000),
        "refreshMs": int(settings.map.refresh_seconds * 1000),
        "lang": lang,
        "bounds": [[south, west], [north, east]],
        "text": catalogue(lang, "wall.") | catalogue(lang, "unit."),
    }
    return html.Div(
        id="wall-root",
        className="wall",
        children=[
            DashSocketIO(id="wall-socket", eventNames=["licence", "indicators"]),
            dcc.Store(id="wall-config", data=config),
            dcc.Store(id="wall-snapshot"),
            dcc.Store(id="wall-state", data={"version": 0, "lastIngestMs": None}),
            # ticks only drive clientside code (clock, badge, throttled map refresh): no server calls
            dcc.Interval(id="wall-tick", interval=1000),
            html.Header(
                className="wall-header",
                children=[
                    html.H1(t(lang, "wall.title"), className="wall-title"),
                    html.Div(
                        id="wall-freshness",
                        className="wall-badge wall-badge-none",
                        children=t(lang, "wall.nodata"),
                    ),
                    html.Div(id="wall-clock", className="wall-clock"),
                ],
            ),
            html.Main(
                className="wall-body",
                children=[
                    html.Div(
                        className="wall-map-frame",
                        children=dl.MapContainer(
                            id="wall-map",
                            # center/zoom to start with (dash-leaflet throws on updates when a map was
                            # created from bounds alone); once loaded, callbacks/wall.py fits the
                            # province to whatever screen this is
                            center=[(south + north) / 2, (west + east) / 2],
                            zoom=7,
                            zoomSnap=0.1,
                            zoomControl=False,
                            attributionControl=False,
                            preferCanvas=False,
                            className="wall-map",
                            style={"width": "100%", "height": "100%"},
                            children=[
                                dl.GeoJSON(
                                    id="wall-licences",
                                    style=_fn("cellStyle"),
                                    pointToLayer=_fn("pointToLayer"),
                                    onEachFeature=_fn("onEachFeature"),
                                ),
                                # a pane above the overlay pane (z 400): borders stay on top of the cells
                                dl.Pane(
                                    name="boundaries",
                                    style={"zIndex": 450, "pointerEvents": "none"},
                                    children=[
                                        _boundary("county", "#2b4a6f", 0.6),
                                        _boundary("city", "#4f86c6", 1.4),
                                        _boundary("province", "#9cc9ff", 2.4),
                                    ],
                                ),
                            ],
                        ),
                    ),
                    html.Aside(
                        className="wall-side",
                        children=[
                            _kpi("wall.kpi.active", "wall-kpi-active", "wall.kpi.unit", lang),
                            _kpi("wall.kpi.density", "wall-kpi-density", "wall.kpi.density.unit", lang),
                            _legend(lang),
                        ],
                    ),
                ],
            ),
            html.Footer(
                className="wall-footer",
                children=[
                    html.Span(
                        t(lang, "wall.credit" if regions.derived else "wall.credit.official"),
                        className="wall-credit",
                    ),
                    html.Span(id="wall-connection", className="wall-connection"),
                ],
            ),
        ],
    )
