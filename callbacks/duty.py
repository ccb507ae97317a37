"""Wiring of ``/duty``: the queue (refreshed on push), the detail pane, the actions, the export.

Every callback asks ``user_of()`` who is asking; reading goes through :mod:`alerts.queue` /
:func:`alerts.actions.read_for` (scope checked there) and acting through
:func:`alerts.actions.transition`, which checks role, scope, state and version on the server
whatever the page shows. The queue and the pane re-read on every ``warnings`` push of the user's
region (``duty-socket``, relayed by ``core/push.py``), on every (re)connect (a snapshot: pushes are
at-most-once), and on a slow tick (``layouts.duty.REFRESH_MS``) that moves the SLA clocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import dash
import dash_leaflet as dl
import redis
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from alerts import loop
from alerts.actions import Conflict, InvalidAction, NotFound, audit_trail, read_for, transition
from alerts.queue import duty_queue, export_rows, to_csv, to_xlsx
from core.auth import Forbidden, User, can_view
from core.settings import Settings
from geo.boundaries import Regions
from layouts.duty import action_buttons, audit_list, queue_row
from layouts.duty_facts import evidence_text, facts_text, marker_tip
from layouts.i18n import t
from layouts.ops import clock, stamp


def _now_ms() -> int:
    return int(time.time() * 1000)


def act_message(lang: str, exc: Exception) -> str:
    """What to tell the officer when an action was refused."""
    if isinstance(exc, Conflict):
        return t(lang, "duty.conflict").format(
            name=exc.by_name or exc.by,
            time=stamp(lang, exc.at),
            action=t(lang, f"duty.action.{exc.action}") if exc.action else "",
            state=t(lang, f"duty.state.{exc.state}"),
        )
    if isinstance(exc, Forbidden):
        return t(lang, "duty.forbidden").format(why=exc)
    if isinstance(exc, NotFound):
        return t(lang, "duty.notfound")
    return t(lang, "duty.invalid").format(why=exc)


def register(
    app: dash.Dash, settings: Settings, r: redis.Redis, regions: Regions, user_of: Callable[[], User | None]
) -> None:
    """Wire the duty screen's callbacks."""
    lang = settings.wall.language
    names = regions.names()
    seats = {
        int(a): (float(la), float(lo))
        for f in (regions.cities, regions.counties)
        for a, lo, la in zip(f["adcode"], f["seat_lon"], f["seat_lat"], strict=True)
    }

    @app.callback(
        Output("duty-queue", "children"),
        Output("duty-queue-title", "children"),
        Output("duty-updated", "children"),
        Output("duty-role", "children"),
        Output("duty-queue-sig", "data"),
        Input("duty-tick", "n_intervals"),
        Input("duty-socket", "data-warnings"),
        Input("duty-socket", "connected"),
        Input("duty-f-colour", "value"),
        Input("duty-f-state", "value"),
        Input("duty-f-type", "value"),
        Input("duty-f-region", "value"),
        Input("duty-done", "data"),
        Input("duty-selected", "data"),
        State("duty-queue-sig", "data"),
    )
    def refresh_queue(_n, _push, _connected, colour, state, kind, region, _done, selected, sig):
        user = user_of()
        now_ms = _now_ms()
        try:
            found = duty_queue(r, user, now_ms, colour, state, kind, region)
        except Forbidden as exc:
            return html.Div(str(exc), className="duty-forbidden"), "", "", "", None
        # rebuild the rows only when something shown changed (clocks tick by the minute)
        new_sig = [selected, [(w["id"], w.get("version", 0), (loop.time_left_ms(w, now_ms) or 0) // 60000)
                              for w in found]]  # fmt: skip
        updated = t(lang, "duty.updated").format(time=clock(lang, now_ms, now_ms))
        role = t(lang, "duty.role").format(role=t(lang, f"ops.role.{user.role}"))
        if new_sig == sig:
            return no_update, no_update, updated, role, no_update
        rows = [queue_row(w, lang, now_ms, names, w["id"] == selected) for w in found]
        rows = rows or [html.Div(t(lang, "duty.empty"), className="duty-empty")]
        return rows, t(lang, "duty.queue").format(n=len(found)), updated, role, new_sig

    @app.callback(
        Output("duty-selected", "data"),
        Output("duty-message", "children", allow_duplicate=True),
        Input({"type": "duty-row", "id": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def select(clicks):
        trigger = ctx.triggered[0] if ctx.triggered else {}
        if not isinstance(ctx.triggered_id, dict) or not trigger.get("value"):
            return no_update, no_update  # rows re-rendered, not clicked
        try:
            read_for(r, str(ctx.triggered_id.get("id")), user_of())  # only a warning the user may see
        except (Forbidden, NotFound) as exc:
            return no_update, act_message(lang, exc)
        return ctx.triggered_id["id"], ""

    @app.callback(
        Output("duty-detail-title", "children"),
        Output("duty-facts", "children"),
        Output("duty-evidence", "children"),
        Output("duty-audit", "children"),
        Output("duty-actions", "children"),
        Output("duty-unit", "options"),
        Output("duty-unit", "value"),
        Output("duty-map", "viewport"),
        Output("duty-marker", "children"),
        Output("duty-version", "data"),
        Input("duty-selected", "data"),
        Input("duty-done", "data"),
        Input("duty-tick", "n_intervals"),
        Input("duty-socket", "data-warnings"),
        State("duty-version", "data"),
    )
    def detail(wid, _done, _n, _push, shown):
        if not wid:
            return (no_update,) * 10
        user = user_of()
        try:
            w = read_for(r, wid, user)
            trail = audit_trail(r, wid, user)
        except (Forbidden, NotFound) as exc:
            return act_message(lang, exc), "", "", [], [], [], None, no_update, [], None
        version = [wid, w.get("version", 0)]
        if ctx.triggered_id in ("duty-tick", "duty-socket") and version == shown:
            return (no_update,) * 10  # nothing changed: keep the note being typed and the map where it is
        parts = (
            f"duty.colour.{w['colour']}",
            f"duty.type.{w['type']}",
            f"duty.state.{w.get('state', 'raised')}",
        )
        title = " · ".join(t(lang, p) for p in parts)
        # dispatch to the warning's own region or the unit above it, whichever the user may act for
        candidates = [c for c in (int(w["region"]), loop.parent_unit(int(w["region"]))) if c]
        units = [{"label": f"{names.get(c, c)} ({c})", "value": c} for c in candidates if can_view(user, c)]
        place = w.get("place")
        lat, lon = (place["lat"], place["lon"]) if place else seats.get(int(w["region"]), (32.9, 119.5))
        viewport = no_update
        # the tooltip is a React text child: upstream text (a holder's name) stays text, never HTML
        tip = dl.Tooltip(marker_tip(w, lang, names))
        marker = [
            dl.CircleMarker(center=[lat, lon], radius=10, color=w["colour"], fillOpacity=0.6, children=tip)
        ]
        # move only when the officer picks a warning, and without animation: an animated flyTo that a
        # refresh interrupts leaves Leaflet's layers scaled mid-flight (seen in headless Chromium)
        if ctx.triggered_id == "duty-selected" and (shown is None or shown[0] != wid):
            viewport = {
                "center": [lat, lon],
                "zoom": 11 if place else 9,
                "transition": "setView",
                "options": {"animate": False},
            }
        allowed = loop.allowed_actions(w.get("state", "raised"), user.role)
        return (
            title, facts_text(w, lang, names), evidence_text(w, lang), audit_list(trail, lang),
            action_buttons(allowed, lang), units, units[0]["value"] if units else None,
            viewport, marker, version,
        )  # fmt: skip

    @app.callback(
        Output("duty-message", "children"),
        Output("duty-done", "data"),
        Output("duty-note", "value"),
        Input({"type": "duty-act", "action": ALL}, "n_clicks"),
        State("duty-selected", "data"),
        State("duty-version", "data"),
        State("duty-note", "value"),
        State("duty-unit", "value"),
        State("duty-done", "data"),
        prevent_initial_call=True,
    )
    def act(_clicks, wid, version, note, unit, done):
        trigger = ctx.triggered[0] if ctx.triggered else {}
        if not isinstance(ctx.triggered_id, dict) or not trigger.get("value") or not wid or not version:
            return no_update, no_update, no_update
        action = ctx.triggered_id["action"]
        fields = {"unit": unit} if action == "dispatch" and unit else {}
        try:
            w = transition(r, wid, action, user_of(), version[1], note or "", None, settings.loop, **fields)
        except Conflict as exc:
            return act_message(lang, exc), (done or 0) + 1, no_update  # refresh to the winner's state
        except InvalidAction as exc:
            if "needs a note" in str(exc):
                return t(lang, "duty.note.required"), no_update, no_update
            return act_message(lang, exc), (done or 0) + 1, no_update
        except (Forbidden, NotFound) as exc:
            return act_message(lang, exc), no_update, no_update
        message = t(lang, "duty.done").format(
            action=t(lang, f"duty.action.{action}"), state=t(lang, f"duty.state.{w['state']}")
        )
        return message, (done or 0) + 1, ""

    @app.callback(
        Output("duty-download", "data"),
        Input("duty-export-csv", "n_clicks"),
        Input("duty-export-xlsx", "n_clicks"),
        State("duty-f-colour", "value"),
        State("duty-f-state", "value"),
        State("duty-f-type", "value"),
        State("duty-f-region", "value"),
        prevent_initial_call=True,
    )
    def export(_csv, _xlsx, colour, state, kind, region):
        now_ms = _now_ms()
        found = duty_queue(r, user_of(), now_ms, colour, state, kind, region)  # Forbidden: nothing sent
        rows = export_rows(found, now_ms, lambda c: names.get(c, str(c)))
        name = f"duty-{stamp(lang, now_ms).replace(' ', '-').replace(':', '')}"
        if ctx.triggered_id == "duty-export-xlsx":
            return dcc.send_bytes(to_xlsx(rows), f"{name}.xlsx")
        return dcc.send_string("\ufeff" + to_csv(rows), f"{name}.csv")  # BOM: Excel reads it as UTF-8
