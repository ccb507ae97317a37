"""Scene layers of the wall, fetched by the map with ``url=`` (never embedded in the layout).

Every route answers for the signed-in user's own region scope only (the scope is never taken from
the request). Heavy layers are cached per process for a few seconds, shared by all walls of a scope.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import redis
from flask import Blueprint, Response

from core.auth import Forbidden, User, can_view, require_user
from core.settings import Settings
from geo.boundaries import Regions
from indicators import wall_data
from web.routes import _respond

#: seconds a computed layer is reused (the heat layer reads every inspected licence of 30 days)
LAYER_TTL = 15.0


def hex_resolution(scope: int, resolutions: tuple[int, ...]) -> int:
    """H3 resolution of the heat hexes: coarse for the province, finer for a city or a county."""
    wanted = 5 if scope % 10000 == 0 else 6 if scope % 100 == 0 else 7
    return min(resolutions, key=lambda res: (abs(res - wanted), res))


def blueprint(
    settings: Settings, r: redis.Redis, regions: Regions, user_of: Callable[[], User | None]
) -> Blueprint:
    """Build the wall's layer blueprint with its dependencies passed in explicitly."""
    bp = Blueprint("wall_api", __name__)
    cache = wall_data.TTLCache(LAYER_TTL)
    province = settings.geo.province_adcode
    wall = settings.wall

    def now_ms() -> int:
        return int(time.time() * 1000)

    def heat(user: User) -> dict:
        res = hex_resolution(user.scope, settings.map.h3_resolutions)
        gap_share = 1 - settings.indicators.coverage_target
        return cache.get(
            ("heat", user.scope, res, wall.heat_days),
            lambda: wall_data.heat_layers(
                r,
                regions,
                user.scope,
                res,
                settings.map.h3_resolutions,
                wall.heat_days,
                gap_share,
                can_view(user, province),
                now_ms(),
            ),  # fmt: skip
        )

    @bp.get("/api/v1/wall/heat")
    def heat_layer() -> Response:
        user = require_user(user_of())
        return _respond(orjson.dumps(heat(user)["heat"]))

    @bp.get("/api/v1/wall/gap")
    def gap_layer() -> Response:
        user = require_user(user_of())
        return _respond(orjson.dumps(heat(user)["gap"]))

    @bp.get("/api/v1/wall/flows")
    def flows_layer() -> Response:
        user = require_user(user_of())
        layer = cache.get(
            ("flows", user.scope, wall.flow_days),
            lambda: wall_data.flows_layer(r, regions, user.scope, province, wall.flow_days, now_ms()),
        )
        return _respond(orjson.dumps(layer))

    @bp.get("/api/v1/wall/warnings")
    def warnings_layer() -> Response:
        user = require_user(user_of())
        # not cached: a pushed warning must show on the next fetch
        return _respond(orjson.dumps(wall_data.warnings_layer(r, regions, user.scope)))

    @bp.errorhandler(Forbidden)
    def forbidden(exc: Forbidden) -> Response:
        return Response(orjson.dumps({"error": str(exc)}), status=403, mimetype="application/json")

    return bp
