"""A comparable dump of Watchfloor's state in Redis, for oracle tests."""

from __future__ import annotations

import orjson
import redis

# Bookkeeping that legitimately differs between two runs applying the same events; and the warning
# observations, which record what was known about a licence when a scan arrived (docs/state.md).
IGNORED_PREFIXES = (
    b"wf:in:",
    b"wf:dead",
    b"wf:src:",
    b"wf:lic:version",
    b"wf:ind:",
    b"wf:rate:",
    b"rq:",
    b"wf:obs:",
    b"wf:days:dirty",
)


def _value(raw: bytes) -> object:
    # JSON records are compared parsed (Lua's cjson and orjson order keys differently), with each
    # field's effective version: "_v" for all fields unless "_fv" names the field's own.
    if raw[:1] != b"{":
        return raw
    record = orjson.loads(raw)
    base, own = record.pop("_v", None), record.pop("_fv", {})
    return {k: (v, own.get(k, base)) for k, v in record.items()}


def dump_state(r: redis.Redis) -> dict[bytes, object]:
    """Every state key and its content (hashes as dicts, sets as sets, geo sets with positions)."""
    out: dict[bytes, object] = {}
    for key in r.scan_iter(match=b"wf:*", count=1000):
        if key.startswith(IGNORED_PREFIXES):
            continue
        kind = r.type(key)
        if kind == b"hash":
            out[key] = {f: _value(v) for f, v in r.hgetall(key).items() if v != b"0"}
        elif kind == b"set":
            out[key] = r.smembers(key)
        elif kind == b"zset":
            out[key] = dict(r.zrange(key, 0, -1, withscores=True))
        elif kind == b"string":
            out[key] = r.get(key)
    return out
