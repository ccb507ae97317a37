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


def inspection_data(
    inspection_id: str = "insp-1",
    licence_no: str = "320102000001",
    outcome: str = "ok",
    finished: str = "2026-11-21T10:30:00+08:00",
    **over: Any,
) -> dict[str, Any]:
    """The ``data`` of a valid ``inspection.completed`` event at Xuanwu."""
    data = {
        "inspection_id": inspection_id,
        "licence_no": licence_no,
        "inspector": "李明",
        "unit": "玄武区烟草专卖局稽查大队",
        "point": {"lon": NANJING[0], "lat": NANJING[1], "crs": "wgs84"},
        "started_at": "2026-11-21T10:00:00+08:00",
        "finished_at": finished,
        "outcome": outcome,
        "issue_codes": ["B03"] if outcome == "issues_found" else [],
    }
    data.update(over)
    return data


def case_data(case_id: str = "case-1", **over: Any) -> dict[str, Any]:
    """The ``data`` of a valid ``case.opened`` event at Xuanwu."""
    data = {
        "case_id": case_id,
        "kind": "counterfeit",
        "value_cny": 12000.0,
        "packs": 400,
        "point": {"lon": NANJING[0], "lat": NANJING[1], "crs": "wgs84"},
        "licence_no": "320102000001",
    }
    data.update(over)
    return data


def scan_data(carton: str = "A" * 32, licence_region: int = 320102, **over: Any) -> dict[str, Any]:
    """The ``data`` of a valid ``scan.recorded`` event scanned at Xuanwu."""
    data = {
        "carton_code": carton,
        "scanned_at": "2026-11-21T11:00:00+08:00",
        "point": {"lon": NANJING[0], "lat": NANJING[1], "crs": "wgs84"},
        "licence_no": "320102000001",
        "licence_region": licence_region,
    }
    data.update(over)
    return data


def complaint_data(complaint_id: str = "c-1", **over: Any) -> dict[str, Any]:
    """The ``data`` of a valid ``complaint.received`` event placed by its address."""
    data = {
        "complaint_id": complaint_id,
        "channel": "hotline_12313",
        "category": "counterfeit",
        "address": "江苏省南京市玄武区中山路1号",
        "text": '有人在店里卖假烟 <script>alert(1)</script> & "便宜"',
    }
    data.update(over)
    return data


def warning_candidate(condition: str, region: int, level: int, **extra: Any) -> dict[str, Any]:
    """A detector's warning candidate (what ``alerts.store.upsert_warnings`` takes): a complaint spike."""
    return {
        "type": "complaint_spike", "condition": condition, "level": level, "region": region,
        "regions": [region], "place": {"lon": 118.78, "lat": 32.05}, "facts": {"ratio": 9.0},
        "evidence": {}, **extra,
    }  # fmt: skip
