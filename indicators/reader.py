"""Redis → indicator tables: day counters through the days index, coverage ZCOUNTs, licence counts,
warnings; and the worker's cache of parsed day counters.

Reads are batched: one Lua call takes the dirty days, one pipeline then fetches every day hash
(HGETALL), the licence counts, every coverage ZCOUNT and the warnings. Only the keys and JSON fields
of docs/state.md are read.

**The day cache** (:class:`DayCache`) is derived data held in the worker process: the parsed counters
of every day in the longest window. A full read rebuilds it; an incremental read re-reads only the
days marked dirty since the cache's last read, plus today. ``wf:days:dirty`` is taken (read and
cleared) atomically by whichever worker runs next, and each take is logged as entry ``<seq>-1`` of
``wf:days:dirty:log``, so a worker that did not make some takes re-reads the days they named. The
cache is rebuilt from Redis when it is empty, when Redis's epoch token differs from the cache's (a
flushed or another Redis), when log entries it needs were trimmed, or when a longer window is asked.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field

import numpy as np
import orjson
import redis

from core import keys
from indicators.compute import SOURCES, Inputs, Window
from indicators.tables import Counts, Fields, Regions

#: Log entries kept; a cache further behind than this (or than MAX_CATCH_UP takes) rebuilds.
DIRTY_LOG_MAXLEN = 10_000
MAX_CATCH_UP = 1_000

_TAKE_DIRTY = """
-- KEYS: 1 dirty days set, 2 dirty log stream, 3 take counter, 4 epoch token
-- ARGV: 1 the caller's last seq (-1: none), 2 epoch to set if none, 3 log max length, 4 max catch-up
redis.call('SET', KEYS[4], ARGV[2], 'NX')
local epoch = redis.call('GET', KEYS[4])
local members = redis.call('SMEMBERS', KEYS[1])
local seq = tonumber(redis.call('GET', KEYS[3]) or '0')
if #members > 0 then
  redis.call('DEL', KEYS[1])
  seq = redis.call('INCR', KEYS[3])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-1', 'days', table.concat(members, ' '))
end
local since = tonumber(ARGV[1])
local entries = {}
if since >= 0 and since < seq and seq - since <= tonumber(ARGV[4]) then
  entries = redis.call('XRANGE', KEYS[2], (since + 1) .. '-1', seq .. '-1')
