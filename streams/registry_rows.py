"""Cell values of a licence registry export → the ``licence.issued`` stream entry of each row.

Used by :mod:`streams.importer`: how registry exports write business types, credit grades, dates,
coordinates and coordinate systems, and the row's idempotent entry id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson

CST = dt.timezone(dt.timedelta(hours=8))
FIELDS = "licence_no holder shop_name address lon lat crs business_type credit_grade valid_from valid_to"
REQUIRED = [f for f in FIELDS.split() if f != "crs"]  # no crs column: importer.default_crs


def _names(table: dict[str, str]) -> dict[str, str]:
    return {name: code for code, names in table.items() for name in names.split()}


#: Business types as registry exports write them (Chinese), and the codes themselves.
BUSINESS_TYPES = _names(
    {
        "grocery": "grocery 食杂店 食杂",
        "convenience": "convenience 便利店",
        "supermarket": "supermarket 超市 商场",
        "tobacco_liquor": "tobacco_liquor 烟酒商店 烟酒店 烟酒商行",
        "kiosk": "kiosk 报刊亭",
        "other": "other 其他 其它",
    }
)
#: Credit grades given as words of a four-level scale (letters: A, a, Ａ, A级, A类).
CREDIT_WORDS = _names({"A": "优秀 优", "B": "良好 良", "C": "中等 一般 中", "D": "较差 差"})
#: Coordinate systems by the start of their (folded) name.
CRS_NAMES = _names({"wgs84": "wgs84 gps", "gcj02": "gcj02 国测局 火星 高德 腾讯", "bd09": "bd09 百度"})
EXCEL_EPOCH = dt.date(1899, 12, 30)


# -- cell values -> payload values ---------------------------------------------------------------


def text(value: Any) -> str | None:
    """A cell as text; None when empty. Whole floats lose their ``.0`` (numbers from Excel)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def number(value: Any) -> float | str | None:
    """A coordinate: a float when it is one, else the text (so validation says what is wrong)."""
    if isinstance(value, (int, float)):
        return float(value)
    raw = text(value)
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return raw


def day(value: Any) -> str | None:
    """A date as ISO text from YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日 or an Excel date/serial."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)) and 1 <= value < 2_958_466:  # an Excel serial day number
        return (EXCEL_EPOCH + dt.timedelta(days=int(value))).isoformat()
    raw = text(value)
    if raw is None:
        return None
    cleaned = raw.split(" ")[0].split("T")[0]  # "2024-01-01 00:00:00" after a spreadsheet round trip
    for sep in "/.年月":
        cleaned = cleaned.replace(sep, "-")
    parts = cleaned.rstrip("日").split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        try:
            return dt.date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
        except ValueError:
            pass
    return raw  # validation names the field and what is wrong


def fold(raw: str) -> str:
    """Full-width ASCII to half-width, lower case, no separators: "ＧＣＪ-02" -> "gcj02"."""
    half = "".join(chr(ord(c) - 0xFEE0) if "！" <= c <= "～" else c for c in raw)
    return half.lower().replace("-", "").replace("_", "").replace(" ", "")


def business_type(value: Any) -> str | None:
    """The business type code of a Chinese name or a code; anything else is kept as given."""
    raw = text(value)
    return None if raw is None else BUSINESS_TYPES.get(raw) or BUSINESS_TYPES.get(fold(raw)) or raw


def credit_grade(value: Any) -> str | None:
    """A credit grade A–D from "A", "a", "Ａ", "A级", "A类" or 优秀/良好/中等/较差."""
    raw = text(value)
    if raw is None:
        return None
    letter = fold(raw).removesuffix("级").removesuffix("类").upper()
    return letter if letter in ("A", "B", "C", "D") else CREDIT_WORDS.get(raw, raw)


def crs(value: Any, default: str) -> str:
    """A coordinate system code; an empty cell (or no such column) means ``default``."""
    raw = text(value)
    if raw is None:
        return default
    folded = fold(raw)
    return next((code for name, code in CRS_NAMES.items() if folded.startswith(name)), raw)


def row_entry(values: dict[str, Any], default_crs: str, now: str) -> dict[str, str]:
    """The stream entry of one row (field -> cell); empty cells are left out ("Field required")."""
    data: dict[str, Any] = {
        "licence_no": text(values.get("licence_no")),
        "holder": text(values.get("holder")),
        "shop_name": text(values.get("shop_name")),
        "address": text(values.get("address")),
        "business_type": business_type(values.get("business_type")),
        "credit_grade": credit_grade(values.get("credit_grade")),
        "valid_from": day(values.get("valid_from")),
        "valid_to": day(values.get("valid_to")),
    }
    point = {"lon": number(values.get("lon")), "lat": number(values.get("lat"))}
    data = {k: v for k, v in data.items() if v is not None}
    data["point"] = {k: v for k, v in point.items() if v is not None} | {
        "crs": crs(values.get("crs"), default_crs)
    }
    body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    try:
        occurred = dt.date.fromisoformat(data.get("valid_from", "")).isoformat() + "T00:00:00+08:00"
    except ValueError:
        occurred = now  # the row is rejected for its valid_from anyway; keep that the reason
    return {
        "id": "import-" + hashlib.sha1(body).hexdigest(),
        "type": "licence.issued",
        "occurred_at": occurred,
        "data": body.decode(),
    }
