"""The warning job: read what the detectors need, run them at ``now``, raise / update, announce.

Two ways in, both with fixed RQ job ids so runs never pile up (docs/warnings.md):

- :func:`schedule_warnings` — the consumer calls it after every batch; a SET NX marker debounces it
  to one run per ``warnings.debounce_seconds``, and nothing is enqueued while the last run is still
  queued or running;
- :func:`ensure_periodic` — a run every ``warnings.detect_every_seconds`` (RQ ``Repeat`` on one job
  id, moved to the queue by the worker's scheduler), for what time alone changes (a county falling
  silent). Call it at worker start and now and then: it re-arms a chain broken by a job that failed
  all its retries, and does nothing while the chain is alive.

Both enqueue :func:`detect_warnings` with ``Retry``: a failed run, or one whose worker died (RQ's
started-job cleanup), is run again; the store's transaction makes a repeated run harmless.
"""

from __future__ import annotations

import dataclasses
import time

import orjson
import redis
from rq import Queue, Retry, get_current_job

from alerts.store import UpsertResult, upsert_warnings
from core import keys
from core.jobs import ensure_repeating, is_alive
from core.settings import Settings, WarningSettings
from indicators import warning_inputs as inputs
from indicators.warning_inputs import Inputs
from indicators.warnings import (
    DAY_MS,
    Candidate,
    complaint_spikes,
    corridor_surges,
    coverage_gaps,
    day_of,
    day_start_ms,
    hotspot,
    inspection_silences,
    shift_day,
)
from indicators.warnings_obs import (
    HOUR_MS,
    case_clusters,
    corridor_evidence,
    holder_several,
    inactive_receiving,
    licence_misuse,
)

DETECT_JOB_ID = "wf-warnings-detect"
PERIODIC_JOB_ID = "wf-warnings-periodic"
RETRY = Retry(max=3, interval=[0, 5, 30])


def job_config(settings: Settings) -> dict:
    """What a run needs from the settings (small and JSON-able: it travels in the RQ job)."""
    return {
        "warnings": settings.warnings.model_dump(mode="json"),
        "coverage_target": settings.indicators.coverage_target,
        "province": settings.geo.province_adcode,
        "data_dir": str(settings.path(settings.geo.data_dir)),
    }


def detection_now(r: redis.Redis) -> int:
    """The time a run judges at (ms): the wall clock, or the simulator's clock when that is ahead (a
    demo replaying days in minutes stamps its events with simulated time)."""
    now = int(time.time() * 1000)
    cursor = r.hget(keys.simulator_clock(), "cursor")
    return max(now, int(float(cursor) * 1000)) if cursor else now


def _capped(c: Candidate, cap: int) -> Candidate:
    return dataclasses.replace(c, evidence={k: v[-cap:] for k, v in c.evidence.items()})


def candidates(data: Inputs, cfg: dict, now_ms: int) -> list[Candidate]:
    """Every detector over ``data`` at ``now_ms``: the candidate warnings (pure, given the inputs)."""
    w = WarningSettings.model_validate(cfg["warnings"])
    province, seats = cfg["province"], inputs.seats(cfg["data_dir"])
    out: list[Candidate] = []

    far = data.far
    far = far[far["t"] <= now_ms]  # as of now, whatever arrived since
    recent = far[far["t"] > now_ms - w.misuse.window_hours * HOUR_MS]["licence_no"].value_counts()
    out += licence_misuse(
        far, data.places(recent[recent >= w.misuse.min_obs].index), now_ms, w.misuse, province
    )
    since = day_start_ms(shift_day(day_of(now_ms), -1))
    for s in corridor_surges(data.flows, data.scan_days, now_ms, w.corridor, province, seats):
        seen = far[(far["county"] == s.facts["to"]) & (far["t"] >= since)]
        evidence = corridor_evidence(seen, data.places(seen["licence_no"]), s.facts["from"])
        out.append(dataclasses.replace(s, evidence=evidence))

    away = set(far["event_id"])
    inactive = data.inactive[~data.inactive["event_id"].isin(away)]
    counts = inactive["licence_no"].value_counts()
    places = data.places(counts[counts >= w.inactive.min_scans].index)
    out += inactive_receiving(inactive, places, now_ms, w.inactive, away)
    places = data.places(data.holders["licence_no"])
    out += holder_several(data.holders, places, now_ms, w.holder, province)
    out += case_clusters(data.cases, now_ms, w.cluster, province)
    out += inspection_silences(data.inspections, data.inspection_days, now_ms, w.silence, seats)
    if data.coverage is not None:
        covered, valid = data.coverage
        target = cfg["coverage_target"]
        first, flagged = data.first_inspection_ms, data.flagged_gaps
        out += coverage_gaps(covered, valid, first, now_ms, w.coverage, target, seats, flagged)

    spikes = complaint_spikes(data.complaints, data.complaint_days, now_ms, w.complaint, seats)
    if spikes:
        records = data.complaint_records({s.region for s in spikes}, {s.facts["day"] for s in spikes})
        for s in spikes:
            mine = records[(records["county"] == s.region) & (records["t"] <= now_ms)]
            mine = mine[mine["t"].map(day_of) == s.facts["day"]]
            ids = [str(x) for x in mine.sort_values(["t", "complaint_id"])["complaint_id"]]
            out.append(dataclasses.replace(s, place=hotspot(mine) or s.place, evidence={"complaints": ids}))
    return [_capped(c, w.evidence_cap) for c in out]


