"""``/duty``: the duty officers' screen — the warning queue on the left, the chosen warning on the right.

The queue is ordered by colour, then by reply deadline (:func:`alerts.loop.queue_key`), with filters
and CSV / Excel export. The detail pane shows the facts and evidence as plain text (never HTML), a
small map that flies to the place, the audit trail, and the actions this user may take in the current
state. Sized in vh like the wall. This module builds components only; ``callbacks/duty.py`` fills them.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
from dash import dcc, html
from dash_socketio import DashSocketIO

from alerts import loop
from alerts.store import LEVEL_COLOURS
from core.auth import User
from core.settings import Settings
from geo.boundaries import Regions
from layouts.i18n import t
from layouts.ops import duration, stamp

#: slow tick of the screen (ms). New warnings and other officers' actions arrive by push
#: (``duty-socket``); the tick moves the SLA clocks (shown to the minute) and catches up after a push
#: lost while connected (Socket.IO is at-most-once; a reconnect reloads anyway).
REFRESH_MS = 30_000
TYPES = (
    "corridor_surge", "licence_used_elsewhere", "suspended_licence_receiving_goods",
    "holder_with_several_licences", "case_cluster", "inspection_silence", "coverage_gap", "complaint_spike",
)  # fmt: skip


def clock_text(lang: str, w: dict, now_ms: int) -> tuple[str, str]:
    """(text, css class) of the warning's reply clock: time left, overdue, or not dispatched."""
    left = loop.time_left_ms(w, now_ms)
    if left is None:
        state = w.get("state", "raised")
        return (
            (t(lang, "duty.noclock"), "duty-clock-none") if state in ("raised", "acknowledged") else ("", "")
        )
    if left < 0:
        return t(lang, "duty.overdue").format(time=duration(lang, -left)), "duty-clock-overdue"
    return t(lang, "duty.left").format(time=duration(lang, left)), "duty-clock-left"


def queue_row(w: dict, lang: str, now_ms: int, names: dict[int, str], selected: bool) -> html.Div:
    """One warning in the queue (a clickable row)."""
    clock, clock_cls = clock_text(lang, w, now_ms)
    overdue = loop.is_overdue(w, now_ms) or bool(w.get("overdue") and w.get("state") in loop.CLOCK_STATES)
    cls = f"duty-row duty-{w['colour']}" + (" duty-row-selected" if selected else "")
    cls += " duty-row-overdue" if overdue else ""
    return html.Div(
        id={"type": "duty-row", "id": w["id"]},
        className=cls,
        n_clicks=0,
        **{"data-id": w["id"], "data-state": w.get("state", "raised")},
        children=[
            html.Span(t(lang, f"duty.colour.{w['colour']}"), className="duty-badge"),
            html.Span(t(lang, f"duty.type.{w['type']}"), className="duty-row-type"),
            html.Span(names.get(int(w["region"]), str(w["region"])), className="duty-row-region"),
            html.Span(t(lang, f"duty.state.{w.get('state', 'raised')}"), className="duty-row-state"),
            html.Span(clock, className=f"duty-row-clock {clock_cls}"),
        ],
    )


def audit_list(trail: list[dict], lang: str) -> list[html.Li]:
    """The audit trail, oldest first; notes as text under each line."""
    if not trail:
        return [html.Li(t(lang, "duty.audit.empty"), className="duty-audit-empty")]
    items = []
    for e in trail:
        line = t(lang, "duty.audit.line").format(
            time=stamp(lang, e["at"]), name=e.get("name") or e["by"],
            action=t(lang, f"duty.action.{e['action']}"),
            **{"from": t(lang, f"duty.state.{e['from']}"), "to": t(lang, f"duty.state.{e['to']}")},
        )  # fmt: skip
        children: list[Any] = [html.Div(line, className="duty-audit-line")]
        if e.get("note"):
            children.append(html.Div(e["note"], className="duty-audit-note"))
        items.append(html.Li(children, className=f"duty-audit-item duty-audit-{e['action']}"))
    return items


def action_buttons(actions: list[str], lang: str) -> list[Any]:
    """One button per action the user may take now (or a line saying there is none)."""
    if not actions:
        return [html.Span(t(lang, "duty.none.actions"), className="duty-none")]
    return [
        html.Button(
            t(lang, f"duty.action.{a}"),
            id={"type": "duty-act", "action": a},
            className=f"duty-button duty-act-{a}",
            n_clicks=0,
        )
        for a in actions
    ]


def region_options(regions: Regions, user: User | None, lang: str) -> list[dict]:
    """Filter options: the regions one level below the user's scope (cities, or a city's counties)."""
    names = regions.names()
    scope = str(user.scope) if user is not None else ""
    prefix = scope[:2] if scope.endswith("0000") else scope[:4] if scope.endswith("00") else scope
    frame = regions.cities if scope.endswith("0000") else regions.counties
    codes = [int(a) for a in frame["adcode"] if str(int(a)).startswith(prefix)]
    return [{"label": names[c], "value": c} for c in codes]


