"""Pieces of ``/meeting`` filled by its callbacks: KPI tiles, breadcrumb, ranking table, plotly figures,
the map's region features, the shop card and the warning list. All text goes in as text nodes
(Dash escapes it); upstream text (shop names, addresses) is never HTML."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from dash import html

from geo.boundaries import Regions
from geo.layers import boundary_geojson
from indicators.briefing import View
from indicators.compare import INDICATORS, KPIS, format_value, level_of
from indicators.shop import Shop
from layouts.i18n import t

CST = dt.timezone(dt.timedelta(hours=8))
TEXT = "#dbe7ff"
MUTED = "#6b85ad"
GRID = "#1e3357"


def stamp(ms: int | None) -> str:
    """Local (UTC+8) ``YYYY-MM-DD HH:MM`` of an epoch-ms time, ``—`` when None."""
    if not ms:
        return "—"
    return dt.datetime.fromtimestamp(ms / 1000, CST).strftime("%Y-%m-%d %H:%M")


def names(regions: Regions, lang: str) -> dict[int, str]:
    """Region names in the screen's language."""
    column = "name" if lang == "zh" else "name_en"
    frames = (regions.province, regions.cities, regions.counties)
    return {int(a): str(n) for f in frames for a, n in zip(f["adcode"], f[column], strict=True)}


def kpi_tiles(view: View, lang: str) -> list[html.Div]:
    """One tile per KPI of the selected region."""
    return [
        html.Div(
            className="meeting-kpi",
            id=f"meeting-kpi-{k}",
            children=[
                html.Div(t(lang, f"meeting.ind.{k}"), className="meeting-kpi-label"),
                html.Div(format_value(k, view.kpis.get(k), lang), className="meeting-kpi-value"),
            ],
        )
        for k in KPIS
    ]


def crumbs(view: View, lang: str, region_names: dict[int, str]) -> list[Any]:
    """The breadcrumb: one button per level from the user's scope down; the shop last (not a button)."""
    out: list[Any] = []
    for i, code in enumerate(view.crumbs):
        if i:
            out.append(html.Span("›", className="meeting-crumb-sep"))
        current = code == view.region and view.shop is None
        out.append(
            html.Button(
                region_names.get(code, str(code)),
                id={"type": "meeting-crumb", "adcode": code},
                className="meeting-crumb" + (" meeting-crumb-current" if current else ""),
                n_clicks=0,
                **{"data-adcode": str(code)},
            )
        )
    if view.shop is not None:
        out.append(html.Span("›", className="meeting-crumb-sep"))
        name = view.shop.record.get("shop_name") or view.shop.licence_no
        out.append(html.Span(str(name), className="meeting-crumb meeting-crumb-current meeting-crumb-shop"))
    return out


def ranking_rows(view: View, lang: str, region_names: dict[int, str]) -> html.Table:
    """The ranking table of the compared regions (a row click drills down into that region)."""
    head = html.Tr([html.Th(t(lang, f"meeting.{k}")) for k in ("rank", "region", "value")])
    rows = [
        html.Tr(
            id={"type": "meeting-rank", "adcode": code},
            n_clicks=0,
            className="meeting-rank-row" + (" meeting-rank-selected" if code == view.region else ""),
            children=[
                html.Td(str(i + 1)),
                html.Td(region_names.get(code, str(code))),
                html.Td(format_value(view.indicator, value, lang)),
            ],
        )
        for i, (code, value) in enumerate(view.peers)
    ]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="meeting-table")


def _layout(px: float, **extra: Any) -> dict:
    return {
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": TEXT, "size": px, "family": "Noto Sans CJK SC, sans-serif"},
        "margin": {"l": px * 0.8, "r": px * 1.2, "t": px * 0.6, "b": px * 0.8},
        "showlegend": False,
        **extra,
    }


def bar_figure(view: View, lang: str, region_names: dict[int, str], px: float) -> dict:
    """Horizontal bars of the compared regions, largest on top; the selected region highlighted."""
    shown = [(c, v) for c, v in view.peers if v is not None][::-1]
    factor = 100 if INDICATORS[view.indicator] == "pct" else 1
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [region_names.get(c, str(c)) for c, _ in shown],
                "x": [v * factor for _, v in shown],
                "text": [format_value(view.indicator, v, lang) for _, v in shown],
                "textposition": "outside",
                "textfont": {"size": px * 0.85, "color": TEXT},
                "cliponaxis": False,
                "marker": {
                    "color": [view.colours[c] for c, _ in shown],
                    "line": {
                        "color": ["#fde047" if c == view.region else "rgba(0,0,0,0)" for c, _ in shown],
                        "width": px / 5,
                    },
                },
                "hoverinfo": "y+text",
            }
        ],
        "layout": _layout(
            px,
            xaxis={
                "gridcolor": GRID,
                "zerolinecolor": GRID,
                "automargin": True,
                "range": [0, max([v * factor for _, v in shown] + [0]) * 1.18 or 1],
            },
            yaxis={"automargin": True, "tickfont": {"size": px * 0.9}},
            bargap=0.25,
        ),
    }


