"""The stream consumer: read ``wf:in:licence`` with consumer group ``ingest``, validate, apply, ack.

Per batch: XREADGROUP → validate each entry (invalid ones become dead letters with their reason) →
place points → apply the valid events in one atomic, idempotent script → in one MULTI, add the dead
letters and XACK every entry of the batch → announce the new state on ``wf:updates``. A crash at any
point re-delivers the batch and the "seen" markers make the second application a no-op.

Run it with ``python -m streams.consumer``.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass

import orjson
import redis

from core import keys
from core.settings import Settings
from geo.boundaries import Regions
from indicators.jobs import schedule_licence_indicators
from streams.deadletter import add_dead_letter
from streams.licences import LicenceStore, active_counts
from streams.retention import trim_acknowledged
from streams.schema import Event, InvalidEvent, parse_entry


@dataclass(frozen=True)
class BatchReport:
    """Counts for one batch, for logs and tests."""

    read: int = 0
    applied: int = 0
    duplicates: int = 0
    stale: int = 0
    dead: int = 0
    version: int = 0


class LicenceConsumer:
    """One consumer of the ``ingest`` group on the licence stream."""

    source = "licence"

    def __init__(
        self,
        r: redis.Redis,
        settings: Settings,
        store: LicenceStore,
        announce_regions: list[int],
        name: str | None = None,
    ) -> None:
        self.r = r
        self.announce_regions = announce_regions
        self.settings = settings
        self.store = store
        self.stream = keys.inbound(self.source)
        self.group = settings.consumer.group
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        # After a restart, first finish what this consumer had read but not acknowledged.
        self._cursor = "0"
        self._next_trim = 0.0

    def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if they do not exist yet."""
        try:
            self.r.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def run_once(self, block_ms: int | None = None) -> BatchReport:
        """Read and process one batch; returns what happened (all zeros when nothing arrived)."""
        cfg = self.settings.consumer
        if self._cursor == "0":
            pending = self._read("0", None)
            if pending:
                return self.process(pending)
            self._cursor = ">"
        return self.process(self._read(">", cfg.block_ms if block_ms is None else block_ms))

    def _read(self, cursor: str, block: int | None) -> list[tuple[bytes, dict | None]]:
        reply = self.r.xreadgroup(
            self.group, self.name, {self.stream: cursor}, count=self.settings.consumer.batch_size, block=block
        )
        return reply[0][1] if reply else []

    def process(self, entries: list[tuple[bytes, dict | None]]) -> BatchReport:
        """Validate, apply and acknowledge a list of (entry id, fields) read from the stream."""
        now_ms = int(time.time() * 1000)
        events: list[Event] = []
        event_ids: list[str] = []
        dead: list[tuple[str, dict | None, str]] = []
        for raw_id, fields in entries:
            entry_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
            if not fields:
                dead.append((entry_id, fields, "entry: gone from the stream before it was processed"))
                continue
            try:
                events.append(parse_entry(self.source, fields))
                event_ids.append(entry_id)
            except InvalidEvent as exc:
                dead.append((entry_id, fields, exc.reason))
        fields_by_id = {(k.decode() if isinstance(k, bytes) else k): f for k, f in entries}
        places, errors = self.store.place(events)
        keep = [i for i, err in enumerate(errors) if err is None]
        for i, err in enumerate(errors):
            if err is not None:
                dead.append((event_ids[i], fields_by_id[event_ids[i]], err))
        result = (
            self.store.apply([events[i] for i in keep], [places[i] for i in keep], now_ms) if keep else None
        )
        pipe = self.r.pipeline(transaction=True)
        for entry_id, fields, reason in dead:
            add_dead_letter(pipe, self.source, entry_id, fields, reason, now_ms)
        if entries:
            pipe.xack(self.stream, self.group, *[k for k, _ in entries])
        pipe.execute()
        if result is not None and result.applied:
            self.announce(result.version, now_ms)
            schedule_licence_indicators(self.r, self.settings)
        return BatchReport(
            read=len(entries),
            applied=result.applied if result else 0,
            duplicates=result.duplicates if result else 0,
            stale=result.stale if result else 0,
            dead=len(dead),
            version=result.version if result else 0,
        )

    def announce(self, version: int, ingest_ms: int) -> None:
        """Publish the new licence counts of the province and its cities on ``wf:updates``."""
        message = {
            "topic": "licence",
            "version": version,
            "last_ingest_ms": ingest_ms,
            "active": {str(k): v for k, v in active_counts(self.r, self.announce_regions).items()},
        }
        self.r.publish(keys.UPDATES, orjson.dumps(message))

    def maybe_trim(self) -> int:
        """Every ``consumer.trim_every_seconds``, trim acknowledged entries past the retention."""
        if time.monotonic() < self._next_trim:
            return 0
        self._next_trim = time.monotonic() + self.settings.consumer.trim_every_seconds
        retention_ms = int(self.settings.consumer.retention_hours * 3600 * 1000)
        return trim_acknowledged(self.r, self.stream, int(time.time() * 1000), retention_ms)

    def run(self, stop: threading.Event) -> None:
        """Process batches until ``stop`` is set."""
        self.ensure_group()
        while not stop.is_set():
            try:
                self.run_once()
                self.maybe_trim()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                # a Redis blip: unacknowledged entries stay pending and are re-read after it
                print(
                    f"consumer {self.name}: Redis unreachable ({exc}); retrying", file=sys.stderr, flush=True
                )
                self._cursor = "0"
                stop.wait(self.settings.redis.retry_seconds)
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                self.ensure_group()  # the stream or group was deleted under us: recreate and go on


def announce_regions(settings: Settings, regions: Regions) -> list[int]:
    """The regions whose counts every batch announces: the province and its cities."""
    return [settings.geo.province_adcode, *(int(a) for a in regions.cities["adcode"])]


def main() -> None:
    """Entry point of ``python -m streams.consumer``."""
    from core.connection import connect_or_exit
    from core.settings import load_or_exit
    from geo.boundaries import load_regions
    from geo.index import RegionIndex

    settings = load_or_exit()
    r = connect_or_exit(settings)
    regions = load_regions(settings)
    store = LicenceStore(r, RegionIndex(regions), settings.map.h3_resolutions)
    consumer = LicenceConsumer(r, settings, store, announce_regions(settings, regions))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"consumer {consumer.name}: reading {consumer.stream} as group {consumer.group}", flush=True)
    consumer.run(stop)


if __name__ == "__main__":
    main()
