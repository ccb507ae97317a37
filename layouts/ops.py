"""``/ops``: the operator screen. Dark like the wall, sized in vh so it reads the same at 1920x1080 and 4K.

Two panels: one row per upstream source (freshness, rates, consumer-group lag, pending, stream length,
dead letters), and the dead letters, newest first, with their reason and the original entry as text.
The page polls every :data:`REFRESH_MS` (a table of counters; push is for the wall). This module
builds components only; ``callbacks/ops.py`` fills them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from dash import dcc, html

from core.settings import Settings
from layouts.i18n import t
from streams.ops import SourceStats
from streams.schema import SOURCES

#: poll interval of the screen (ms)
REFRESH_MS = 3000
#: dead letters shown at first, and added by "show more"
PAGE = 50
#: times are shown in China Standard Time (UTC+8, no daylight saving), like the events' offsets
CST = dt.timezone(dt.timedelta(hours=8))

COLUMNS = ("source", "received", "ingested", "minute", "hour", "lag", "pending", "idle", "length", "dead")


def clock(lang: str, ms: int | None, now_ms: int) -> str:
    """``HH:MM:SS`` in CST (with the date when not today), or ``—``."""
    if ms is None:
        return t(lang, "ops.none")
    when, today = (dt.datetime.fromtimestamp(v / 1000, CST) for v in (ms, now_ms))
    return when.strftime("%H:%M:%S" if when.date() == today.date() else "%m-%d %H:%M")


def stamp(lang: str, ms: int | None) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in CST, or ``—`` (dead letters: a fixed time, no ticking age)."""
    if ms is None:
        return t(lang, "ops.none")
    return dt.datetime.fromtimestamp(ms / 1000, CST).strftime("%Y-%m-%d %H:%M:%S")


