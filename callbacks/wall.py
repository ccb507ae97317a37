"""Wiring of ``/wall``: a server snapshot on every (re)connect; pushes and ticks handled clientside."""

from __future__ import annotations

import time
from collections.abc import Callable

import dash
import redis
from dash import ClientsideFunction, Input, Output, State

from core.auth import User, require_view
from core.settings import Settings
from indicators.jobs import read_licence_indicators
from streams.licences import active_counts, licence_freshness


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


def register(app: dash.Dash, settings: Settings, r: redis.Redis, user_of: Callable[[], User]) -> None:
    """Wire the wall's callbacks."""

    @app.callback(Output("wall-snapshot", "data"), Input("wall-socket", "connected"))
    def load_snapshot(connected: bool | None) -> dict:
        # Runs at page load and again on every reconnect: a missed push never leaves the wall wrong.
        return snapshot(r, user_of())

    app.clientside_callback(
        ClientsideFunction("wall", "merge"),
        Output("wall-state", "data"),
        Output("wall-kpi-active", "children"),
        Output("wall-kpi-density", "children"),
        Input("wall-snapshot", "data"),
        Input("wall-socket", "data-licence"),
        Input("wall-socket", "data-indicators"),
        State("wall-state", "data"),
        State("wall-config", "data"),
    )
    app.clientside_callback(
        ClientsideFunction("wall", "tick"),
        Output("wall-clock", "children"),
        Output("wall-freshness", "children"),
        Output("wall-freshness", "className"),
        Output("wall-connection", "children"),
        Input("wall-tick", "n_intervals"),
        Input("wall-socket", "connected"),
        State("wall-state", "data"),
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
        Output("wall-licences", "url"),
        Input("wall-map", "bounds"),
        Input("wall-map", "zoom"),
        Input("wall-state", "data"),
        Input("wall-tick", "n_intervals"),
        State("wall-config", "data"),
    )
