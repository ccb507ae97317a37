"""The simulated clock: instants as integer epoch seconds, shown in China Standard Time (+08:00).

Every simulated source works on plain epoch seconds (UTC-based, vectorisable) and formats them with
the +08:00 offset only when an entry is written. Working hours are those of a county bureau:
08:30–12:00 and 14:00–17:30, Monday to Friday (public holidays are not modelled).
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np

CST = dt.timezone(dt.timedelta(hours=8))
#: The origin of every per-instant schedule (the licence trickle's k = 0): midnight of the licence
#: simulator's reference day, 2026-11-01 (a Sunday), in Beijing time.
EPOCH = dt.datetime(2026, 11, 1, tzinfo=CST)
EPOCH_TS = int(EPOCH.timestamp())
#: Where offline scenarios start unless told otherwise: the Monday after the reference day.
DEFAULT_START = dt.datetime(2026, 11, 2, tzinfo=CST)
DAY = 86400
#: Working sessions in seconds after local midnight.
SESSIONS = ((8 * 3600 + 30 * 60, 12 * 3600), (14 * 3600, 17 * 3600 + 30 * 60))
WORK_SECONDS = sum(b - a for a, b in SESSIONS)  # 25,200 s = 7 h


def ts(when: dt.datetime) -> int:
    """Epoch seconds of an aware datetime (a naive one is taken to be Beijing time)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=CST)
    return int(when.timestamp())


def iso(seconds: float) -> str:
    """ISO 8601 with the +08:00 offset, to the second (``2026-11-02T09:15:04+08:00``)."""
    return dt.datetime.fromtimestamp(int(seconds), CST).isoformat()


def day_of(seconds: float) -> dt.date:
    """The local (Beijing) calendar day of an instant."""
    return dt.datetime.fromtimestamp(int(seconds), CST).date()


def midnight(day: dt.date) -> int:
    """Epoch seconds of local midnight starting ``day``."""
    return int(dt.datetime.combine(day, dt.time(0), CST).timestamp())


def days_between(start: int, end: int) -> list[dt.date]:
    """Local days that overlap the half-open interval [start, end)."""
    if end <= start:
        return []
    first, last = day_of(start), day_of(end - 1)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def is_workday(day: dt.date) -> bool:
    return day.weekday() < 5


def workday_index(day: dt.date) -> int:
    """Number of working days from the epoch's day to ``day`` (negative before it)."""
    return int(np.busday_count(EPOCH.date(), day))


def work_offsets(seconds_of_work: np.ndarray) -> np.ndarray:
    """Map seconds into the 7-hour working day (0 … 25,200) to seconds after local midnight."""
    s = np.asarray(seconds_of_work, dtype=np.int64)
    first = SESSIONS[0][1] - SESSIONS[0][0]
    return np.where(s < first, SESSIONS[0][0] + s, SESSIONS[1][0] + (s - first))


def in_working_hours(seconds: float) -> bool:
    """Whether an instant lies in a working session of a working day (for tests and checks)."""
    local = dt.datetime.fromtimestamp(int(seconds), CST)
    sod = local.hour * 3600 + local.minute * 60 + local.second
    return is_workday(local.date()) and any(a <= sod <= b for a, b in SESSIONS)


class SimClock:
    """Simulated time running ``speed`` times faster than the real (monotonic) clock from ``start``."""

    def __init__(self, start: float, speed: float) -> None:
        self.start = float(start)
        self.speed = float(speed)
        self._real0 = time.monotonic()

    def now(self) -> float:
        """The simulated instant (epoch seconds) now."""
        return self.start + (time.monotonic() - self._real0) * self.speed

    def real_seconds_until(self, sim_seconds: float) -> float:
        """Real seconds to wait until the simulated clock reaches ``sim_seconds`` (0 if past)."""
        return max(0.0, (sim_seconds - self.now()) / self.speed)