def duration(lang: str, ms: int) -> str:
    """A duration in the largest whole unit: ``12 秒``, ``5 分钟``, ``3 小时``."""
    s = max(ms, 0) // 1000
    if s < 120:
        return t(lang, "unit.seconds").format(n=s)
    if s < 7200:
        return t(lang, "unit.minutes").format(n=s // 60)
    return t(lang, "unit.hours").format(n=s // 3600)


def age(lang: str, ms: int | None, now_ms: int) -> str:
    """``12 秒前`` / ``12 s ago``, or empty when unknown."""
    return "" if ms is None else t(lang, "ops.ago").format(age=duration(lang, now_ms - ms))


def _cell(main: str, sub: str = "", cls: str = "") -> html.Td:
    children: list[Any] = [html.Div(main, className="ops-main")]
    if sub:
        children.append(html.Div(sub, className="ops-sub"))
    return html.Td(children, className=f"ops-cell {cls}".strip())


def _count(lang: str, n: int | None, lower_bound: bool = False) -> str:
    if n is None:
        return t(lang, "ops.none")
    return t(lang, "ops.atleast").format(n=f"{n:,}") if lower_bound else f"{n:,}"


def source_row(s: SourceStats, lang: str, now_ms: int, idle_warn_ms: int) -> html.Tr:
    """One source's figures; warning colours on lag, pending, a pending entry idle longer than
    ``idle_warn_ms`` and dead letters."""
    basis = t(lang, f"ops.basis.{s.rate_basis}")
    if not s.group:
        lag = _cell(t(lang, "ops.nogroup"), "", "ops-muted")
    else:
        lag = _cell(_count(lang, s.lag, not s.lag_exact), "", "ops-warn" if s.lag else "")
    idle = s.oldest_pending_idle_ms
    return html.Tr(
        id=f"ops-source-{s.source}",
        className="ops-source",
        children=[
            _cell(t(lang, f"ops.source.{s.source}"), s.stream, "ops-name"),
            _cell(clock(lang, s.last_entry_ms, now_ms), age(lang, s.last_entry_ms, now_ms)),
            _cell(clock(lang, s.last_ingest_ms, now_ms), age(lang, s.last_ingest_ms, now_ms)),
            _cell(_count(lang, s.per_minute, s.minute_capped), basis, "ops-num"),
            _cell(_count(lang, s.per_hour, s.hour_capped), basis, "ops-num"),
            lag,
            _cell(_count(lang, s.pending), "", "ops-warn" if s.pending else ""),
            _cell(
                t(lang, "ops.none") if idle is None else duration(lang, idle),
                "",
                "ops-alert" if idle is not None and idle > idle_warn_ms else "",
            ),
            _cell(_count(lang, s.length), "", "ops-num"),
            _cell(_count(lang, s.dead), "", "ops-alert" if s.dead else ""),
        ],
    )


def source_table(stats: list[SourceStats], lang: str, now_ms: int, idle_warn_ms: int) -> html.Table:
    """The sources panel's table."""
    head = html.Tr([html.Th(t(lang, f"ops.col.{c}"), className=f"ops-th-{c}") for c in COLUMNS])
    return html.Table(
        className="ops-table",
        children=[html.Thead(head), html.Tbody([source_row(s, lang, now_ms, idle_warn_ms) for s in stats])],
    )


def entry_text(entry_json: str) -> str:
    """The original entry, one ``field: value`` per line (``data`` left exactly as it was sent)."""
    try:
        fields = orjson.loads(entry_json)
    except orjson.JSONDecodeError:
        return entry_json
    if not isinstance(fields, dict):
        return entry_json
    return "\n".join(f"{k}: {v}" for k, v in fields.items())


def dead_row(letter: dict[str, Any], lang: str, admin: bool, selected: bool) -> html.Div:
    """One dead letter: source, time, ids, reason, the entry as plain text; re-drive controls for admins."""
    dead_id = letter["id"]
    at_ms = int(letter.get("at_ms") or 0) or None
    source = letter.get("source", "")
    name = t(lang, f"ops.source.{source}") if source in SOURCES else source
    head: list[Any] = []
    if admin:
        head.append(
            dcc.Checklist(
                id={"type": "ops-dead-select", "id": dead_id},
                options=[{"label": "", "value": dead_id}],
                value=[dead_id] if selected else [],
                className="ops-select",
            )
        )
    head += [
        html.Span(name, className="ops-letter-source"),
        html.Span(stamp(lang, at_ms), className="ops-letter-time"),
        html.Span(
            t(lang, "ops.dead.ids").format(entry=letter.get("entry_id", ""), dead=dead_id),
            className="ops-letter-ids",
        ),
    ]
    if admin:
        head.append(
            html.Button(
                t(lang, "ops.dead.redrive"),
                id={"type": "ops-redrive-one", "id": dead_id},
                className="ops-button ops-redrive-one",
            )
        )
    return html.Div(
        className="ops-letter",
        **{"data-dead-id": dead_id, "data-source": source},
        children=[
            html.Div(head, className="ops-letter-head"),
            html.Div(letter.get("reason", ""), className="ops-letter-reason"),
            html.Pre(children=entry_text(letter.get("entry", "")), className="ops-letter-entry"),
        ],
    )


def filter_options(lang: str, counts: dict[str, int]) -> list[dict[str, str]]:
    """The source filter: all sources, then each source with its number of dead letters."""
    option = t(lang, "ops.dead.option")
    options = [{"label": option.format(name=t(lang, "ops.dead.all"), n=sum(counts.values())), "value": "all"}]
    for source, n in counts.items():
        options.append({"label": option.format(name=t(lang, f"ops.source.{source}"), n=n), "value": source})
    return options


def layout(settings: Settings, account: Any = None) -> html.Div:
    """Build the ops screen skeleton; the callbacks fill in the figures on the first tick.

    ``account``: who is signed in and the sign-out button, shown in the header (none in open mode).
    """
    lang = settings.wall.language
    return html.Div(
        id="ops-root",
        className="ops",
        children=[
            dcc.Interval(id="ops-tick", interval=REFRESH_MS),
            dcc.Store(id="ops-dead-limit", data=PAGE),
            dcc.Store(id="ops-dead-sig"),
            dcc.Store(id="ops-redrive-done", data=0),
            html.Header(
                className="ops-header",
                children=[
                    html.H1(t(lang, "ops.title"), className="ops-title"),
                    html.Span(id="ops-role", className="ops-role"),
                    html.Span(id="ops-updated", className="ops-updated"),
                    *([account] if account is not None else []),
                ],
            ),
            html.Section(
                className="ops-panel ops-sources-panel",
                children=[
                    html.H2(t(lang, "ops.sources.title"), className="ops-h2"),
                    html.Div(id="ops-sources", className="ops-sources"),
                ],
            ),
            html.Section(
                className="ops-panel ops-dead-panel",
                children=[
                    html.Div(
                        className="ops-dead-bar",
                        children=[
                            html.H2(t(lang, "ops.dead.title"), className="ops-h2"),
                            dcc.RadioItems(
                                id="ops-dead-filter",
                                options=filter_options(lang, {}),
                                value="all",
                                className="ops-filter",
                                inputClassName="ops-filter-input",
                                labelClassName="ops-filter-label",
                            ),
                            html.Button(
                                t(lang, "ops.dead.redrive_selected"),
                                id="ops-redrive-selected",
                                className="ops-button ops-redrive-selected",
                                hidden=True,
                            ),
                            html.Div(id="ops-message", className="ops-message", role="status"),
                        ],
                    ),
                    html.Div(id="ops-dead-list", className="ops-dead-list"),
                    html.Button(
                        t(lang, "ops.dead.more").format(n=PAGE),
                        id="ops-dead-more",
                        className="ops-button ops-more",
                        hidden=True,
                    ),
                ],
            ),
        ],
    )
