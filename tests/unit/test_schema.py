"""The licence event contract: valid entries parse, every broken one names its field and reason."""

from __future__ import annotations

import orjson
import pytest

from streams.schema import InvalidEvent, json_schemas, parse_entry
from tests.events import entry, issued_data


def test_a_valid_issued_event_parses_to_its_payload_and_status():
    event = parse_entry("licence", entry(data=issued_data(crs="gcj02"), event_id="e1"))
    assert event.id == "e1" and event.status == "valid"
    assert event.payload.point.crs == "gcj02"
    assert event.occurred_ms == 1795222800000  # 2026-11-21T09:00+08:00


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"data": b"{not json"}, "data: not valid JSON"),
        ({"data": b"[1, 2]"}, "data: Input should be an object"),
        ({"occurred_at": "2026-11-21T09:00:00"}, "occurred_at: Value error, must carry a UTC offset"),
        ({"occurred_at": "yesterday"}, "occurred_at: Input should be a valid datetime"),
        ({"id": ""}, "id: String should have at least 1 character"),
        ({"id": "x" * 129}, "id: String should have at most 128 characters"),
        ({"type": "licence.exploded"}, "type: 'licence.exploded' is not an event type of source 'licence'"),
        ({"extra": "1"}, "extra: unknown field"),
        (
            {"data": orjson.dumps(issued_data(licence_no="12"))},
            "data.licence_no: String should match pattern",
        ),
        (
            {"data": orjson.dumps(issued_data(lat=95))},
            "data.point.lat: Input should be less than or equal to 54",
        ),
        ({"data": orjson.dumps(issued_data(crs="mercator"))}, "data.point.crs: Input should be 'wgs84'"),
        ({"data": orjson.dumps(issued_data(credit_grade="E"))}, "data.credit_grade: Input should be 'A'"),
        (
            {"data": orjson.dumps(issued_data(valid_to="2023-01-01"))},
            "data.valid_to: Value error, must be after",
        ),
        (
            {"data": orjson.dumps(issued_data(valid_to="2035-01-01"))},
            "data.valid_to: Value error, a licence is",
        ),
        (
            {"data": orjson.dumps(issued_data(shop_name="x" * 300))},
            "data.shop_name: String should have at most",
        ),
        ({"data": orjson.dumps(issued_data(colour="red"))}, "data.colour: Extra inputs are not permitted"),
        (
            {"data": orjson.dumps({**issued_data(), "holder": 5})},
            "data.holder: Input should be a valid string",
        ),
    ],
)
def test_a_broken_entry_is_rejected_naming_the_field_and_reason(fields, reason):
    with pytest.raises(InvalidEvent) as exc:
        parse_entry("licence", entry() | fields)
    assert exc.value.reason.startswith(reason), exc.value.reason


def test_a_missing_envelope_field_is_named():
    broken = entry()
    del broken["occurred_at"]
    with pytest.raises(InvalidEvent, match=r"^occurred_at: field required$"):
        parse_entry("licence", broken)


def test_bytes_that_are_not_utf8_are_rejected_not_crashed_on():
    with pytest.raises(InvalidEvent, match="UTF-8"):
        parse_entry("licence", {**entry(), "id": b"\xff\xfe"})


def test_status_events_carry_their_new_status():
    for kind, status in [
        ("licence.suspended", "suspended"),
        ("licence.revoked", "revoked"),
        ("licence.expired", "expired"),
    ]:
        event = parse_entry("licence", entry(kind, {"licence_no": "320102000001", "reason": "x"}))
        assert event.status == status
    renewed = parse_entry(
        "licence", entry("licence.renewed", {"licence_no": "320102000001", "valid_to": "2031-01-01"})
    )
    assert renewed.status == "valid"


def test_json_schemas_are_generated_for_every_event_type():
    schemas = json_schemas()
    assert set(schemas) == {
        "licence.issued",
        "licence.renewed",
        "licence.changed",
        "licence.suspended",
        "licence.revoked",
        "licence.expired",
        "inspection.completed",
        "case.opened",
        "case.closed",
        "scan.recorded",
        "complaint.received",
    }
    assert "point" in schemas["licence.issued"]["required"]


def test_the_published_schemas_match_the_models(tmp_path):
    from pathlib import Path

    from streams.schema import write_schemas

    published = Path(__file__).resolve().parents[2] / "docs" / "schemas"
    for fresh in write_schemas(tmp_path):
        assert (published / fresh.name).read_bytes() == fresh.read_bytes(), (
            f"docs/schemas/{fresh.name} is out of date: run python -m streams.schema"
        )