def trend_figure(shown: str, days: list[int], values: list[float | None], px: float) -> dict:
    """A line of the daily values (rates in %); the last day (today, still running) as a hollow marker."""
    factor = 100 if INDICATORS.get(shown) == "pct" else 1
    x = [f"{d // 10000}-{d // 100 % 100:02d}-{d % 100:02d}" for d in days]
    y = [None if v is None else v * factor for v in values]
    today = {
        "type": "scatter", "mode": "markers", "x": x[-1:], "y": y[-1:], "hoverinfo": "x+y",
        "marker": {"size": px * 0.7, "color": "rgba(0,0,0,0)", "line": {"color": "#fde68a", "width": 2}},
    }  # fmt: skip
    x, y = x[:-1], y[:-1]
    return {
        "data": [
            today,
            {
                "type": "scatter",
                "mode": "lines+markers" if len(days) <= 30 else "lines",
                "x": x,
                "y": y,
                "line": {"color": "#38bdf8", "width": max(2, px / 6)},
                "marker": {"size": px / 2.5},
                "fill": "tozeroy",
                "fillcolor": "rgba(56,189,248,0.12)",
            },
        ],
        "layout": _layout(
            px,
            xaxis={"gridcolor": GRID, "automargin": True, "type": "date", "tickformat": "%m-%d"},
            yaxis={"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True, "rangemode": "tozero"},
        ),
    }


_FEATURES: dict[tuple[int, str], dict[int, dict]] = {}


def _features(regions: Regions, level: str) -> dict[int, dict]:
    key = (id(regions), level)
    if key not in _FEATURES:
        collection = orjson.loads(boundary_geojson(regions, level))
        _FEATURES[key] = {int(f["properties"]["adcode"]): f for f in collection["features"]}
    return _FEATURES[key]


def region_layer(view: View, regions: Regions, lang: str, region_names: dict[int, str]) -> dict:
    """GeoJSON of the compared regions, each with its name, value text and choropleth colour."""
    by_code: dict[int, dict] = {}
    for code, value in view.peers:
        level = level_of(code)
        feature = _features(regions, level).get(code)
        if feature is None:
            continue
        by_code[code] = {
            "type": "Feature",
            "geometry": feature["geometry"],
            "properties": {
                "adcode": code,
                "name": region_names.get(code, str(code)),
                "v": format_value(view.indicator, value, lang),
                "fill": view.colours.get(code),
                "sel": code == view.region,
                "dim": level == "county" and code == view.region,  # its shops are drawn on top
            },
        }
    return {"type": "FeatureCollection", "features": list(by_code.values())}


def shop_card(shop: Shop, lang: str, now_ms: int) -> list[Any]:
    """The shop's licence, latest inspection, cases and warnings, as plain text lines."""
    rec = shop.record
    fields = [
        ("licence_no", shop.licence_no),
        ("shop_name", rec.get("shop_name")),
        ("holder", rec.get("holder")),
        ("address", rec.get("address")),
        ("status", t(lang, f"meeting.status.{shop.status}") if shop.status in _STATUSES else shop.status),
        ("business_type", rec.get("business_type")),
        ("credit_grade", rec.get("credit_grade")),
        ("valid", f"{rec.get('valid_from', '—')} ~ {rec.get('valid_to', '—')}"),
    ]
    licence = [
        html.Div(
            [
                html.Span(t(lang, f"meeting.field.{k}"), className="meeting-card-key"),
                html.Span(str(v or "—")),
            ],
            className="meeting-card-line",
        )
        for k, v in fields
    ]
    last = shop.last_inspection_ms
    inspections = [
        t(lang, "meeting.card.last").format(time=stamp(last)) if last else t(lang, "meeting.card.never")
    ]
    if last:
        recent = now_ms - last <= 30 * 86_400_000
        inspections.append(t(lang, "meeting.card.inspected30" if recent else "meeting.card.notinspected30"))
    cases = [
        t(lang, "meeting.card.case").format(
            id=c["id"],
            kind=c.get("kind", ""),
            value=f"{round(c.get('value_cny') or 0):,}",
            status=t(lang, f"meeting.status.{c['status']}") if c.get("status") in ("open", "closed") else "",
            time=str(c.get("opened_at", ""))[:16].replace("T", " "),
        )  # fmt: skip
        for c in shop.cases
    ]
    warnings = [warning_line(w, lang) for w in shop.warnings]
    return [
        _section(t(lang, "meeting.card.licence"), licence),
        _section(t(lang, "meeting.card.inspections"), _lines(inspections, lang)),
        _section(t(lang, "meeting.card.cases"), _lines(cases, lang)),
        _section(t(lang, "meeting.card.warnings"), _lines(warnings, lang)),
    ]


_STATUSES = ("valid", "suspended", "revoked", "expired")


def _lines(texts: list[str], lang: str) -> list[html.Div]:
    texts = texts or [t(lang, "meeting.card.none")]
    return [html.Div(x, className="meeting-card-line") for x in texts]


def _section(title: str, children: list[Any]) -> html.Div:
    return html.Div([html.H3(title, className="meeting-h3"), *children], className="meeting-card-section")


def warning_line(w: dict, lang: str) -> str:
    """One warning as a line of text: colour, type, state, raised time."""
    return t(lang, "meeting.card.warning").format(
        colour=t(lang, f"duty.colour.{w['colour']}"), type=t(lang, f"duty.type.{w['type']}"),
        state=t(lang, f"duty.state.{w.get('state', 'raised')}"), time=stamp(w.get("raised_at")),
    )  # fmt: skip


def warning_list(view: View, lang: str, region_names: dict[int, str]) -> list[html.Div]:
    """The selected region's top open warnings (most severe first)."""
    if not view.warnings:
        return [html.Div(t(lang, "meeting.warnings.none"), className="meeting-none")]
    return [
        html.Div(
            className=f"meeting-warning meeting-{w['colour']}",
            children=[
                html.Span(t(lang, f"duty.colour.{w['colour']}"), className="meeting-warning-colour"),
                html.Span(t(lang, f"duty.type.{w['type']}"), className="meeting-warning-type"),
                html.Span(
                    region_names.get(int(w["region"]), str(w["region"])), className="meeting-warning-region"
                ),
                html.Span(stamp(w.get("raised_at")), className="meeting-warning-time"),
            ],
        )
        for w in view.warnings
    ]
