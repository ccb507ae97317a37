"""The shapes a consumer batch passes through: raw entries → Prepared (validated, placed, script
arguments built) → BatchReport; and the Store protocol every source's state writer implements."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from streams.licences import ApplyResult
from streams.schema import Event, InvalidEvent, parse_entry

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


def prepare_batch(
    stores: dict[str, Store], batch: dict[str, list[Entry]], extra_dead: list | None = None
) -> Prepared:
    """Validate, place and build the apply arguments of a batch read from the streams (CPU only).

    An entry that breaks the contract, or whose place cannot be found, becomes a dead letter with the
    reason; ``extra_dead`` (poison entries) are dead letters already.
    """
    prepared = Prepared(
        batch=batch,
        now_ms=int(time.time() * 1000),
        dead=list(extra_dead or []),
        extra_acks=[(s, i) for s, i, _, _ in extra_dead or []],
    )
    dead = prepared.dead
    for source, entries in batch.items():
        events: list[Event] = []
        kept: list[Entry] = []  # the entry of each event, for a dead letter after placement
        for entry in entries:
            fields = entry[1]
            if not fields:
                reason = "entry: gone from the stream before it was processed"
                dead.append((source, as_text(entry[0]), fields, reason))
                continue
            try:
                events.append(parse_entry(source, fields))
            except InvalidEvent as exc:
                dead.append((source, as_text(entry[0]), fields, exc.reason))
                continue
            kept.append(entry)
        store = stores[source]
        places, errors = store.place(events)
        if any(errors):
            keep = [i for i, err in enumerate(errors) if err is None]
            for i, err in enumerate(errors):
                if err is not None:
                    dead.append((source, as_text(kept[i][0]), kept[i][1], err))
            events, places = [events[i] for i in keep], [places[i] for i in keep]
        if events:
            prepared.applies.append((source, store.prepare(events, places, prepared.now_ms)))
    return prepared
