"""Dead letters: entries that broke the contract, kept whole with the reason, in ``wf:dead``."""

from __future__ import annotations

import time
from typing import Any

import orjson
import redis

from core import keys


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def add_dead_letter(
    pipe: redis.client.Pipeline | redis.Redis,
    source: str,
    entry_id: str,
    fields: dict[Any, Any] | None,
    reason: str,
    now_ms: int | None = None,
) -> None:
    """Queue one dead letter: the original entry (as JSON), its source and id, the reason and time."""
    original = {_text(k): _text(v) for k, v in (fields or {}).items()}
    pipe.xadd(
        keys.DEAD,
        {
            "source": source,
            "entry_id": entry_id,
            "reason": reason[:2000],
            "entry": orjson.dumps(original),
            "at_ms": now_ms if now_ms is not None else int(time.time() * 1000),
        },
    )


def list_dead_letters(r: redis.Redis, count: int = 100) -> list[dict[str, Any]]:
    """Newest dead letters first, decoded for display (the entry stays JSON text, never HTML)."""
    out = []
    for dead_id, fields in r.xrevrange(keys.DEAD, count=count):
        row = {_text(k): _text(v) for k, v in fields.items()}
        row["id"] = _text(dead_id)
        out.append(row)
    return out
