"""Dead letters: entries that broke the contract, kept whole with the reason, in ``wf:dead``.

Each letter has ``source``, ``entry_id`` (its id in ``wf:in:<source>``), ``reason``, ``entry`` (the
original fields as a JSON object of strings) and ``at_ms``. ``wf:dead:count`` keeps the number of
letters per source. A re-drive (after a fix upstream or in the consumer) puts the original fields
back on ``wf:in:<source>`` and deletes the letter, atomically per letter, and audits it in
``wf:audit:redrive``; the entry then goes through the normal consumer again.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis

from core import keys
from streams.schema import SOURCES

#: at most this many letters are read while looking for ``count`` letters of one source
SCAN_LIMIT = 20_000
_STREAM_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")

# KEYS: 1 wf:dead, 2 wf:in:<source>, 3 audit stream, 4 counts hash
# ARGV: 1 dead id, 2 source, 3 who, 4 now (ms)
# Returns {"ok", new entry id} | {"gone", ""} | {"bad", why}
_REDRIVE_LUA = """
local letter = redis.call("XRANGE", KEYS[1], ARGV[1], ARGV[1])
if #letter == 0 then return {"gone", ""} end
local f = letter[1][2]
local row = {}
for i = 1, #f, 2 do row[f[i]] = f[i + 1] end
if row["source"] ~= ARGV[2] then return {"bad", "source changed"} end
local ok, entry = pcall(cjson.decode, row["entry"] or "")
if not ok or type(entry) ~= "table" then return {"bad", "entry is not a JSON object"} end
local args = {}
for k, v in pairs(entry) do
  if type(v) ~= "string" then return {"bad", "entry field " .. tostring(k) .. " is not text"} end
  args[#args + 1] = k; args[#args + 1] = v
end
if #args == 0 then return {"bad", "entry has no fields"} end
local new_id = redis.call("XADD", KEYS[2], "*", unpack(args))
redis.call("XDEL", KEYS[1], ARGV[1])
if tonumber(redis.call("HINCRBY", KEYS[4], ARGV[2], -1)) < 0 then redis.call("HSET", KEYS[4], ARGV[2], 0) end
redis.call("XADD", KEYS[3], "*", "who", ARGV[3], "at_ms", ARGV[4], "dead_id", ARGV[1],
           "source", ARGV[2], "entry_id", row["entry_id"] or "", "new_id", new_id)
return {"ok", new_id}
"""


@dataclass
class RedriveResult:
    """What a re-drive did: letters moved back (dead id → new entry id), gone already, refused."""

    redriven: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


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
    pipe.hincrby(keys.DEAD_COUNTS, source, 1)


def _row(dead_id: bytes | str, fields: dict) -> dict[str, Any]:
    row = {_text(k): _text(v) for k, v in fields.items()}
    row["id"] = _text(dead_id)
    return row


def list_dead_letters(
    r: redis.Redis, source: str | None = None, count: int = 50, before: str | None = None
) -> list[dict[str, Any]]:
    """Newest dead letters first (``before``: only those older than that dead id), at most ``count``.

    With ``source`` only that source's letters, looked for among at most :data:`SCAN_LIMIT` letters.
    Rows are decoded for display: ``id``, ``source``, ``entry_id``, ``reason``, ``entry`` (JSON text,
    never HTML) and ``at_ms``.
    """
    out: list[dict[str, Any]] = []
    top, scanned = (f"({before}" if before else "+"), 0
    chunk = count if source is None else max(4 * count, 500)
    while len(out) < count and scanned < SCAN_LIMIT:
        batch = r.xrevrange(keys.DEAD, max=top, min="-", count=chunk)
        if not batch:
            break
        scanned += len(batch)
        for dead_id, fields in batch:
            row = _row(dead_id, fields)
            if source is None or row.get("source") == source:
                out.append(row)
                if len(out) == count:
                    break
        top = f"({_text(batch[-1][0])}"
    return out


def dead_letter_counts(r: redis.Redis, sources: list[str] | tuple[str, ...]) -> dict[str, int]:
    """Dead letters currently held per source (from ``wf:dead:count``; rebuilt once if missing)."""
    if not r.exists(keys.DEAD_COUNTS) and r.xlen(keys.DEAD):
        recount_dead_letters(r)
    values = r.hmget(keys.DEAD_COUNTS, list(sources)) if sources else []
    return {s: max(int(v or 0), 0) for s, v in zip(sources, values, strict=True)}


def recount_dead_letters(r: redis.Redis, chunk: int = 1000) -> dict[str, int]:
    """Rebuild ``wf:dead:count`` by reading every letter (for letters written before it existed)."""
    counts: dict[str, int] = {}
    start = "-"
    while batch := r.xrange(keys.DEAD, min=start, max="+", count=chunk):
        for _, fields in batch:
            source = _text(fields.get(b"source", fields.get("source", b"")))
            counts[source] = counts.get(source, 0) + 1
        start = f"({_text(batch[-1][0])}"
    pipe = r.pipeline(transaction=True)
    pipe.delete(keys.DEAD_COUNTS)
    if counts:
        pipe.hset(keys.DEAD_COUNTS, mapping=counts)
    pipe.execute()
    return counts


def redrive(r: redis.Redis, dead_ids: list[str], *, who: str, now_ms: int | None = None) -> RedriveResult:
    """Put each letter's original entry back on its source stream and delete the letter.

    Per letter, the XADD to ``wf:in:<source>``, the XDEL from ``wf:dead``, the count and the audit entry
    (``who``, ``at_ms``, ``dead_id``, ``source``, ``entry_id``, ``new_id``) happen in one Lua script:
    all or nothing. Letters already gone (re-driven by someone else) are listed in ``missing``.
    """
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    script = r.register_script(_REDRIVE_LUA)
    result = RedriveResult()
    for dead_id in dict.fromkeys(dead_ids):  # each once, in the given order
        if not isinstance(dead_id, str) or not _STREAM_ID.match(dead_id):
            result.failed[str(dead_id)[:40]] = "not a dead-letter id"
            continue
        letter = r.xrange(keys.DEAD, min=dead_id, max=dead_id)
        if not letter:
            result.missing.append(dead_id)
            continue
        source = _row(*letter[0]).get("source", "")
        if source not in SOURCES:
            result.failed[dead_id] = f"unknown source {source!r}"
            continue
        try:
            reply = script(
                keys=[keys.DEAD, keys.inbound(source), keys.REDRIVE_AUDIT, keys.DEAD_COUNTS],
                args=[dead_id, source, who, now_ms],
            )
        except redis.ResponseError as exc:  # e.g. an entry too large to unpack: nothing was written
            result.failed[dead_id] = str(exc)[:200]
            continue
        status, detail = (_text(v) for v in reply)
        if status == "ok":
            result.redriven[dead_id] = detail
        elif status == "gone":
            result.missing.append(dead_id)
        else:
            result.failed[dead_id] = detail
    return result


def redrive_audit(r: redis.Redis, count: int = 50) -> list[dict[str, Any]]:
    """Newest re-drive audit entries first."""
    return [_row(i, f) for i, f in r.xrevrange(keys.REDRIVE_AUDIT, count=count)]