def _dropdown(id_: str, options: list[dict], lang: str) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=id_, options=options, value=None, placeholder=t(lang, "duty.filter.any"), className="duty-dropdown"
    )


def filters(lang: str, regions: Regions, user: User | None) -> html.Div:
    """The filter bar with the export buttons."""
    colours = [{"label": t(lang, f"duty.colour.{c}"), "value": c} for c in LEVEL_COLOURS.values()]
    states = [{"label": t(lang, f"duty.state.{s}"), "value": s} for s in loop.STATES if s != "closed"]
    types = [{"label": t(lang, f"duty.type.{k}"), "value": k} for k in TYPES]
    return html.Div(
        className="duty-filters",
        children=[
            html.Label([t(lang, "duty.filter.colour"), _dropdown("duty-f-colour", colours, lang)]),
            html.Label([t(lang, "duty.filter.state"), _dropdown("duty-f-state", states, lang)]),
            html.Label([t(lang, "duty.filter.type"), _dropdown("duty-f-type", types, lang)]),
            html.Label(
                [
                    t(lang, "duty.filter.region"),
                    _dropdown("duty-f-region", region_options(regions, user, lang), lang),
                ]
            ),
            html.Button(t(lang, "duty.export.csv"), id="duty-export-csv", className="duty-button"),
            html.Button(t(lang, "duty.export.xlsx"), id="duty-export-xlsx", className="duty-button"),
            dcc.Download(id="duty-download"),
        ],
    )


def _map(regions: Regions) -> dl.MapContainer:
    west, south, east, north = regions.province.total_bounds
    return dl.MapContainer(
        id="duty-map",
        center=[(south + north) / 2, (west + east) / 2],
        zoom=6.5,
        zoomSnap=0.1,
        attributionControl=False,
        className="duty-map",
        style={"width": "100%", "height": "100%"},
        children=[
            dl.GeoJSON(
                url="/geo/county.geojson",
                style={"variable": "wf.map.boundaryStyle"},
                hideout={"color": "#4f86c6", "weight": 0.8},
                interactive=False,
            ),  # fmt: skip
            dl.LayerGroup(id="duty-marker"),
        ],
    )


def layout(settings: Settings, regions: Regions, user: User | None, account: Any = None) -> html.Div:
    """Build the duty screen skeleton; the callbacks fill the queue and the detail pane."""
    lang = settings.wall.language
    return html.Div(
        id="duty-root",
        className="duty",
        children=[
            DashSocketIO(id="duty-socket", eventNames=["warnings"]),
            dcc.Interval(id="duty-tick", interval=REFRESH_MS),
            dcc.Store(id="duty-selected"),
            dcc.Store(id="duty-version"),
            dcc.Store(id="duty-done", data=0),
            dcc.Store(id="duty-queue-sig"),
            html.Header(
                className="duty-header",
                children=[
                    html.H1(t(lang, "duty.title"), className="duty-title"),
                    html.Span(id="duty-role", className="duty-role"),
                    html.Span(id="duty-updated", className="duty-updated"),
                    *([account] if account is not None else []),
                ],
            ),
            filters(lang, regions, user),
            html.Section(
                className="duty-panel duty-queue-panel",
                children=[
                    html.H2(id="duty-queue-title", className="duty-h2"),
                    html.Div(id="duty-queue", className="duty-queue"),
                ],
            ),
            html.Section(
                className="duty-panel duty-detail",
                children=[
                    html.H2(t(lang, "duty.pick"), id="duty-detail-title", className="duty-h2"),
                    html.Div(
                        className="duty-detail-grid",
                        children=[
                            html.Div(
                                className="duty-texts",
                                children=[
                                    html.H3(t(lang, "duty.facts"), className="duty-h3"),
                                    html.Pre(id="duty-facts", className="duty-pre"),
                                    html.H3(t(lang, "duty.evidence"), className="duty-h3"),
                                    html.Pre(id="duty-evidence", className="duty-pre"),
                                ],
                            ),
                            html.Div(_map(regions), className="duty-map-frame"),
                        ],
                    ),
                    html.Div(
                        className="duty-act-bar",
                        children=[
                            html.Label(
                                [
                                    t(lang, "duty.unit"),
                                    dcc.Dropdown(id="duty-unit", className="duty-dropdown", clearable=False),
                                ]
                            ),
                            dcc.Textarea(
                                id="duty-note", placeholder=t(lang, "duty.note"), className="duty-note"
                            ),
                            html.Div(id="duty-actions", className="duty-actions"),
                            html.Div(id="duty-message", className="duty-message", role="status"),
                        ],
                    ),
                    html.H3(t(lang, "duty.audit"), className="duty-h3"),
                    html.Ol(id="duty-audit", className="duty-audit"),
                ],
            ),
        ],
    )
