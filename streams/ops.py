"""Operator figures per upstream source: freshness, rates, consumer-group lag, pending, stream length.

Pure reads: every function takes the Redis client and ``now_ms`` (nothing reads the clock), so the
figures are testable against a real Redis with a fixed time. The consumer feeds the rate counters
through :func:`record_ingest`; until it does, rates are counted from the stream's own entry ids.
See docs/ops-screen.md for what each figure means.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis

from core import keys
from streams.deadletter import dead_letter_counts

#: (bucket width, window) in seconds of the two rates: last minute in 10-s buckets, last hour in minutes
MINUTE = (10, 60)
HOUR = (60, 3600)
#: at most this many entries are read to count a lag or a rate from the stream itself
COUNT_CAP = 1000
#: group figures of a stream or group that does not exist
NO_GROUP = {"group": False, "lag": None, "lag_exact": True, "pending": 0, "oldest_pending_idle_ms": None}


@dataclass(frozen=True)
class SourceStats:
    """What the ops screen shows for one upstream source (``None``: not known / not applicable)."""

    source: str
    stream: str
    length: int  # entries in wf:in:<source> (acknowledged ones stay until the retention trim)
    last_entry_ms: int | None  # when the newest entry was added to the stream (its id)
    last_ingest_ms: int | None  # when the consumer last applied a batch of this source
    last_event_ms: int | None  # newest ``occurred_at`` applied
    applied: int | None  # events applied in total
    per_minute: int  # entries over the last minute
    per_hour: int  # entries over the last hour
    rate_basis: str  # "ingest" (consumer counters) or "stream" (arrivals by entry id)
    minute_capped: bool  # a stream count reached COUNT_CAP: the figure is a lower bound
    hour_capped: bool
    group: bool  # the consumer group exists
    lag: int | None  # entries not yet delivered to the group
    lag_exact: bool  # False: the lag reached COUNT_CAP and is a lower bound
    pending: int  # delivered but not acknowledged
    oldest_pending_idle_ms: int | None  # time since the oldest pending entry was last delivered
    dead: int  # dead letters of this source held in wf:dead


def entry_ms(entry_id: bytes | str) -> int:
    """The millisecond part of a stream entry id (the time Redis added it)."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.partition("-")[0])


def _id_key(entry_id: bytes | str) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def _int(value: bytes | str | None) -> int | None:
    return int(value) if value not in (None, b"", "") else None


