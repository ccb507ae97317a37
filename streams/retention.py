"""Stream retention: trim only what every consumer group has acknowledged.

Redis 7.0's MAXLEN/MINID trimming drops entries whether or not they were acknowledged, so the trim
point is computed here: the oldest of (the retention bound, each group's oldest pending entry, each
group's last delivered entry). Everything before that point is acknowledged by every group.
"""

from __future__ import annotations

import redis


def _key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def safe_trim_id(r: redis.Redis, stream: str, now_ms: int, retention_ms: int) -> str | None:
    """The MINID up to which ``stream`` may be trimmed, or None when it has no consumer group yet."""
    try:
        groups = r.xinfo_groups(stream)
    except redis.ResponseError:  # no such stream
        return None
    if not groups:
        return None
    candidates = [f"{max(now_ms - retention_ms, 0)}-0"]
    for group in groups:
        candidates.append(_text(group["last-delivered-id"]))
        pending = r.xpending(stream, _text(group["name"]))
        if pending["pending"]:
            candidates.append(_text(pending["min"]))
    return min(candidates, key=_key)


def trim_acknowledged(r: redis.Redis, stream: str, now_ms: int, retention_ms: int) -> int:
    """Trim acknowledged entries older than the retention; returns how many were removed."""
    minid = safe_trim_id(r, stream, now_ms, retention_ms)
    if minid is None or minid == "0-0":
        return 0
    return int(r.xtrim(stream, minid=minid, approximate=False))
