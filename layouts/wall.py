"""``/wall``: the video-wall screen. Dark, full-screen, readable from 5 m; sizes scale with the screen.

Data arrives by push (``wall-socket``) and by URL (map layers); the layout itself carries no data.
"""

from __future__ import annotations

import dash_leaflet as dl
from dash import html
from dash_socketio import DashSocketIO

from core.settings import Settings
from geo.boundaries import Regions
from indicators.wall_data import region_names
from indicators.wall_figures import SOURCES, TIME_ZONE, stale_after_ms
from layouts.i18n import catalogue, t
from layouts.wall_panels import kpi_column, source_badges
from wf_components import Interval, Store


def _fn(name: str) -> dict[str, str]:
    """Reference to a function of assets/wall.js, for dash-leaflet's functional props."""
    return {"variable": f"wf.map.{name}"}


def _boundary(level: str, colour: str, weight: float, z: int) -> dl.Pane:
    """One boundary level in a pane of its own: the finer level under the coarser one, whichever of
    the three layers arrives first (in one shared pane they stacked in arrival order)."""
    pane = f"boundaries-{level}"
    return dl.Pane(
        name=pane,
        style={"zIndex": z, "pointerEvents": "none"},
        children=dl.GeoJSON(
            id=f"wall-boundary-{level}",
            url=f"/geo/{level}.geojson",
            style=_fn("boundaryStyle"),
            hideout={"color": colour, "weight": weight},
            interactive=False,
            pane=pane,
        ),
    )


def _scene_layer(scene: str, layer_id: str, **functions: str) -> dl.Pane:
    """A scene's layer in its own pane; CSS hides the panes of the scenes not shown."""
    return dl.Pane(
        name=f"scene-{scene}",
        style={"zIndex": 420},
        children=dl.GeoJSON(id=layer_id, pane=f"scene-{scene}", **{k: _fn(v) for k, v in functions.items()}),
    )


def layout(settings: Settings, regions: Regions) -> html.Div:
    """Build the wall screen for the configured language and province."""
    lang = settings.wall.language
    west, south, east, north = (float(v) for v in regions.province.total_bounds)
    wall = settings.wall
    config = {
        "staleAfterMs": int(wall.stale_after_seconds * 1000),
        "sourceStaleMs": {
            s: stale_after_ms(s, wall.stale_after_seconds, wall.source_stale_seconds) for s in SOURCES
        },
        "sources": list(SOURCES),
        "refreshMs": int(settings.map.refresh_seconds * 1000),
        "sceneMs": int(wall.scene_seconds * 1000),
        "scenes": list(wall.scenes),
        "lang": lang,
        "timeZone": TIME_ZONE,
        "bounds": [[south, west], [north, east]],
        "names": region_names(regions, lang),
        "subs": {
            "inspections": {
                "days": wall.heat_days,
                "share": f"{1 - settings.indicators.coverage_target:.0%}",
            },
            "flows": {"days": wall.flow_days},
        },
        "text": catalogue(lang, "wall.") | catalogue(lang, "unit."),
    }
    first = wall.scenes[0]
    return html.Div(
        id="wall-root",
        className=f"wall wall-scene-{first}",
        children=[
            DashSocketIO(id="wall-socket", eventNames=["licence", "indicators", "warnings"]),
            Store(id="wall-config", data=config),
            Store(id="wall-snapshot"),
            Store(id="wall-panels"),
            Store(id="wall-state", data={"version": 0, "lastIngestMs": None}),
            # licences per 1,000 people: its own store, so the KPI tiles do not re-run on each licence push
            Store(id="wall-density"),
            # the licence layer's URL last asked for (assets/wall.js wf.licences fetches and draws it)
            Store(id="wall-licence-view"),
            # ticks only drive clientside code (clock, badges, scenes, throttled map refresh): no server calls
            Interval(id="wall-tick", interval=1000),
            # the slow fallback: panels and per-source freshness re-read even when no push comes
            Interval(id="wall-slow", interval=SLOW_MS),
            html.Header(
                className="wall-header",
                children=[
                    html.H1(t(lang, "wall.title"), className="wall-title"),
                    html.Div(id="wall-clock", className="wall-clock"),
                ],
            ),
            html.Main(
                className="wall-body",
                children=[
                    kpi_column(lang),
                    html.Div(
                        className="wall-tile wall-map-frame",
                        children=[_map(south, west, north, east), _overlay(lang, first)],
                    ),
                    html.Aside(
                        className="wall-side",
                        children=[
                            html.Section(
                                className="wall-tile wall-ticker",
                                children=[
                                    html.Div(id="wall-ticker-head", className="wall-panel-head"),
                                    html.Div(id="wall-ticker", className="wall-ticker-list"),
                                ],
                            ),
                            html.Section(
                                className="wall-tile wall-ranking",
                                children=[
                                    html.Div(t(lang, "wall.ranking.title"), className="wall-panel-title"),
                                    html.Div(id="wall-ranking", className="wall-ranking-list"),
                                ],
                            ),
                            html.Section(
                                className="wall-tile wall-trend",
                                children=[
                                    html.Div(t(lang, "wall.trend.title"), className="wall-panel-title"),
                                    html.Div(id="wall-trend", className="wall-trend-body"),
                                ],
                            ),
                        ],
                    ),  # fmt: skip
                ],
            ),
            html.Footer(
                className="wall-footer",
                children=[
                    source_badges(lang),
                    html.Span(id="wall-connection", className="wall-connection"),
                    html.Span(
                        t(lang, "wall.credit" if regions.derived else "wall.credit.official"),
                        className="wall-credit",
                    ),
                ],
            ),
        ],
    )