end
return {epoch, seq, entries}
"""

_COVERAGE = """
-- KEYS: the counties' coverage sets; ARGV: window start times (ms). One call instead of one ZCOUNT
-- per county and window: the client-side cost of hundreds of tiny commands is what it saves.
local out = {}
for _, start in ipairs(ARGV) do
  for _, key in ipairs(KEYS) do out[#out + 1] = redis.call('ZCOUNT', key, start, '+inf') end
end
return out
"""


@dataclass(frozen=True)
class Taken:
    """Result of taking the dirty days: Redis's epoch, the take counter now, and the (source, day)
    pairs dirtied since the caller's ``since`` — None when they cannot be known (rebuild)."""

    epoch: str
    seq: int
    days: set[tuple[str, int]] | None


def _pair(member: str) -> tuple[str, int] | None:
    source, _, day = member.rpartition(":")
    return (source, int(day)) if source in SOURCES and day.isdigit() else None


def take_dirty(r: redis.Redis, since: int) -> Taken:
    """Atomically take ``wf:days:dirty`` (logging the take) and collect the takes after ``since``."""
    epoch, seq, entries = r.eval(
        _TAKE_DIRTY, 4, keys.DIRTY_DAYS, keys.DIRTY_LOG, keys.DIRTY_SEQ, keys.INDICATOR_EPOCH,
        since, uuid.uuid4().hex, DIRTY_LOG_MAXLEN, MAX_CATCH_UP,
    )  # fmt: skip
    seq = int(seq)
    if since < 0 or since > seq or len(entries) != seq - since:
        return Taken(epoch.decode(), seq, None if seq != since else set())
    days: set[tuple[str, int]] = set()
    for _entry_id, entry_fields in entries:
        values = dict(zip(entry_fields[::2], entry_fields[1::2], strict=True))
        for member in values.get(b"days", b"").decode().split():
            if (pair := _pair(member)) is not None:
                days.add(pair)
    return Taken(epoch.decode(), seq, days)


class SourceDays:
    """One source's parsed days: a day × field matrix kept between runs; a re-read day replaces its row."""

    def __init__(self, source: str) -> None:
        self.fields = Fields(source)
        self.days: list[int] = []  # sorted, one matrix row each
        self.matrix = np.zeros((0, 0), dtype=np.int64)

    def load(self, days: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
        """Replace everything with these parsed days (a full read)."""
        counts = Counts.from_days(self.fields, days)
        self.days, self.matrix = counts.days.tolist(), counts.matrix

    def put(self, day: int, ids: np.ndarray, counts: np.ndarray) -> None:
        """Set one day's counters (an incremental read)."""
        if len(self.fields) > self.matrix.shape[1]:  # new fields: grow the columns, with room to spare
            extra = max(len(self.fields) - self.matrix.shape[1], self.matrix.shape[1] // 2, 64)
            self.matrix = np.hstack([self.matrix, np.zeros((self.matrix.shape[0], extra), dtype=np.int64)])
        pos = bisect.bisect_left(self.days, day)
        if pos < len(self.days) and self.days[pos] == day:
            self.matrix[pos] = 0
        else:  # a new day (normally a new today, at the end)
            self.days.insert(pos, day)
            self.matrix = np.insert(self.matrix, pos, 0, axis=0)
        self.matrix[pos, ids] = counts

    def drop_before(self, first_day: int) -> None:
        """Forget the days that left the longest window."""
        k = bisect.bisect_left(self.days, first_day)
        if k:
            self.days, self.matrix = self.days[k:], self.matrix[k:].copy()

    def counts(self) -> Counts:
        return Counts(self.fields, np.array(self.days, dtype=np.int64), self.matrix[:, : len(self.fields)])


@dataclass
class DayCache:
    """Parsed day counters per source for the days of the longest window (see the module docstring),
    and the last warnings read (reused, parsed, while ``wf:warn`` is unchanged).

    Not thread-safe: one per worker process, used by one job at a time (SimpleWorker).
    """

    epoch: str | None = None
    seq: int = -1
    first_day: int | None = None
    sources: dict[str, SourceDays] = field(default_factory=dict)
    warnings_raw: list[bytes] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)

    def reset(self, epoch: str | None = None) -> None:
        self.epoch, self.seq, self.first_day = epoch, -1, None
        self.sources = {s: SourceDays(s) for s in SOURCES}

    def counts(self) -> dict[str, Counts]:
        return {s: days.counts() for s, days in self.sources.items()}


@dataclass(frozen=True)
class ReadStats:
    """What a read did: ``full`` (rebuilt the cache) and how many day hashes it fetched."""

    full: bool
    day_hashes: int


def _ints(mapping: dict[bytes, bytes]) -> dict[int, int]:
    out = {}
    for k, v in mapping.items():
        try:
            out[int(k)] = int(v)
        except ValueError:
            continue
    return out


def _warnings(values: list[bytes]) -> list[dict]:
    out = []
    for raw in values:
        try:
            w = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if isinstance(w, dict):
            out.append(w)
    return out


def read_inputs(
    r: redis.Redis, cache: DayCache, regions: Regions, windows: list[Window], full: bool = False
) -> tuple[Inputs, ReadStats]:
    """Bring ``cache`` up to date and read the rest of the inputs, in two or three round trips."""
    if not cache.sources:
        cache.reset()
    first = min(w.first_day for w in windows)
    first_ms = min(w.start_ms for w in windows)
    today = windows[0].last_day
    taken = take_dirty(r, cache.seq if cache.epoch is not None else -1)
    full = (
        full or taken.days is None or taken.epoch != cache.epoch
        or cache.first_day is None or first < cache.first_day
    )  # fmt: skip
    if full:
        cache.reset(taken.epoch)
        pipe = r.pipeline(transaction=False)
        for source in SOURCES:
            pipe.zrangebyscore(keys.days_index(source), first_ms, "+inf")
        wanted = sorted(
            {
                (s, int(d))
                for s, days in zip(SOURCES, pipe.execute(), strict=True)
                for d in days
                if d.isdigit()
            }
        )
    else:
        wanted = sorted({(s, d) for s, d in taken.days if d >= first} | {(s, today) for s in SOURCES})
    wanted = [(s, d) for s, d in wanted if d >= first]

    pipe = r.pipeline(transaction=False)
    for source, day in wanted:
        pipe.hgetall(keys.day_counts(source, str(day)))
    pipe.hgetall(keys.licence_counts("valid"))
    cov_keys = [keys.coverage(int(c)) for c in regions.counties]
    pipe.eval(_COVERAGE, len(cov_keys), *cov_keys, *[w.start_ms for w in windows])
    pipe.hvals(keys.WARNINGS)
    replies = pipe.execute()

    parsed: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {s: {} for s in SOURCES}
    for (source, day), counters in zip(wanted, replies, strict=False):
        parsed[source][day] = cache.sources[source].fields.parse_day(counters)
    for source, days in cache.sources.items():
        if full:
            days.load(parsed[source])
        else:
            for day, (ids, counts) in parsed[source].items():
                days.put(day, ids, counts)
            days.drop_before(first)
    cache.seq, cache.first_day = taken.seq, first

    active_reply, covered, warnings = replies[len(wanted) :]
    nk = len(regions.counties)
    counties = regions.counties.tolist()
    inspected = {
        w.days: dict(zip(counties, covered[i * nk : (i + 1) * nk], strict=True))
        for i, w in enumerate(windows)
    }
    if warnings != cache.warnings_raw:  # unchanged: hand over the same parsed list (compute memoises it)
        cache.warnings_raw, cache.warnings = warnings, _warnings(warnings)
    inputs = Inputs(cache.counts(), _ints(active_reply), inspected, cache.warnings)
    return inputs, ReadStats(full, len(wanted))
