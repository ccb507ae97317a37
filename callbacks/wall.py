"""Wiring of ``/wall``: a server snapshot on every (re)connect; panels re-read on pushes and slowly;
scenes, clock, badges and map refresh handled clientside (assets/wall.js, assets/wall_scenes.js)."""

from __future__ import annotations

import time
from collections.abc import Callable

import dash
import redis
from dash import ClientsideFunction, Input, Output, State

from alerts.loop import is_overdue
from core.auth import User, require_view
from core.settings import Settings
from geo.boundaries import Regions
from indicators import wall_data
from indicators.jobs import read_licence_indicators
from indicators.wall_figures import SOURCES, colour_counts, ticker_order
from layouts import wall_panels
from streams.licences import active_counts, licence_freshness

#: lines the ticker shows at most (the CSS clips what does not fit the tile)
TICKER_LINES = 20


def snapshot(r: redis.Redis, user: User) -> dict:
    """Everything the wall shows outside the map, for the user's region, read fresh from Redis."""
    require_view(user, user.scope)
    version, indicators = read_licence_indicators(r)
    region = indicators.get("regions", {}).get(str(user.scope), {})
    last_ingest_ms, licence_version = licence_freshness(r)
    return {
        "adcode": user.scope,
        "active": active_counts(r, [user.scope])[user.scope],
        "per_1000": region.get("per_1000"),
        "lastIngestMs": last_ingest_ms,
        "version": licence_version,
        "serverMs": int(time.time() * 1000),
    }


def panels(r: redis.Redis, regions: Regions, settings: Settings, user: User, lang: str) -> tuple:
    """(panel figures for the clientside KPIs and badges, ranking rows, trend chart) of the user's scope."""
    require_view(user, user.scope)
    now_ms = int(time.time() * 1000)
    data = wall_data.panels(r, regions, user.scope, now_ms, settings.indicators.coverage_target)
    names = wall_data.region_names(regions, lang)
    ranking = wall_panels.ranking_rows(data.pop("ranking"), names, lang)
    trend = wall_panels.trend_svg(data.pop("trend"), lang)
    return data, ranking, trend


def ticker(r: redis.Redis, regions: Regions, user: User, lang: str) -> tuple[list, list]:
    """(heading, lines) of the warning ticker: newest open warnings of the user's scope."""
    require_view(user, user.scope)
    now_ms = int(time.time() * 1000)
    found = wall_data.open_in_scope(r, user.scope)
    overdue = sum(1 for w in found if is_overdue(w, now_ms))
    names = wall_data.region_names(regions, lang)
    head = wall_panels.ticker_head(colour_counts(found), overdue, lang)
    return head, wall_panels.ticker_items(ticker_order(found, TICKER_LINES), names, lang, now_ms)


def register(
    app: dash.Dash,
    settings: Settings,
    r: redis.Redis,
    user_of: Callable[[], User],
    regions: Regions | None = None,
) -> None:
    """Wire the wall's callbacks."""
    lang = settings.wall.language

    @app.callback(Output("wall-snapshot", "data"), Input("wall-socket", "connected"))
    def load_snapshot(connected: bool | None) -> dict:
        # Runs at page load and again on every reconnect: a missed push never leaves the wall wrong.
        return snapshot(r, user_of())

    if regions is not None:

        @app.callback(
            Output("wall-panels", "data"),
            Output("wall-ranking", "children"),
            Output("wall-trend", "children"),
            Input("wall-socket", "connected"),
            Input("wall-socket", "data-indicators"),
            Input("wall-slow", "n_intervals"),
        )
        def load_panels(connected: bool | None, pushed: dict | None, n: int | None) -> tuple:
            return panels(r, regions, settings, user_of(), lang)

        @app.callback(
            Output("wall-ticker-head", "children"),
            Output("wall-ticker", "children"),
            Input("wall-socket", "connected"),
            Input("wall-socket", "data-warnings"),
            Input("wall-slow", "n_intervals"),
        )
        def load_ticker(connected: bool | None, pushed: dict | None, n: int | None) -> tuple:
            return ticker(r, regions, user_of(), lang)

    app.clientside_callback(
        ClientsideFunction("wall", "merge"),
        Output("wall-state", "data"),
        Output("wall-kpi-active", "children"),
        Output("wall-density", "data"),
        Input("wall-snapshot", "data"),
        Input("wall-socket", "data-licence"),
        Input("wall-socket", "data-indicators"),
        State("wall-state", "data"),
        State("wall-config", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("wall", "kpis"),
        *(Output(f"wall-kpi-{k}", "children") for k, _ in wall_panels.KPIS if k != "active"),
        *(Output(f"wall-kpi-{k}-sub", "children") for k, _ in wall_panels.KPIS),
        Input("wall-panels", "data"),
        Input("wall-density", "data"),
        State("wall-config", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("wall", "tick"),
        Output("wall-clock", "children"),
        *(Output(b, "children") for b in _badges()),
        *(Output(b, "className") for b in _badges()),
        Output("wall-connection", "children"),
        Input("wall-tick", "n_intervals"),
        Input("wall-socket", "connected"),
        State("wall-state", "data"),
        State("wall-panels", "data"),
        State("wall-config", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("wall", "scene"),
        Output("wall-root", "className"),
        Output("wall-scene-title", "children"),
        Output("wall-scene-sub", "children"),
        Output("wall-legend", "children"),
        Input("wall-tick", "n_intervals"),
        State("wall-config", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("wall", "sceneUrls"),
        Output("wall-heat", "url"),
        Output("wall-gap", "url"),
        Output("wall-flows", "url"),
        Output("wall-warnpins", "url"),
        Input("wall-tick", "n_intervals"),
        Input("wall-socket", "data-warnings"),
        State("wall-config", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("wall", "fit"),
        Output("wall-map", "viewport"),
        Input("wall-map", "n_loads"),
        State("wall-config", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("wall", "layerUrl"),
        Output("wall-licence-view", "data"),
        Input("wall-map", "bounds"),
        Input("wall-map", "zoom"),
        Input("wall-tick", "n_intervals"),
        # new data shows at the next tick (the layer reloads at most every map.refresh_seconds anyway):
        # as an Input, every licence push would run this callback too
        State("wall-state", "data"),
        State("wall-config", "data"),
    )


def _badges() -> list[str]:
    return ["wall-freshness" if s == "licence" else f"wall-fresh-{s}" for s in SOURCES]