#: milliseconds between the slow re-reads of the panels (pushes refresh them in between)
SLOW_MS = 30_000


def _overlay(lang: str, first: str) -> html.Div:
    """Scene title (top left of the map) and the scene's legend (bottom left, filled by the ``scene``
    clientside callback from the catalogue: one legend in the page, not four, as every Dash component
    costs the wall's start and each store update)."""
    return html.Div(
        className="wall-map-overlay",
        children=[
            html.Div(
                className="wall-scene-box",
                children=[
                    html.Div(
                        t(lang, f"wall.scene.{first}"), id="wall-scene-title", className="wall-scene-title"
                    ),
                    html.Div("", id="wall-scene-sub", className="wall-scene-sub"),
                ],
            ),
            html.Div(id="wall-legend", className="wall-tile wall-legend"),
        ],
    )


def first_licence_url(regions: Regions) -> str:
    """The licence layer of the province view: what the wall's map shows first (preloaded by the page,
    fetched by assets/wall.js as it loads; ``layerUrl`` then follows the fitted view)."""
    west, south, east, north = (float(v) for v in regions.province.total_bounds)
    return f"/api/v1/map/licences?bbox={west:.4f},{south:.4f},{east:.4f},{north:.4f}&zoom=7.00&v=0"


def _map(south: float, west: float, north: float, east: float) -> dl.MapContainer:
    return dl.MapContainer(
        id="wall-map",
        # center/zoom to start with (dash-leaflet throws on updates when a map was created from
        # bounds alone); once loaded, callbacks/wall.py fits the province to whatever screen this is
        center=[(south + north) / 2, (west + east) / 2],
        zoom=7,
        zoomSnap=0.1,
        zoomControl=False,
        attributionControl=False,
        preferCanvas=False,
        className="wall-map",
        style={"width": "100%", "height": "100%"},
        children=[
            # one pane per scene, above the overlay pane (z 400); CSS shows the current scene's only.
            # The licence cells are not a component: assets/wall.js draws them into their pane
            # ("scene-licences", z 410) the moment this map exists, from a fetch started as the page
            # loads (web/wall_page.py names the first URL); a GeoJSON component would ask for it
            # only once React had mounted it, and each cell view would pass through Dash's store
            _scene_layer("inspections", "wall-heat", style="heatStyle", onEachFeature="heatTip"),
            dl.Pane(
                name="scene-gaps",
                style={"zIndex": 425},
                children=dl.GeoJSON(
                    id="wall-gap", pane="scene-gaps", style=_fn("gapStyle"), onEachFeature=_fn("gapTip")
                ),
            ),
            # borders above the cells and hexes, below arcs and pins
            _boundary("county", "#2b4a6f", 0.6, 450),
            _boundary("city", "#4f86c6", 1.4, 451),
            _boundary("province", "#9cc9ff", 2.4, 452),
            dl.Pane(
                name="scene-flows",
                style={"zIndex": 460},
                children=dl.GeoJSON(
                    id="wall-flows", pane="scene-flows", style=_fn("flowStyle"), onEachFeature=_fn("flowTip")
                ),
            ),
            dl.Pane(
                name="scene-warnings",
                style={"zIndex": 470},
                children=dl.GeoJSON(
                    id="wall-warnpins",
                    pane="scene-warnings",
                    pointToLayer=_fn("pinToLayer"),
                    onEachFeature=_fn("pinTip"),
                ),
            ),
        ],
    )
