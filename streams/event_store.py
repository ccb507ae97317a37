"""State of the non-licence sources: each batch's operations applied atomically with its markers."""

from __future__ import annotations

import time

import redis

from core import keys
from streams.effects import Place, effects
from streams.licences import ApplyResult, lua_script
from streams.placement import Placer
from streams.schema import Event

_SCRIPT = lua_script("apply_effects.lua")


class EventStore:
    """Applies inspection, case, scan and complaint events of one source."""

    def __init__(self, r: redis.Redis, source: str, placer: Placer, far_km: float = 1.0) -> None:
        self.r = r
        self.far_km = far_km
        self.source = source
        self.placer = placer
        self._script = r.register_script(_SCRIPT)

    def place(self, events: list[Event]) -> tuple[list[Place | None], list[str | None]]:
        """Place the batch (see :class:`streams.placement.Placer`)."""
        return self.placer.place(events)

    def apply(
        self, events: list[Event], places: list[Place | None], now_ms: int | None = None
    ) -> ApplyResult:
        """Apply validated, placed events in one atomic script call."""
        return self.commit(self.prepare(events, places, now_ms))

    def prepare(self, events: list[Event], places: list[Place | None], now_ms: int | None = None) -> list:
        """The script arguments for a batch (CPU only: may run while the previous batch commits)."""
        args: list[str | int | float] = [
            now_ms if now_ms is not None else int(time.time() * 1000),
            len(events),
            keys.LICENCE_META,
            keys.coverage(""),
            keys.observations("far"),
            keys.observations("inactive"),
            self.far_km,
        ]
        for event, place in zip(events, places, strict=True):
            ops = effects(event, place)
            args += [event.id, event.occurred_ms, len(ops)]
            for op in ops:
                args.extend(op)
        return args

    def commit(self, args: list) -> ApplyResult:
        """Run the apply script on prepared arguments."""
        applied, dups, last = self._script(
            keys=[keys.seen(self.source), keys.source_status(self.source)], args=args
        )
        return ApplyResult(int(applied), int(dups), 0, 0, int(last))
