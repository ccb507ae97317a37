"""The stream consumer: read every ``wf:in:<source>`` with consumer group ``ingest``, validate, apply, ack.

Per batch: XREADGROUP over all sources → validate each entry (invalid ones become dead letters with
their reason) → place points or addresses → apply each source's valid events in one atomic,
idempotent script → in one MULTI add the dead letters and XACK every entry of the batch → announce
on ``wf:updates``. A crash at any point re-delivers the batch and the "seen" markers make the second
application a no-op. Entries left pending by a dead consumer are claimed after
``consumer.claim_idle_ms``; one delivered ``consumer.max_deliveries`` times is poison and goes to
``wf:dead``. Run it with ``python -m streams.consumer``.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import orjson
import redis

from core import keys
from core.runtime import tune_gc
from core.settings import Settings
from geo.boundaries import Regions
from indicators.jobs import schedule_indicators
from indicators.warning_jobs import schedule_warnings
from streams.batch import BatchReport, Entry, Prepared, Store, as_text, prepare_batch, raw_streams
from streams.deadletter import add_dead_letter
from streams.licences import ApplyResult, active_counts
from streams.ops import record_ingest
from streams.retention import trim_acknowledged
from streams.schema import SOURCES


class Consumer:
    """One consumer of the ``ingest`` group, on the streams of every source it has a store for."""

    def __init__(
        self,
        r: redis.Redis,
        settings: Settings,
        stores: dict[str, Store],
        announce_regions: list[int],
        name: str | None = None,
    ) -> None:
        self.r = r
        self.settings = settings
        self.stores = stores
        self.announce_regions = announce_regions
        self.group = settings.consumer.group
        self.name = name or settings.consumer.name or f"{socket.gethostname()}-{os.getpid()}"
        self.streams = {keys.inbound(s): s for s in stores}
        # A client of its own for reading: same connections, but a lean parser for stream replies.
        self.reader = redis.Redis(connection_pool=r.connection_pool)
        self.reader.set_response_callback("XREADGROUP", raw_streams)
        # After a restart, first finish what this consumer had read but not acknowledged.
        self._cursor = "0"
        self._next_trim = 0.0
        self._next_claim = 0.0

    def ensure_groups(self) -> None:
        """Create the consumer group (and the streams) where they do not exist yet."""
        for stream in self.streams:
            try:
                self.r.xgroup_create(stream, self.group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def _read(self, cursor: str, block: int | None) -> dict[str, list[Entry]]:
        count = self.settings.consumer.batch_size
        reply = self.r.xreadgroup(
            self.group, self.name, dict.fromkeys(self.streams, cursor), count=count, block=block
        )
        return {self.streams[as_text(stream)]: entries for stream, entries in (reply or []) if entries}

    def run_once(self, block_ms: int | None = None) -> BatchReport:
        """Read and process one batch; returns what happened (all zeros when nothing arrived)."""
        if self._cursor == "0":
            pending = self._read("0", None)
            if pending:
                return self.process(pending)
            self._cursor = ">"
        block = self.settings.consumer.block_ms if block_ms is None else block_ms
        return self.process(self._read(">", block))

    def process(self, batch: dict[str, list[Entry]], extra_dead: list | None = None) -> BatchReport:
        """Validate, apply and acknowledge entries read from the streams, per source."""
        return self.commit(self.prepare(batch, extra_dead))

    def prepare(self, batch: dict[str, list[Entry]], extra_dead: list | None = None) -> Prepared:
        """Validate, place and build the apply arguments of a batch: CPU work, no Redis."""
        return prepare_batch(self.stores, batch, extra_dead)

    def commit(self, prepared: Prepared) -> BatchReport:
        """Apply a prepared batch, then dead-letter and acknowledge in one MULTI, then announce."""
        report = BatchReport(read=sum(len(e) for e in prepared.batch.values()), dead=len(prepared.dead))
        licence_result: ApplyResult | None = None
        for source, args in prepared.applies:
            result = self.stores[source].commit(args)
            report.applied += result.applied
            report.duplicates += result.duplicates
            report.stale += result.stale
            report.by_source[source] = result.applied
            if source == "licence":
                licence_result = result
        pipe = self.r.pipeline(transaction=True)
        for source, entry_id, fields, reason in prepared.dead:
            add_dead_letter(pipe, source, entry_id, fields, reason, prepared.now_ms)
        for source, entries in prepared.batch.items():
            if entries:
                pipe.xack(keys.inbound(source), self.group, *[k for k, _ in entries])
        for source, entry_id in prepared.extra_acks:
            pipe.xack(keys.inbound(source), self.group, entry_id)
        for source, entries in prepared.batch.items():
            record_ingest(pipe, source, len(entries), prepared.now_ms)  # rates for /ops
        pipe.execute()
        if licence_result is not None and licence_result.applied:
            report.version = licence_result.version
            self.announce_licences(licence_result.version, prepared.now_ms)
        if report.applied:
            self.schedule_jobs()
        others = {s: n for s, n in report.by_source.items() if s != "licence" and n}
        if others:
            message = {"topic": "events", "applied": others, "last_ingest_ms": prepared.now_ms}
            self.r.publish(keys.UPDATES, orjson.dumps(message))
        return report

    def schedule_jobs(self) -> None:
        """Ensure the (debounced) indicator and warning jobs follow this batch.

        The batch is applied and acknowledged already, and the recurring recompute catches up on
        anything a missed schedule leaves, so a job-queue error is logged and never stops ingest.
        """
        try:
            schedule_indicators(self.r, self.settings)
            schedule_warnings(self.r, self.settings)
        except (redis.ConnectionError, redis.TimeoutError):
            raise
        except Exception as exc:  # noqa: BLE001 - see the docstring
            print(f"consumer: job scheduling failed ({exc!r}); continuing", file=sys.stderr, flush=True)

    def announce_licences(self, version: int, ingest_ms: int) -> None:
        """Publish the new licence counts of the province and its cities on ``wf:updates``."""
        counts = active_counts(self.r, self.announce_regions)
        message = {
            "topic": "licence",
            "version": version,
            "last_ingest_ms": ingest_ms,
            "active": {str(k): v for k, v in counts.items()},
        }
        self.r.publish(keys.UPDATES, orjson.dumps(message))

    def claim_stuck(self) -> BatchReport:
        """Take over entries idle too long at other consumers; poison entries become dead letters."""
        cfg = self.settings.consumer
        batch: dict[str, list[Entry]] = {}
        poison: list[tuple[str, str, dict | None, str]] = []
        for stream, source in self.streams.items():
            for p in self.r.xpending_range(
                stream, self.group, "-", "+", cfg.batch_size, idle=cfg.claim_idle_ms
            ):
                if p["times_delivered"] >= cfg.max_deliveries:
                    entry_id = as_text(p["message_id"])
                    found = self.r.xrange(stream, entry_id, entry_id)
                    reason = (
                        f"entry: delivered {p['times_delivered']} times without being acknowledged (poison)"
                    )
                    poison.append((source, entry_id, found[0][1] if found else None, reason))
            _, claimed, *_ = self.r.xautoclaim(
                stream, self.group, self.name, cfg.claim_idle_ms, count=cfg.batch_size
            )
            poisoned = {p[1] for p in poison if p[0] == source}
            claimed = [(k, f) for k, f in claimed if as_text(k) not in poisoned]
            if claimed:
                batch[source] = claimed
        if not batch and not poison:
            return BatchReport()
        return self.process(batch, extra_dead=poison)

    def housekeeping(self) -> None:
        """Now and then: claim stuck entries, trim acknowledged ones past the retention."""
        now = time.monotonic()
        cfg = self.settings.consumer
        if now >= self._next_claim:
            self._next_claim = now + cfg.claim_every_seconds
            self.claim_stuck()
        if now >= self._next_trim:
            self._next_trim = now + cfg.trim_every_seconds
            retention_ms = int(cfg.retention_hours * 3600 * 1000)
            for stream in self.streams:
                trim_acknowledged(self.r, stream, int(time.time() * 1000), retention_ms)

    def run(self, stop: threading.Event) -> None:
        """Process batches until ``stop`` is set, riding out Redis blips.

        Two stages overlap: while one thread commits batch k (waiting on Redis), this one reads and
        prepares batch k+1. Commits stay in order; a batch is acknowledged only after its commit.
        """
        self.ensure_groups()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="commit") as committer:
            inflight: Future | None = None
            while not stop.is_set():
                try:
                    batch = self._next_batch()
                    prepared = self.prepare(batch) if batch else None
                    if inflight is not None:
                        inflight.result()
                        inflight = None
                    if prepared is not None:
                        inflight = committer.submit(self.commit, prepared)
                    else:
                        self.housekeeping()
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    # a Redis blip: unacknowledged entries stay pending and are re-read after it
                    print(
                        f"consumer {self.name}: Redis unreachable ({exc}); retrying",
                        file=sys.stderr,
                        flush=True,
                    )
                    inflight = None
                    self._cursor = "0"
                    stop.wait(self.settings.redis.retry_seconds)
                except redis.ResponseError as exc:
                    if "NOGROUP" not in str(exc):
                        raise
                    self.ensure_groups()  # a stream or the group was deleted under us: recreate and go on
            if inflight is not None:
                inflight.result()

    def _next_batch(self) -> dict[str, list[Entry]]:
        """The next batch: first this consumer's own pending entries (after a restart), then new ones."""
        if self._cursor == "0":
            pending = self._read("0", None)
            if pending:
                return pending
            self._cursor = ">"
        if time.monotonic() >= self._next_claim or time.monotonic() >= self._next_trim:
            self.housekeeping()
        return self._read(">", self.settings.consumer.block_ms)


