"""Wiring of ``/ops``: poll the figures every few seconds; re-drive dead letters (admins only).

Every callback asks ``user_of()`` who is asking and checks the province scope (ops figures are
province-wide); the re-drive also checks the admin role here, on the server, whatever the page shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import dash
import redis
from dash import ALL, Input, Output, State, ctx, html, no_update

from core import keys
from core.auth import Forbidden, User, require_role, require_view
from core.settings import Settings
from layouts.i18n import t
from layouts.ops import PAGE, clock, dead_row, filter_options, source_table
from streams.deadletter import list_dead_letters, redrive
from streams.ops import source_stats
from streams.schema import SOURCES

#: the "show more" button stops growing the list here
MAX_SHOWN = 1000


def _now_ms() -> int:
    return int(time.time() * 1000)


def redrive_letters(r: redis.Redis, settings: Settings, user: User, dead_ids: list[str]) -> str:
    """Re-drive ``dead_ids`` if ``user`` is an admin with the province in scope; the message to show."""
    lang = settings.wall.language
    try:
        require_view(user, settings.geo.province_adcode)
    except Forbidden:
        return t(lang, "ops.forbidden.view")
    try:
        require_role(user, "admin")
    except Forbidden:
        return t(lang, "ops.forbidden.redrive").format(role=t(lang, f"ops.role.{user.role}"))
    if not dead_ids:
        return t(lang, "ops.redrive.nothing")
    result = redrive(r, dead_ids, who=user.name)
    parts = [t(lang, "ops.redrive.done").format(n=len(result.redriven))]
    if result.missing:
        parts.append(t(lang, "ops.redrive.missing").format(n=len(result.missing)))
    if result.failed:
        why = "; ".join(f"{k}: {v}" for k, v in result.failed.items())[:300]
        parts.append(t(lang, "ops.redrive.failed").format(n=len(result.failed), why=why))
    return " ".join(parts)


def pressed_ids(triggered_id: Any, value: Any, selections: list[list[str] | None]) -> list[str] | None:
    """The dead ids a button press asks for (None: no real press, e.g. a button just rendered)."""
    if not value:
        return None
    if isinstance(triggered_id, dict):
        return [str(triggered_id.get("id"))]
    if triggered_id == "ops-redrive-selected":
        return [i for values in selections or [] for i in values or []]
    return None


def dead_view(
    r: redis.Redis, lang: str, user: User, source: str, limit: int, selected: set[str]
) -> tuple[list[Any], list[Any], bool]:
    """(rows, signature, more hidden) of the dead-letter list for the filter and limit."""
    admin = user.role == "admin"
    letters = list_dead_letters(r, None if source == "all" else source, count=limit)
    sig = [source, limit, int(r.xlen(keys.DEAD)), letters[0]["id"] if letters else None, admin]
    rows = [dead_row(x, lang, admin, x["id"] in selected) for x in letters]
    if not rows:
        rows = [html.Div(t(lang, "ops.dead.empty"), className="ops-empty")]
    return rows, sig, len(letters) < limit or limit >= MAX_SHOWN


def role_text(lang: str, user: User) -> str:
    """Who is looking, and what they may do."""
    text = t(lang, "ops.role").format(role=t(lang, f"ops.role.{user.role}"))
    return text if user.role == "admin" else f"{text} · {t(lang, 'ops.admin_only')}"


def register(app: dash.Dash, settings: Settings, r: redis.Redis, user_of: Callable[[], User]) -> None:
    """Wire the ops screen's callbacks."""
    lang, province = settings.wall.language, settings.geo.province_adcode

    @app.callback(
        Output("ops-sources", "children"),
        Output("ops-updated", "children"),
        Output("ops-dead-filter", "options"),
        Input("ops-tick", "n_intervals"),
    )
    def refresh_sources(_n: int | None):
        try:
            require_view(user_of(), province)
        except Forbidden:
            return html.Div(t(lang, "ops.forbidden.view"), className="ops-forbidden"), "", no_update
        now_ms = _now_ms()
        stats = source_stats(r, SOURCES, settings.consumer.group, now_ms)
        updated = t(lang, "ops.updated").format(time=clock(lang, now_ms, now_ms))
        return (
            source_table(stats, lang, now_ms, settings.consumer.claim_idle_ms),
            updated,
            filter_options(lang, {s.source: s.dead for s in stats}),
        )

    @app.callback(
        Output("ops-dead-limit", "data"),
        Input("ops-dead-filter", "value"),
        Input("ops-dead-more", "n_clicks"),
        State("ops-dead-limit", "data"),
        prevent_initial_call=True,
    )
    def set_limit(_source: str, _more: int | None, limit: int | None):
        require_view(user_of(), province)
        return min((limit or PAGE) + PAGE, MAX_SHOWN) if ctx.triggered_id == "ops-dead-more" else PAGE

    @app.callback(
        Output("ops-dead-list", "children"),
        Output("ops-dead-sig", "data"),
        Output("ops-dead-more", "hidden"),
        Output("ops-redrive-selected", "hidden"),
        Output("ops-role", "children"),
        Input("ops-tick", "n_intervals"),
        Input("ops-dead-filter", "value"),
        Input("ops-dead-limit", "data"),
        Input("ops-redrive-done", "data"),
        State({"type": "ops-dead-select", "id": ALL}, "value"),
        State("ops-dead-sig", "data"),
    )
    def refresh_dead(_n, source: str, limit: int, _done, selections: list, sig: list | None):
        user = user_of()
        try:
            require_view(user, province)
        except Forbidden:
            return html.Div(t(lang, "ops.forbidden.view"), className="ops-forbidden"), None, True, True, ""
        selected = {i for values in selections or [] for i in values or []}
        rows, new_sig, more_hidden = dead_view(r, lang, user, source or "all", limit or PAGE, selected)
        if new_sig == sig and ctx.triggered_id != "ops-redrive-done":
            return no_update, no_update, no_update, no_update, no_update  # unchanged: keep the DOM
        return rows, new_sig, more_hidden, user.role != "admin", role_text(lang, user)

    @app.callback(
        Output("ops-message", "children"),
        Output("ops-redrive-done", "data"),
        Input({"type": "ops-redrive-one", "id": ALL}, "n_clicks"),
        Input("ops-redrive-selected", "n_clicks"),
        State({"type": "ops-dead-select", "id": ALL}, "value"),
        State("ops-redrive-done", "data"),
        prevent_initial_call=True,
    )
    def press_redrive(_one, _selected, selections: list, done: int | None):
        trigger = ctx.triggered[0] if ctx.triggered else {}
        ids = pressed_ids(ctx.triggered_id, trigger.get("value"), selections)
        if ids is None:
            return no_update, no_update
        return redrive_letters(r, settings, user_of(), ids), (done or 0) + 1
