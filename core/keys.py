"""Every Redis key, stream and channel name Watchfloor uses, built in one place.

All names live under the ``wf:`` namespace so a shared Redis can host other data. Change a name here
and every producer and reader follows.
"""

from __future__ import annotations

NS = "wf"

#: pub/sub channel on which workers and consumers announce new state.
UPDATES = f"{NS}:updates"
#: dead-letter stream: invalid or poison entries, with their reason.
DEAD = f"{NS}:dead"

STATUSES = ("valid", "suspended", "revoked", "expired")


def inbound(source: str) -> str:
    """Stream an upstream source writes to, e.g. ``wf:in:licence``."""
    return f"{NS}:in:{source}"


def seen(source: str) -> str:
    """Set of event ids already applied for a source (the idempotency markers)."""
    return f"{NS}:seen:{source}"


def source_status(source: str) -> str:
    """Hash: last event time, last ingest time and counts for one upstream source."""
    return f"{NS}:src:{source}"


#: Hash licence number -> JSON record (the current state of each licence).
LICENCES = f"{NS}:lic"
#: Hash licence number -> "version_ms status county lon lat cell_r4 cell_r5 ..." used by the Lua apply.
LICENCE_META = f"{NS}:lic:meta"
#: GEO sorted set of licence numbers at their WGS-84 points (raw points for small viewports).
LICENCE_GEO = f"{NS}:lic:geo"
#: Integer bumped after every applied batch; map layers and caches key on it.
LICENCE_VERSION = f"{NS}:lic:version"


#: Prefixes of the two counter families below (the Lua apply script builds the full names from them).
LICENCE_CELLS_PREFIX = f"{NS}:lic:h3:"
LICENCE_COUNTS_PREFIX = f"{NS}:lic:count:"


def licence_cells(resolution: int, status: str) -> str:
    """Hash H3 cell -> number of licences with ``status`` in that cell at ``resolution``."""
    return f"{LICENCE_CELLS_PREFIX}{resolution}:{status}"


def licence_counts(status: str) -> str:
    """Hash region adcode (county, city and province) -> number of licences with ``status``."""
    return f"{LICENCE_COUNTS_PREFIX}{status}"


def indicator(name: str) -> str:
    """Hash of one indicator family: field ``data`` (JSON), ``version`` and ``computed_at``."""
    return f"{NS}:ind:{name}"


def indicator_debounce(name: str) -> str:
    """Short-lived marker: a recompute of ``name`` is already queued."""
    return f"{NS}:ind:{name}:queued"


def simulator_state(source: str) -> str:
    """Hash: how far the upstream simulator of ``source`` got (so a restart resumes, not repeats)."""
    return f"{NS}:sim:{source}"


def day_counts(source: str, day: str) -> str:
    """Hash of counters of one source on one local day (``YYYYMMDD``), e.g. ``"320102:ok"`` → 12."""
    return f"{NS}:day:{source}:{day}"


def records(source: str) -> str:
    """Hash id → JSON record of the things a source tracks (cases, complaints)."""
    return f"{NS}:rec:{source}"


#: Hash licence number -> epoch ms of its latest inspection.
LAST_INSPECTION = f"{NS}:insp:last"


#: Stream: audit of dead-letter re-drives, one entry per letter (who, when, which letter, new entry id).
REDRIVE_AUDIT = f"{NS}:audit:redrive"
#: Hash source -> number of that source's dead letters currently in ``wf:dead``.
DEAD_COUNTS = f"{NS}:dead:count"


def ingest_counter(source: str, width_s: int, bucket: int) -> str:
    """Counter (expires): entries of ``source`` taken in during bucket ``bucket`` of ``width_s`` seconds."""
    return f"{NS}:rate:{source}:{width_s}:{bucket}"


def simulator_clock() -> str:
    """Hash: the simulated clock shared by all upstream simulators (cursor, licence trickle anchor)."""
    return f"{NS}:sim:clock"


def coverage(county: int | str) -> str:
    """Sorted set: valid licences of a county → time of their latest inspection (see docs/state.md)."""
    return f"{NS}:cov:{county}"


def days_index(source: str) -> str:
    """Sorted set of the days that have counters for ``source`` (score: the day's midnight, ms)."""
    return f"{NS}:days:{source}"


#: Set of "<source>:<day>" whose counters changed since an incremental reader last took them.
DIRTY_DAYS = f"{NS}:days:dirty"


def observations(kind: str) -> str:
    """Sorted set of observations for warnings: ``far``, ``inactive`` or ``holder`` (docs/state.md)."""
    return f"{NS}:obs:{kind}"


#: Hash warning id -> JSON; sorted set of open warning ids by raised time; condition key -> open id.
WARNINGS = f"{NS}:warn"
OPEN_WARNINGS = f"{NS}:warn:open"
WARNING_CONDITIONS = f"{NS}:warn:cond"


def indicator_window(days: int) -> str:
    """Hash of the indicators of one window (1 = today, 7, 30, 90 days): adcode → JSON of that region."""
    return indicator(f"w{days}")


#: Hash: version, computed_at, as_of_ms, windows, mode of the indicators in ``indicator_window(…)``.
INDICATOR_META = indicator("meta")
#: String: random token set by the first indicator reader; a flushed or different Redis has another one,
#: which tells a worker's in-process cache of day counters to rebuild (docs/indicators.md).
INDICATOR_EPOCH = indicator("epoch")
#: Stream of the ``wf:days:dirty`` members each indicator run took (entry id ``<seq>-1``), and the
#: counter of those takes: a worker whose cache missed some takes re-reads the days they named.
DIRTY_LOG = f"{NS}:days:dirty:log"
DIRTY_SEQ = f"{NS}:days:dirty:seq"


def session(digest: str) -> str:
    """Hash of one signed-in browser session (name, times), keyed by the SHA-256 of its session id."""
    return f"{NS}:session:{digest}"


def login_failures(name: str, address: str) -> str:
    """Counter (expires): failed sign-ins of ``name`` from ``address`` (the login rate limit)."""
    return f"{NS}:login:fail:{address}:{name}"


#: Stream: every transition of every warning, append-only (who, when, action, from, to, note).
WARNING_AUDIT = f"{NS}:audit:warn"
#: Stream: dispatches of warnings to units, for the upstream case system to read.
OUT_DISPATCH = f"{NS}:out:dispatch"


def warning_audit(warning_id: str) -> str:
    """Stream: the transitions of one warning, append-only, oldest first (its audit trail)."""
    return f"{NS}:audit:warn:{warning_id}"
