"""Message catalogues: every piece of text a screen shows, in Chinese (default) and English."""

from __future__ import annotations

CATALOGUES: dict[str, dict[str, str]] = {
    "zh": {
        "wall.title": "江苏省烟草专卖市场监管指挥中心",
        "wall.kpi.active": "有效零售许可证",
        "wall.kpi.density": "每千人许可证",
        "wall.kpi.density.unit": "张/千人",
        "wall.kpi.unit": "张",
        "wall.fresh": "数据更新于 {age} 前",
        "wall.stale": "数据停滞，自 {time} 起",
        "wall.nodata": "尚无数据",
        "wall.connection.lost": "连接中断，正在重连…",
        "wall.legend.cells": "网格内有效许可证数",
        "wall.legend.valid": "有效",
        "wall.legend.suspended": "暂停",
        "wall.legend.revoked": "吊销",
        "wall.legend.expired": "过期",
        "wall.credit": "示意区划（近似，非官方边界）· 边界：DCW-GMT（GMT Team，LGPL-3.0）"
        "· 县级驻地：cpca（MIT）",
        "wall.credit.official": "行政区划：官方边界数据",
        "unit.seconds": "{n} 秒",
        "unit.minutes": "{n} 分钟",
        "unit.hours": "{n} 小时",
        "page.notfound": "页面不存在",
    },
    "en": {
        "wall.title": "Jiangsu Tobacco Market Supervision Command Centre",
        "wall.kpi.active": "Active retail licences",
        "wall.kpi.density": "Licences per 1,000 residents",
        "wall.kpi.density.unit": "per 1,000",
        "wall.kpi.unit": "",
        "wall.fresh": "Data updated {age} ago",
        "wall.stale": "Data stale since {time}",
        "wall.nodata": "No data yet",
        "wall.connection.lost": "Connection lost, reconnecting…",
        "wall.legend.cells": "Active licences per cell",
        "wall.legend.valid": "Valid",
        "wall.legend.suspended": "Suspended",
        "wall.legend.revoked": "Revoked",
        "wall.legend.expired": "Expired",
        "wall.credit": "Approximate demo regions (not official boundaries) · Boundaries: DCW-GMT "
        "(GMT Team, LGPL-3.0) · Seats: cpca (MIT)",
        "wall.credit.official": "Boundaries: official boundary files",
        "unit.seconds": "{n} s",
        "unit.minutes": "{n} min",
        "unit.hours": "{n} h",
        "page.notfound": "No such page",
    },
}


def t(lang: str, key: str) -> str:
    """The text of ``key`` in ``lang``; a missing key is a bug, so it raises KeyError."""
    return CATALOGUES[lang][key]


def catalogue(lang: str, prefix: str = "") -> dict[str, str]:
    """All texts of ``lang`` whose key starts with ``prefix`` (sent to clientside callbacks)."""
    return {k: v for k, v in CATALOGUES[lang].items() if k.startswith(prefix)}
