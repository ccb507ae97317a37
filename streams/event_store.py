"""State of the non-licence sources: each batch's operations applied atomically with its markers."""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
import redis

from core import keys
from streams.effects import BatchEffects, Place
from streams.licences import ApplyResult, lua_script
from streams.placement import Placer
from streams.schema import Event

_SCRIPT = lua_script("apply_effects.lua")


@dataclass
class PreparedEffects:
    """A batch ready for the script: its events (to gather again without duplicates) and arguments."""

    events: list[Event]
    places: list[Place | None]
    now_ms: int
    received: int  # events handed in, duplicates within the batch included
    dropped: int  # duplicates dropped so far (within the batch, or seen before)
    args: list


class EventStore:
    """Applies inspection, case, scan and complaint events of one source."""

    def __init__(self, r: redis.Redis, source: str, placer: Placer, far_km: float = 1.0) -> None:
        self.r = r
        self.far_km = far_km
        self.source = source
        self.placer = placer
        self._script = r.register_script(_SCRIPT)
        self._keys = [keys.seen(source), keys.source_status(source)]

    def place(self, events: list[Event]) -> tuple[list[Place | None], list[str | None]]:
        """Place the batch (see :class:`streams.placement.Placer`)."""
        return self.placer.place(events)

    def apply(
        self, events: list[Event], places: list[Place | None], now_ms: int | None = None
    ) -> ApplyResult:
        """Apply validated, placed events in one atomic script call (two when some were seen before)."""
        return self.commit(self.prepare(events, places, now_ms))

    def prepare(
        self, events: list[Event], places: list[Place | None], now_ms: int | None = None
    ) -> PreparedEffects:
        """Gather the batch's operations (CPU only: may run while the previous batch commits).

        An id met twice in the batch counts once: the first one wins, as in the order of the stream.
        """
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        ids = {e.id for e in events}
        if len(ids) < len(events):
            first: dict[str, int] = {}
            for i, e in enumerate(events):
                first.setdefault(e.id, i)
            keep = sorted(first.values())
            events, places, dropped = [events[i] for i in keep], [places[i] for i in keep], len(events)
            dropped -= len(keep)
        else:
            dropped = 0
        pending = PreparedEffects(events, places, now_ms, len(events) + dropped, dropped, [])
        pending.args = self._args(pending)
        return pending

    def _args(self, p: PreparedEffects) -> list:
        gathered = BatchEffects(self.source)
        last_event = 0
        for event, place in zip(p.events, p.places, strict=True):
            gathered.add(event, place)
            if event.occurred_ms > last_event:
                last_event = event.occurred_ms
        return [
            p.now_ms,
            p.received,
            last_event,
            keys.LICENCE_META,
            keys.coverage(""),
            keys.observations("far"),
            keys.observations("inactive"),
            self.far_km,
            keys.LAST_INSPECTION,
            keys.days_index(self.source),
            keys.DIRTY_DAYS,
            orjson.dumps(gathered.document([e.id for e in p.events])),
        ]

    def commit(self, p: PreparedEffects) -> ApplyResult:
        """Run the apply script; when it reports ids seen before, drop those events and run it again."""
        while True:
            reply = self._script(keys=self._keys, args=p.args)
            if int(reply[0]) >= 0:
                applied, _, last = reply
                return ApplyResult(int(applied), p.dropped, 0, 0, int(last))
            seen = {int(i) - 1 for i in reply[1:]}
            keep = [i for i in range(len(p.events)) if i not in seen]
            p.events, p.places = [p.events[i] for i in keep], [p.places[i] for i in keep]
            p.dropped += len(seen)
            p.args = self._args(p)
