"""Wiring of ``/meeting``: selection (map clicks, breadcrumb, ranking rows), the view, the trend.

Every callback asks ``user_of()`` who is asking and reads through :class:`indicators.briefing.Meeting`,
which checks the region (and a shop's county) against the user's scope on the server: a selection
outside the scope is refused whatever the browser sends (the store, a forged click, a forged crumb).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

import dash
import redis
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, no_update

from core.auth import Forbidden, User, can_view
from core.settings import Settings
from geo.boundaries import Regions
from indicators.briefing import Meeting, Selection
from indicators.compare import INDICATORS, level_of
from indicators.shop import county_shops
from layouts.i18n import t
from layouts.meeting_parts import (
    bar_figure,
    crumbs,
    kpi_tiles,
    names,
    ranking_rows,
    region_layer,
    shop_card,
    stamp,
    trend_figure,
    warning_list,
)

#: most shops drawn for a county (the rest are counted in the map's note)
MAX_SHOPS = 1500
EMPTY_FIGURE: dict = {
    "data": [],
    "layout": {"paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"},
}


def font_px(height: object) -> float:
    """Chart font size for a screen ``height`` px tall (1.5 vh, never below 11 px)."""
    h = height if isinstance(height, int | float) and 300 <= height <= 20000 else 1080
    return max(11.0, round(h * 0.015, 1))


def next_selection(trigger: object, value: object, sel: Selection, user: User | None) -> Selection | None:
    """The selection after a click, or None to keep it (nothing clicked, or outside the scope).

    ``trigger`` is the Dash id that fired; ``value`` its clickData (map) or n_clicks (buttons, rows).
    """
    if isinstance(trigger, dict) and trigger.get("type") in ("meeting-crumb", "meeting-rank"):
        if not value:
            return None  # re-rendered, not clicked
        new = Selection(int(trigger["adcode"]))
    elif trigger == "meeting-regions" and isinstance(value, dict):
        code = (value.get("properties") or {}).get("adcode")
        new = Selection(int(code)) if isinstance(code, int) else None
    elif trigger == "meeting-shops" and isinstance(value, dict):
        no = (value.get("properties") or {}).get("no")
        new = Selection(sel.region, no) if isinstance(no, str) else None
    else:
        return None
    if new is None or not can_view(user, new.region) or new == sel:
        return None
    return new


def register(
    app: dash.Dash, settings: Settings, r: redis.Redis, regions: Regions, user_of: Callable[[], User | None]
) -> Meeting:
    """Wire the meeting screen's callbacks; returns the :class:`Meeting` reader (the export uses it too)."""
    lang = settings.wall.language
    meeting = Meeting(r, regions, settings.indicators.windows_days)
    region_names = names(regions, lang)
    frames = {"province": regions.province, "city": regions.cities, "county": regions.counties}
    bounds = {
        int(a): tuple(float(v) for v in g.bounds)
        for f in frames.values()
        for a, g in zip(f["adcode"], f.geometry, strict=True)
    }

    app.clientside_callback(
        ClientsideFunction("meeting", "screen"), Output("meeting-screen", "data"), Input("meeting-root", "id")
    )
    app.clientside_callback(
        ClientsideFunction("meeting", "fit"),
        Output("meeting-map", "invalidateSize"),
        Output("meeting-map", "viewport"),
        Input("meeting-bounds", "data"),
        Input("meeting-map", "n_loads"),
    )

    @app.callback(
        Output("meeting-sel", "data"),
        Input("meeting-regions", "clickData"),
        Input("meeting-shops", "clickData"),
        Input({"type": "meeting-crumb", "adcode": ALL}, "n_clicks"),
        Input({"type": "meeting-rank", "adcode": ALL}, "n_clicks"),
        State("meeting-sel", "data"),
        prevent_initial_call=True,
    )
    def select(_regions, _shops, _crumbs, _ranks, data):
        user = user_of()
        sel = Selection.parse(data, user.scope if user else 0)
        trigger = ctx.triggered[0] if ctx.triggered else {}
        new = next_selection(ctx.triggered_id, trigger.get("value"), sel, user)
        return no_update if new is None else new.data()

    @app.callback(
        Output("meeting-crumbs", "children"),
        Output("meeting-kpis", "children"),
        Output("meeting-regions", "data"),
        Output("meeting-shops", "data"),
        Output("meeting-bounds", "data"),
        Output("meeting-map-note", "children"),
        Output("meeting-compare-title", "children"),
        Output("meeting-bar", "figure"),
        Output("meeting-rank-title", "children"),
        Output("meeting-ranking", "children"),
        Output("meeting-card-title", "children"),
        Output("meeting-card", "children"),
        Output("meeting-export-png", "href"),
        Output("meeting-export-pdf", "href"),
        Output("meeting-updated", "children"),
        Input("meeting-sel", "data"),
        Input("meeting-window", "value"),
        Input("meeting-indicator", "value"),
        Input("meeting-screen", "data"),
        Input("meeting-tick", "n_intervals"),
    )
    def render(data, window, indicator, height, _n):
        user = user_of()
        sel = Selection.parse(data, user.scope if user else 0)
        now_ms = int(time.time() * 1000)
        try:
            view = meeting.view(user, sel, int(window or 0), str(indicator))
        except (Forbidden, ValueError) as exc:
            why = t(lang, "meeting.forbidden").format(why=exc)
            empty = {"type": "FeatureCollection", "features": []}
            return ([], [], empty, empty, None, "", "", EMPTY_FIGURE, "", [], "", why, None, None, "")
        px = font_px(height)
        ind_name = t(lang, f"meeting.ind.{view.indicator}")
        peer_level = "county" if level_of(view.region) != "province" else "city"
        compare = t(lang, "meeting.compare").format(
            level=t(lang, f"meeting.level.{peer_level}"), indicator=ind_name
        )
        shops, note = {"type": "FeatureCollection", "features": []}, ""
        if view.level == "county":
            features, total = county_shops(r, view.region, bounds[view.region], MAX_SHOPS)
            chosen = view.shop.licence_no if view.shop is not None else None
            for f in features:
                f["properties"]["sel"] = f["properties"]["no"] == chosen
            shops = {"type": "FeatureCollection", "features": features}
            note = t(lang, "meeting.map.shops").format(shown=len(features), total=total)
        box = bounds[view.region]
        if view.shop is not None and view.shop.lon is not None:
            d = 0.02
            box = (view.shop.lon - d, view.shop.lat - d, view.shop.lon + d, view.shop.lat + d)
        if view.shop is not None:
            name = view.shop.record.get("shop_name") or view.shop.licence_no
            card_title, card = t(lang, "meeting.card").format(name=name), shop_card(view.shop, lang, now_ms)
        else:
            card_title = t(lang, "meeting.warnings").format(n=len(view.warnings))
            card = warning_list(view, lang, region_names)
        query = {"region": view.region, "window": view.window, "indicator": view.indicator}
        if view.shop is not None:
            query["shop"] = view.shop.licence_no
        updated = (
            t(lang, "meeting.updated").format(time=stamp(now_ms))
            if view.version
            else t(lang, "meeting.nodata")
        )
        return (
            crumbs(view, lang, region_names), kpi_tiles(view, lang),
            region_layer(view, regions, lang, region_names), shops,
            {"bounds": [[box[1], box[0]], [box[3], box[2]]], "key": f"{view.region}:{sel.shop}"}, note,
            compare, bar_figure(view, lang, region_names, px),
            compare, ranking_rows(view, lang, region_names),
            card_title, card, "/api/v1/meeting/export.png?" + urlencode(query),
            "/api/v1/meeting/export.pdf?" + urlencode(query), updated,
        )  # fmt: skip

    @app.callback(
        Output("meeting-trend-title", "children"),
        Output("meeting-trend", "figure"),
        Input("meeting-sel", "data"),
        Input("meeting-indicator", "value"),
        Input("meeting-trend-days", "value"),
        Input("meeting-screen", "data"),
        Input("meeting-tick", "n_intervals"),
    )
    def trend(data, indicator, days, height, _n):
        user = user_of()
        sel = Selection.parse(data, user.scope if user else 0)
        try:
            region = sel.region
            if sel.shop:  # the shop's county (checked against the scope inside)
                shop = meeting.shop(user, sel.shop)
                region = shop.county if shop is not None and shop.county else region
            shown, day_codes, values = meeting.trend(user, region, str(indicator), int(days or 0))
        except (Forbidden, ValueError) as exc:
            return t(lang, "meeting.forbidden").format(why=exc), EMPTY_FIGURE
        name = t(lang, f"meeting.ind.{shown}")
        title = t(lang, "meeting.trend").format(indicator=name)
        if shown != indicator and str(indicator) in INDICATORS:
            wanted = t(lang, f"meeting.ind.{indicator}")
            title = t(lang, "meeting.trend.fallback").format(indicator=name, wanted=wanted)
        return title, trend_figure(shown, day_codes, values, font_px(height))

    return meeting
