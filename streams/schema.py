"""Event envelope and payload models: the upstream contract, validated with pydantic v2.

An upstream entry in ``wf:in:<source>`` has four fields: ``id`` (unique per source, the idempotency
key), ``type``, ``occurred_at`` (ISO 8601 with offset) and ``data`` (a JSON object). The JSON Schema of
each payload is generated from these same models (see :func:`json_schemas`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


class Event(BaseModel):
    """A validated event: envelope plus its typed payload."""

    model_config = ConfigDict(frozen=True)
    envelope: Envelope
    payload: Any
    status: str

    @property
    def occurred_ms(self) -> int:
        return int(self.envelope.occurred_at.timestamp() * 1000)


class InvalidEvent(ValueError):
    """An entry broke the contract; ``reason`` names the field path and what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reason(exc: ValidationError, prefix: str = "") -> str:
    parts = []
    for err in exc.errors()[:5]:
        path = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        parts.append(f"{path or prefix or 'entry'}: {err['msg']}")
    return "; ".join(parts)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def parse_entry(source: str, fields: dict[bytes | str, bytes | str]) -> Event:
    """Validate one raw stream entry of ``source``; raise :class:`InvalidEvent` with the reason."""
    try:
        raw = {_text(k): _text(v) for k, v in fields.items()}
    except UnicodeDecodeError:
        raise InvalidEvent("entry: fields must be UTF-8 text") from None
    known = {"id", "type", "occurred_at", "data"}
    extra = sorted(set(raw) - known)
    if extra:
        raise InvalidEvent(f"{extra[0]}: unknown field (an entry has exactly id, type, occurred_at, data)")
    missing = sorted(known - set(raw))
    if missing:
        raise InvalidEvent(f"{missing[0]}: field required")
    try:
        data = orjson.loads(raw["data"])
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent(f"data: not valid JSON ({exc.args[0][:80]})") from None
    try:
        env = Envelope.model_validate({**raw, "data": data})
    except ValidationError as exc:
        raise InvalidEvent(_reason(exc)) from None
    types = SOURCE_TYPES.get(source, {})
    if env.type not in types:
        allowed = ", ".join(sorted(types)) or "none"
        raise InvalidEvent(
            f"type: {env.type!r} is not an event type of source {source!r} (allowed: {allowed})"
        )
    model, status = types[env.type]
    try:
        payload = model.model_validate(env.data)
    except ValidationError as exc:
        raise InvalidEvent(_reason(exc, "data")) from None
    return Event(envelope=env, payload=payload, status=status)


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