def detect(r: redis.Redis, cfg: dict, now_ms: int) -> list[Candidate]:
    """Every detector over the state in Redis at ``now_ms``."""
    return candidates(
        inputs.read_inputs(r, WarningSettings.model_validate(cfg["warnings"]), now_ms), cfg, now_ms
    )


def run_detection(r: redis.Redis, cfg: dict, now_ms: int | None = None) -> UpsertResult:
    """Detect at ``now_ms`` (default :func:`detection_now`), store, trim old observations, announce."""
    now = detection_now(r) if now_ms is None else int(now_ms)
    w = WarningSettings.model_validate(cfg["warnings"])
    found = [c.as_dict() for c in detect(r, cfg, now)]
    result = upsert_warnings(r, found, now, int(w.rearm_hours * HOUR_MS), w.evidence_cap)
    inputs.trim_observations(
        r,
        {
            "far": now - inputs.far_horizon(w) - DAY_MS,
            "inactive": now - int(w.inactive.window_hours * HOUR_MS) - DAY_MS,
            "holder": now - int(w.holder.window_days * DAY_MS) - DAY_MS,
        },
    )
    if result.raised or result.updated:
        message = {
            "topic": "warnings",
            "raised": result.raised,
            "updated": result.updated,
            "regions": sorted(result.regions),
            "open": r.zcard(keys.OPEN_WARNINGS),
            "at": now,
        }
        r.publish(keys.UPDATES, orjson.dumps(message))
    return result


def detect_warnings(cfg: dict, now_ms: int | None = None) -> dict[str, int]:
    """RQ job: one detection run on the job's own connection; returns the counts for the job result."""
    result = run_detection(get_current_job().connection, cfg, now_ms)
    return {"raised": len(result.raised), "updated": len(result.updated), "unchanged": len(result.unchanged)}


def schedule_warnings(r: redis.Redis, settings: Settings, now_ms: int | None = None) -> bool:
    """Enqueue a detection run after a batch, at most one per debounce interval and never a second
    while one is queued or running. ``now_ms`` pins the run's clock (tests); None = the run's now."""
    debounce_ms = int(settings.warnings.debounce_seconds * 1000)
    if debounce_ms and not r.set(keys.indicator_debounce("warnings"), 1, nx=True, px=debounce_ms):
        return False
    queue = Queue(settings.worker.queue, connection=r)
    if is_alive(queue, DETECT_JOB_ID):
        return False
    queue.enqueue(
        detect_warnings,
        job_config(settings),
        now_ms,
        job_id=DETECT_JOB_ID,
        retry=RETRY,
        result_ttl=300,
        failure_ttl=86400,
    )
    return True


def ensure_periodic(r: redis.Redis, settings: Settings) -> bool:
    """Make sure a detection run is scheduled every ``detect_every_seconds``; True when (re)armed."""
    queue = Queue(settings.worker.queue, connection=r)
    return ensure_repeating(
        queue,
        PERIODIC_JOB_ID,
        detect_warnings,
        (job_config(settings), None),
        settings.warnings.detect_every_seconds,
        RETRY,
    )
