"""Builders of upstream stream entries for tests (valid by default; override any field)."""

from __future__ import annotations

import itertools
from typing import Any

import orjson

_ids = itertools.count(1)

# Xuanwu district seat, Nanjing (WGS-84): inside county 320102 of the derived demo regions.
NANJING = (118.7918, 32.0507)


def issued_data(
    licence_no: str = "320102000001",
    lon: float = NANJING[0],
    lat: float = NANJING[1],
    crs: str = "wgs84",
    **over: Any,
) -> dict[str, Any]:
    """The ``data`` of a valid ``licence.issued`` event."""
    data = {
        "licence_no": licence_no,
        "holder": "王建国",
        "shop_name": "王记便利店",
        "address": "玄武区中山路1号",
        "point": {"lon": lon, "lat": lat, "crs": crs},
        "business_type": "convenience",
        "credit_grade": "A",
        "valid_from": "2024-01-01",
        "valid_to": "2029-01-01",
    }
    data.update(over)
    return data


def entry(
    kind: str = "licence.issued",
    data: dict[str, Any] | None = None,
    *,
    event_id: str | None = None,
    occurred_at: str = "2026-11-21T09:00:00+08:00",
) -> dict[str, Any]:
    """A stream entry (the four envelope fields) ready for XADD."""
    return {
        "id": event_id or f"test-{next(_ids)}",
        "type": kind,
        "occurred_at": occurred_at,
        "data": orjson.dumps(data if data is not None else issued_data()),
    }
