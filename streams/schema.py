"""Event envelope and payload models: the upstream contract, validated with pydantic v2.

An upstream entry in ``wf:in:<source>`` has four fields: ``id`` (unique per source, the idempotency
key), ``type``, ``occurred_at`` (ISO 8601 with offset) and ``data`` (a JSON object). The JSON Schema of
each payload is generated from these same models (see :func:`json_schemas`).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import Field, ValidationError, field_validator

from streams.payloads import (
    CaseClosed,
    CaseOpened,
    ComplaintReceived,
    InspectionCompleted,
    LicenceChanged,
    LicenceIssued,
    LicenceRenewed,
    LicenceStatusChange,
    ScanRecorded,
    _Model,
)

#: event type -> (payload model, licence status after the event; "" keeps the current status)
LICENCE_TYPES: dict[str, tuple[type[_Model], str]] = {
    "licence.issued": (LicenceIssued, "valid"),
    "licence.renewed": (LicenceRenewed, "valid"),
    "licence.changed": (LicenceChanged, ""),
    "licence.suspended": (LicenceStatusChange, "suspended"),
    "licence.revoked": (LicenceStatusChange, "revoked"),
    "licence.expired": (LicenceStatusChange, "expired"),
}

#: source -> its event types. A source is also the stream name: ``wf:in:<source>``.
SOURCE_TYPES: dict[str, dict[str, tuple[type[_Model], str]]] = {
    "licence": LICENCE_TYPES,
    "inspection": {"inspection.completed": (InspectionCompleted, "")},
    "case": {"case.opened": (CaseOpened, ""), "case.closed": (CaseClosed, "")},
    "scan": {"scan.recorded": (ScanRecorded, "")},
    "complaint": {"complaint.received": (ComplaintReceived, "")},
}
SOURCES = tuple(SOURCE_TYPES)


class Envelope(_Model):
    """The four fields every upstream entry carries."""

    id: str = Field(min_length=1, max_length=128)
    type: str = Field(min_length=1, max_length=64)
    occurred_at: dt.datetime
    data: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a UTC offset, e.g. 2026-11-21T08:00:00+08:00")
        return value


@dataclass(slots=True)
class Event:
    """A validated event: the envelope's fields, its typed payload and the licence status it sets.

    Treat it as immutable (not declared frozen: a frozen dataclass costs microseconds to build, and the
    consumer builds one per entry).
    """

    source: str
    id: str
    type: str
    occurred_at: dt.datetime
    payload: Any
    status: str
    occurred_ms: int  # occurred_at as epoch milliseconds: the version of everything the event sets


class InvalidEvent(ValueError):
    """An entry broke the contract; ``reason`` names the field path and what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reason(exc: ValidationError, prefix: str = "") -> str:
    parts = []
    for err in exc.errors()[:5]:
        if err["type"] == "json_invalid":
            parts.append(f"{prefix or 'entry'}: not valid JSON ({err['ctx'].get('error', '')[:80]})")
            continue
        path = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        parts.append(f"{path or prefix or 'entry'}: {err['msg']}")
    return "; ".join(parts)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


_KNOWN = frozenset({"id", "type", "occurred_at", "data"})
_BYTES_KNOWN = frozenset(k.encode() for k in _KNOWN)


def parse_entry(source: str, fields: dict[bytes | str, bytes | str]) -> Event:
    """Validate one raw stream entry of ``source``; raise :class:`InvalidEvent` with the reason.

    The common case takes a fast path (plain checks, then pydantic-core validating the ``data`` JSON
    bytes directly); anything unusual falls back to the pydantic models so that every error message
    comes from one place.
    """
    try:  # an entry as read from a stream: exactly the four fields, as byte strings
        if len(fields) != 4:
            raise KeyError
        event_id = fields[b"id"].decode()
        kind = fields[b"type"].decode()
        when = _when(fields[b"occurred_at"].decode())
        data = fields[b"data"]
        model, status = SOURCE_TYPES[source][kind]
    except (KeyError, AttributeError, UnicodeDecodeError):
        return _parse_entry(source, fields)
    if when is None or not 1 <= len(event_id) <= 128:
        return _parse_entry(source, fields)  # the slow path names the problem
    try:
        payload = model.__pydantic_validator__.validate_json(data)
    except ValidationError as exc:
        raise InvalidEvent(_reason(exc, "data")) from None
    except UnicodeDecodeError:
        raise InvalidEvent("data: not valid UTF-8") from None
    return Event(source, event_id, kind, when[0], payload, status, when[1])


