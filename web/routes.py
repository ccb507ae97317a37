"""Data routes: boundary layers and the per-viewport licence layer, fetched by the map with ``url=``.

Layers never travel inside the Dash layout: the map asks for what is in view, the server answers
with compact GeoJSON, gzip-compressed when the browser accepts it.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable

import orjson
import redis
from flask import Blueprint, Response, abort, request

from core.auth import Forbidden, User, require_user, require_view, scope_prefix
from core.settings import Settings
from geo.boundaries import Regions
from geo.layers import boundary_geojson
from geo.viewport import licence_layer, parse_view


def _respond(body: bytes, max_age: int = 0) -> Response:
    headers = {"Cache-Control": f"max-age={max_age}" if max_age else "no-store"}
    if len(body) > 1024 and "gzip" in request.headers.get("Accept-Encoding", ""):
        body = gzip.compress(body, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept-Encoding"
    return Response(body, mimetype="application/geo+json", headers=headers)


def blueprint(
    settings: Settings, r: redis.Redis, regions: Regions, user_of: Callable[[], User | None]
) -> Blueprint:
    """Build the data blueprint with its dependencies passed in explicitly."""
    bp = Blueprint("data", __name__)

    @bp.get("/geo/<level>.geojson")
    def boundaries(level: str) -> Response:
        if level not in ("province", "city", "county"):
            abort(404)
        # geography, not data: every signed-in user gets the whole province's borders as context
        require_user(user_of())
        return _respond(boundary_geojson(regions, level), max_age=3600)

    # licences lie inside the province (the consumer dead-letters points outside every county)
    extent = tuple(float(v) for v in regions.province.total_bounds)

    @bp.get("/api/v1/map/licences")
    def licences() -> Response:
        user = require_user(user_of())
        try:
            view = parse_view(request.args.get("bbox"), request.args.get("zoom"))
        except ValueError as exc:
            return Response(orjson.dumps({"error": str(exc)}), status=400, mimetype="application/json")
        layer = licence_layer(r, view, settings.map, scope_prefix(user.scope), extent)
        if layer["meta"]["mode"] == "cells":
            # hex cells mix regions; until per-region cells exist only province-wide users get them
            require_view(user, settings.geo.province_adcode)
        return _respond(orjson.dumps(layer))

    @bp.get("/healthz")
    def health() -> Response:
        r.ping()
        return Response("ok\n", mimetype="text/plain")

    @bp.errorhandler(Forbidden)
    def forbidden(exc: Forbidden) -> Response:
        return Response(orjson.dumps({"error": str(exc)}), status=403, mimetype="application/json")

    return bp
