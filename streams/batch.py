"""The shapes a consumer batch passes through: raw entries → Prepared (validated, placed, script
arguments built) → BatchReport; and the Store protocol every source's state writer implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from streams.licences import ApplyResult
from streams.schema import Event

Entry = tuple[bytes, dict | None]


class Store(Protocol):
    """What the consumer needs of a source's state writer (LicenceStore, EventStore)."""

    def place(self, events: list[Event]) -> tuple[list, list[str | None]]: ...
    def prepare(self, events: list[Event], places: list, now_ms: int | None = None) -> Any: ...
    def commit(self, args: Any) -> ApplyResult: ...
    def apply(self, events: list[Event], places: list, now_ms: int | None = None) -> ApplyResult: ...


@dataclass
class BatchReport:
    """Counts for one batch, for logs and tests."""

    read: int = 0
    applied: int = 0
    duplicates: int = 0
    stale: int = 0
    dead: int = 0
    version: int = 0
    by_source: dict[str, int] = field(default_factory=dict)


@dataclass
class Prepared:
    """A batch validated and placed, with its script arguments ready: what commit() needs."""

    batch: dict[str, list[Entry]]
    now_ms: int
    dead: list[tuple[str, str, dict | None, str]]
    extra_acks: list[tuple[str, str]]
    applies: list[tuple[str, Any]] = field(default_factory=list)


def raw_streams(response, **options) -> list:
    """XREADGROUP reply as [(stream, [(id, fields dict), ...])], built with C-level dict(zip())."""
    if not response:
        return []
    items = response.items() if isinstance(response, dict) else response
    out = []
    for stream, entries in items:
        out.append(
            (stream, [(i, dict(zip(f[::2], f[1::2], strict=True)) if f else None) for i, f in entries])
        )
    return out


def as_text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