def _parse_entry(source: str, fields: dict[bytes | str, bytes | str]) -> Event:
    """:func:`parse_entry` for any entry: every check in turn, each with its own reason."""
    if fields.keys() == _BYTES_KNOWN:  # as read from a stream: no key conversion needed
        raw = {
            "id": fields[b"id"],
            "type": fields[b"type"],
            "occurred_at": fields[b"occurred_at"],
            "data": fields[b"data"],
        }
    else:
        try:
            raw = {_text(k): v for k, v in fields.items()}
        except UnicodeDecodeError:
            raise InvalidEvent("entry: field names must be UTF-8 text") from None
    if raw.keys() != _KNOWN:
        extra = sorted(raw.keys() - _KNOWN)
        if extra:
            raise InvalidEvent(
                f"{extra[0]}: unknown field (an entry has exactly id, type, occurred_at, data)"
            )
        raise InvalidEvent(f"{sorted(_KNOWN - raw.keys())[0]}: field required")
    try:
        event_id, kind, when = _text(raw["id"]), _text(raw["type"]), _text(raw["occurred_at"])
    except UnicodeDecodeError:
        raise InvalidEvent("entry: fields must be UTF-8 text") from None
    occurred = _fast_datetime(when)
    if occurred is None or not 1 <= len(event_id) <= 128 or not 1 <= len(kind) <= 64:
        try:  # slow path: let the model name the problem
            Envelope.model_validate({"id": event_id, "type": kind, "occurred_at": when, "data": {}})
        except ValidationError as exc:
            raise InvalidEvent(_reason(exc)) from None
        raise InvalidEvent(f"occurred_at: {when!r} is not an ISO 8601 date-time")  # pragma: no cover
    types = SOURCE_TYPES.get(source, {})
    if kind not in types:
        allowed = ", ".join(sorted(types)) or "none"
        raise InvalidEvent(f"type: {kind!r} is not an event type of source {source!r} (allowed: {allowed})")
    model, status = types[kind]
    data = raw["data"]
    try:
        payload = model.__pydantic_validator__.validate_json(data)
    except ValidationError as exc:
        raise InvalidEvent(_reason(exc, "data")) from None
    except UnicodeDecodeError:
        raise InvalidEvent("data: not valid UTF-8") from None
    return Event(source, event_id, kind, occurred, payload, status, _epoch_ms(occurred))


def _epoch_ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


@functools.lru_cache(maxsize=4096)
def _when(text: str) -> tuple[dt.datetime, int] | None:
    """:func:`_fast_datetime` and its epoch milliseconds, in one cache look-up (cached: upstream
    systems stamp many events with the same second)."""
    value = _fast_datetime(text)
    return None if value is None else (value, _epoch_ms(value))


def _fast_datetime(text: str) -> dt.datetime | None:
    """An aware datetime from ISO 8601 text, or None (the slow path then explains what is wrong)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every event type's ``data``, generated from the models the consumer uses."""
    return {
        t: model.model_json_schema() for types in SOURCE_TYPES.values() for t, (model, _) in types.items()
    }


def write_schemas(folder: str | Path) -> list[Path]:
    """Write one ``<type>.schema.json`` per event type into ``folder`` (published in docs/schemas/)."""
    out = []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for kind, schema in sorted(json_schemas().items()):
        path = folder / f"{kind}.schema.json"
        path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        out.append(path)
    return out


if __name__ == "__main__":
    # python -m streams.schema [folder]: regenerate the published JSON Schemas
    import sys

    for written in write_schemas(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas"):
        print(written)