def record_ingest(pipe: redis.client.Pipeline | redis.Redis, source: str, n: int, now_ms: int) -> None:
    """Count ``n`` entries of ``source`` taken in at ``now_ms`` (the consumer calls this per batch).

    Two counters per bucket (10 s and 1 min), each expiring after its window, and the time counting
    began (``counted_since_ms`` in ``wf:src:<source>``): five commands queued on the caller's pipeline.
    """
    if n <= 0:
        return
    for width, window in (MINUTE, HOUR):
        key = keys.ingest_counter(source, width, now_ms // (width * 1000))
        pipe.incrby(key, n)
        pipe.pexpire(key, (window + 2 * width) * 1000)
    pipe.hsetnx(keys.source_status(source), "counted_since_ms", now_ms)


def _window_count(r: redis.Redis, source: str, width: int, window: int, now_ms: int) -> int:
    """Entries over the last ``window`` seconds: the buckets inside it plus the overlapped share of the
    oldest bucket (a sliding-window estimate exact to within one bucket's spread)."""
    current = now_ms // (width * 1000)
    n = window // width
    buckets = [current - i for i in range(n + 1)]  # current (partial) … the one the window starts in
    values = [int(v or 0) for v in r.mget([keys.ingest_counter(source, width, b) for b in buckets])]
    elapsed = (now_ms - current * width * 1000) / (width * 1000)
    return round(sum(values[:-1]) + values[-1] * (1 - elapsed))


def stream_counts(r: redis.Redis, stream: str, now_ms: int) -> tuple[int, int, bool, bool]:
    """(last minute, last hour, minute capped, hour capped): arrivals counted from the stream's entry
    ids, newest first, reading at most COUNT_CAP entries (a capped figure is a lower bound)."""
    ids = [i for i, _ in r.xrevrange(stream, max="+", min=f"{now_ms - 3_600_000}-0", count=COUNT_CAP + 1)]
    minute = sum(1 for i in ids[:COUNT_CAP] if entry_ms(i) >= now_ms - 60_000)
    minute_capped = len(ids) > COUNT_CAP and entry_ms(ids[COUNT_CAP]) >= now_ms - 60_000
    return minute, min(len(ids), COUNT_CAP), minute_capped, len(ids) > COUNT_CAP


def lag_from_stream(
    r: redis.Redis, stream: str, last_delivered: bytes | str, last_generated: bytes | str
) -> tuple[int, bool]:
    """(lag, exact): entries after the group's last delivered id, for when XINFO GROUPS has no lag."""
    if _id_key(last_delivered) >= _id_key(last_generated):
        return 0, True
    delivered = last_delivered.decode() if isinstance(last_delivered, bytes) else last_delivered
    n = len(r.xrange(stream, min=f"({delivered}", max="+", count=COUNT_CAP + 1))
    return min(n, COUNT_CAP), n <= COUNT_CAP


def group_stats(r: redis.Redis, stream: str, group: str, last_generated: bytes | str) -> dict:
    """Lag, pending count and oldest pending idle time of ``group`` on ``stream`` (``group`` False if
    the group does not exist)."""
    found = [g for g in r.xinfo_groups(stream) if g["name"] in (group, group.encode())]
    if not found:
        return dict(NO_GROUP)
    info = found[0]
    lag, exact = info.get("lag"), True
    if lag is None:  # Redis cannot tell (entries deleted mid-stream, group created at an arbitrary id)
        lag, exact = lag_from_stream(r, stream, info["last-delivered-id"], last_generated)
    pending = int(info["pending"])
    idle = None
    if pending:
        oldest = r.xpending_range(stream, group, min="-", max="+", count=1)
        idle = int(oldest[0]["time_since_delivered"]) if oldest else None
    return {
        "group": True,
        "lag": int(lag),
        "lag_exact": exact,
        "pending": pending,
        "oldest_pending_idle_ms": idle,
    }


def source_stats(r: redis.Redis, sources: Iterable[str], group: str, now_ms: int) -> list[SourceStats]:
    """The figures of each source, in the given order. A source whose stream does not exist yet has
    zeros and ``None`` (nothing has been sent)."""
    sources = list(sources)
    dead = dead_letter_counts(r, sources)
    out = []
    for source in sources:
        stream = keys.inbound(source)
        status = {k.decode(): v for k, v in r.hgetall(keys.source_status(source)).items()}
        try:
            info = r.xinfo_stream(stream)
        except redis.ResponseError:  # no such stream: nothing sent yet
            info = None
        if info is not None:
            groups = group_stats(r, stream, group, info["last-generated-id"])
        else:
            groups = dict(NO_GROUP)
        if status.get("counted_since_ms"):
            basis = "ingest"
            minute, hour = (_window_count(r, source, w, win, now_ms) for w, win in (MINUTE, HOUR))
            rates = (minute, hour, False, False)
        else:
            basis = "stream"
            rates = stream_counts(r, stream, now_ms) if info else (0, 0, False, False)
        last_entry = info.get("last-entry") if info else None
        out.append(
            SourceStats(
                source=source,
                stream=stream,
                length=int(info["length"]) if info else 0,
                last_entry_ms=entry_ms(last_entry[0]) if last_entry else None,
                last_ingest_ms=_int(status.get("last_ingest_ms")),
                last_event_ms=_int(status.get("last_event_ms")) or None,
                applied=_int(status.get("applied")),
                per_minute=rates[0],
                per_hour=rates[1],
                rate_basis=basis,
                minute_capped=rates[2],
                hour_capped=rates[3],
                dead=dead.get(source, 0),
                **groups,
            )
        )
    return out