def announce_regions(settings: Settings, regions: Regions) -> list[int]:
    """The regions whose counts every licence batch announces: the province and its cities."""
    return [settings.geo.province_adcode, *(int(a) for a in regions.cities["adcode"])]


def build_stores(r: redis.Redis, settings: Settings, regions: Regions, index) -> dict[str, Store]:
    """One state writer per source."""
    from streams.event_store import EventStore
    from streams.licences import LicenceStore
    from streams.placement import Placer

    index.build_grid()
    placer = Placer(regions, index)
    stores: dict[str, Store] = {"licence": LicenceStore(r, index, settings.map.h3_resolutions)}
    for source in SOURCES:
        if source != "licence":
            stores[source] = EventStore(r, source, placer, settings.warnings.far_km)
    return stores


def main() -> None:
    """Entry point of ``python -m streams.consumer``."""
    from core.connection import connect_or_exit
    from core.settings import load_or_exit
    from geo.boundaries import load_regions
    from geo.index import RegionIndex

    settings = load_or_exit()
    r = connect_or_exit(settings)
    regions = load_regions(settings)
    consumer = Consumer(
        r,
        settings,
        build_stores(r, settings, regions, RegionIndex(regions)),
        announce_regions(settings, regions),
    )
    tune_gc()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(
        f"consumer {consumer.name}: reading {', '.join(consumer.streams)} as group {consumer.group}",
        flush=True,
    )
    consumer.run(stop)


if __name__ == "__main__":
    main()
