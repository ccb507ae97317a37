"""The duty queue: a user's open warnings, filtered and in the loop's order, and its CSV / Excel export.

Pure apart from the one read of :func:`alerts.store.list_open`; the screen (callbacks/duty.py) only
wires these to its components.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable

import redis
from openpyxl import Workbook

from alerts import loop
from alerts.store import in_scope, list_open
from core.auth import User, require_user

CST = dt.timezone(dt.timedelta(hours=8))
EXPORT_FIELDS = (
    "id", "colour", "level", "type", "region", "region_name", "state", "unit", "raised_at",
    "dispatched_at", "due_at", "time_left_hours", "overdue", "escalated_to", "replied_at", "version",
)  # fmt: skip


def matches(w: dict, colour: str | None, state: str | None, kind: str | None, region: int | None) -> bool:
    """Whether the warning passes the queue's filters (None or "" = any)."""
    return (
        (not colour or w["colour"] == colour)
        and (not state or w.get("state", "raised") == state)
        and (not kind or w["type"] == kind)
        and (not region or in_scope(w, int(region)))
    )


def duty_queue(
    r: redis.Redis,
    user: User | None,
    now_ms: int,
    colour: str | None = None,
    state: str | None = None,
    kind: str | None = None,
    region: int | None = None,
    limit: int = 500,
) -> list[dict]:
    """Open warnings the user may see, filtered, red first and then by reply deadline."""
    user = require_user(user)
    found = [w for w in list_open(r, user.scope, limit=10**6) if matches(w, colour, state, kind, region)]
    return sorted(found, key=lambda w: loop.queue_key(w, now_ms))[:limit]


def _stamp(ms: int | None) -> str:
    return "" if ms is None else dt.datetime.fromtimestamp(int(ms) / 1000, CST).strftime("%Y-%m-%d %H:%M:%S")


def export_rows(warnings: list[dict], now_ms: int, name_of: Callable[[int], str]) -> list[list]:
    """One row per warning, in :data:`EXPORT_FIELDS` order (times in CST; hours left may be negative)."""
    rows = []
    for w in warnings:
        left = loop.time_left_ms(w, now_ms)
        rows.append([
            w["id"], w["colour"], w["level"], w["type"], w["region"], name_of(int(w["region"])),
            w.get("state", "raised"), w.get("unit") or "", _stamp(w["raised_at"]),
            _stamp(w.get("dispatched_at")), _stamp(w.get("due_at")),
            "" if left is None else round(left / loop.HOUR_MS, 1),
            "yes" if loop.is_overdue(w, now_ms) else "", w.get("escalated_to") or "",
            _stamp(w.get("replied_at")), w.get("version", 0),
        ])  # fmt: skip
    return rows


def _safe(value: object) -> object:
    """Neutralise spreadsheet formulas in text cells (CSV/formula injection): prefix with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: list[list]) -> str:
    """The rows as CSV with a header line (UTF-8 with BOM is added by the caller for Excel users)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_FIELDS)
    writer.writerows([[_safe(v) for v in row] for row in rows])
    return buf.getvalue()


def to_xlsx(rows: list[list]) -> bytes:
    """The rows as an Excel workbook (one sheet, a header row)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "duty"
    sheet.append(list(EXPORT_FIELDS))
    for row in rows:
        sheet.append([_safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
