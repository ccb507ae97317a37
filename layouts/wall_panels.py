"""The panels around the wall's map: KPI tiles, badges, and the server-rendered ticker, ranking and trend.

Everything upstream-derived is passed to Dash as plain strings (React text nodes), never as HTML.
"""

from __future__ import annotations

import datetime as dt

from dash import html

from alerts.loop import is_overdue
from indicators.wall_figures import CST, SOURCES
from layouts.i18n import CATALOGUES, t
from wf_components import BarsAndLine

KPIS = (  # (key, unit key); the active-licence tile's value is updated clientside by push
    ("active", "wall.kpi.unit"),
    ("inspections", "wall.kpi.inspections.unit"),
    ("coverage", ""),
    ("warnings", "wall.kpi.warnings.unit"),
    ("cases", "wall.kpi.cases.unit"),
    ("cross", "wall.kpi.cross.unit"),
)
HEAT_RAMP = ("#3b1d4a", "#6b21a8", "#a21caf", "#db2777", "#f43f5e", "#fb923c", "#fde047")


def kpi_tile(key: str, unit_key: str, lang: str) -> html.Div:
    """One KPI tile: label, value and a comparison line; the unit is drawn by CSS after the value
    (``data-unit``): every Dash component costs the wall's start and each store update, see docs/wall.md."""
    return html.Div(
        className=f"wall-tile wall-kpi wall-kpi-{key}",
        children=[
            html.Div(t(lang, f"wall.kpi.{key}"), className="wall-kpi-label"),
            html.Div(
                "—",
                id=f"wall-kpi-{key}",
                className="wall-kpi-value",
                **{"data-unit": t(lang, unit_key) if unit_key else ""},
            ),
            html.Div("", id=f"wall-kpi-{key}-sub", className="wall-kpi-sub"),
        ],
    )


def kpi_column(lang: str) -> html.Aside:
    """The column of KPI tiles."""
    return html.Aside(className="wall-kpis", children=[kpi_tile(k, u, lang) for k, u in KPIS])


def source_badges(lang: str) -> html.Div:
    """One freshness badge per upstream source (the licence one keeps the id ``wall-freshness``)."""
    return html.Div(
        className="wall-sources",
        children=[
            html.Div(
                t(lang, "wall.badge.none").format(source=t(lang, f"wall.source.{s}")),
                id="wall-freshness" if s == "licence" else f"wall-fresh-{s}",
                className="wall-badge wall-badge-none",
            )
            for s in SOURCES
        ],
    )


def ranking_rows(rows: list[tuple[int, float]], names: dict[int, str], lang: str, limit: int = 13) -> list:
    """Rows of the ranking: place, name, a bar and the value — one component a row.

    Every mounted Dash component is visited on each store update, and a licence push makes several:
    the place and the value are the row's ``data-no``/``data-value`` (shown by CSS as text), the bar
    its background, sized by ``--fill`` (0.02–1, the top city fills it)."""
    if not rows:
        return [html.Div(t(lang, "wall.ranking.empty"), className="wall-empty")]
    top = max(v for _, v in rows) or 1.0
    return [
        html.Div(
            names.get(a, str(a)),
            className="wall-rank-row",
            style={"--fill": f"{max(0.02, v / top):.2f}"},
            **{"data-no": str(i), "data-value": f"{v:.0f}"},
        )
        for i, (a, v) in enumerate(rows[:limit], 1)
    ]


def _hhmm(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, CST).strftime("%H:%M")


def ticker_items(warnings: list[dict], names: dict[int, str], lang: str, now_ms: int) -> list:
    """Ticker lines, newest first: time, colour+level chip, type, region, overdue tag — three components
    a line (the line, its type and its region)."""
    if not warnings:
        return [html.Div(t(lang, "wall.ticker.empty"), className="wall-empty")]
    out = []
    for w in warnings:
        colour = w.get("colour") if w.get("colour") in ("red", "orange", "yellow", "blue") else "blue"
        kind = str(w.get("type", ""))
        label = t(lang, f"wall.type.{kind}") if f"wall.type.{kind}" in _TYPES else kind
        region = int(w.get("region", 0) or 0)
        chip = t(lang, f"wall.colour.{colour}") + t(lang, f"wall.level.{int(w.get('level', 4))}")
        parts = [
            html.Span(label, className="wall-tick-type", **{"data-chip": chip}),
            html.Span(names.get(region, str(region)), className="wall-tick-region"),
        ]
        # the time, the colour+level chip and the overdue tag are data attributes shown by CSS (fewer
        # components: each is visited on every store update, and a licence push makes several)
        attrs = {"data-id": str(w.get("id", "")), "data-time": _hhmm(int(w.get("raised_at", 0)))}
        if is_overdue(w, now_ms):
            attrs["data-overdue"] = t(lang, "wall.ticker.overdue.tag")
        out.append(html.Div(parts, className=f"wall-tick wall-tick-{colour}", **attrs))
    return out


_TYPES = {k for k in CATALOGUES["zh"] if k.startswith("wall.type.")}


def ticker_head(counts: dict[str, int], overdue: int, lang: str) -> list:
    """The ticker's heading: title, open warnings per colour, overdue count."""
    chips = [
        html.Span(f"{t(lang, f'wall.colour.{c}')} {counts.get(c, 0)}", className=f"wall-chip wall-chip-{c}")
        for c in ("red", "orange", "yellow", "blue")
    ]
    over = html.Span(
        t(lang, "wall.ticker.overdue").format(n=overdue),
        className="wall-tick-overdue" if overdue else "wall-ticker-ok",
    )
    return [
        html.Span(t(lang, "wall.ticker.title"), className="wall-panel-title"),
        html.Span([*chips, over], className="wall-ticker-counts"),
    ]


def trend_svg(trend: dict, lang: str) -> list:
    """Two hourly series as bars (inspections) and a line (new warnings) in a scalable SVG."""
    insp, warn = trend.get("inspections", []), trend.get("warnings", [])
    n = max(len(insp), 1)
    w, h = 240.0, 80.0
    top_i, top_w = max(insp, default=0) or 1, max(warn, default=0) or 1
    bw = w / n
    # all bars as one path (a rectangle per hour), bars and line one component, not 26 — every Dash
    # component on the wall costs each store update, and a licence push makes several
    bars = " ".join(
        f"M{i * bw + bw * 0.12:.1f} {h - v / top_i * (h - 6):.1f}h{bw * 0.76:.1f}V{h:.1f}h{-bw * 0.76:.1f}Z"
        for i, v in enumerate(insp)
        if v > 0
    )
    pts = " ".join(f"{(i + 0.5) * bw:.1f},{h - v / top_w * (h - 6):.1f}" for i, v in enumerate(warn))
    chart = BarsAndLine(
        viewBox=f"0 0 {w:.0f} {h:.0f}", bars=bars, line=pts, className="wall-trend-svg",
        barClassName="wall-trend-bar", lineClassName="wall-trend-line",
    )  # fmt: skip
    legend = html.Div(
        className="wall-trend-legend",
        children=[
            html.Span(
                f"{t(lang, 'wall.trend.inspections')} {sum(insp):,}",
                className="wall-legend-item wall-swatch-bar",
            ),
            html.Span(
                f"{t(lang, 'wall.trend.warnings')} {sum(warn):,}",
                className="wall-legend-item wall-swatch-line",
            ),
        ],
    )
    axis = html.Div(
        [html.Span(t(lang, "wall.trend.start")), html.Span(t(lang, "wall.trend.end"))],
        className="wall-trend-axis",
    )
    return [legend, html.Div(chart, className="wall-trend-chart"), axis]
