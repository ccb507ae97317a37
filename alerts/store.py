"""The warning store: one open warning per condition, raised once and then updated (docs/warnings.md).

A detector run hands over candidate warnings (plain dicts: ``type``, ``condition``, ``level``,
``region``, ``regions``, ``place``, ``facts``, ``evidence``). :func:`upsert_warnings` writes them in one
optimistic transaction (WATCH / MULTI / EXEC, retried on conflict), so concurrent runs — the
batch-triggered and the periodic job on two workers, or a retried job — never raise the same
condition twice:

- a condition with an open warning that was still seen within ``rearm_ms`` updates it: evidence
  merged (new items appended, the oldest dropped beyond ``cap``), facts, regions and place replaced,
  the level only ever escalates; ``updated_at`` is bumped when any of that changed, ``seen_at``
  always;
- otherwise a new warning is raised (a condition that stopped holding for longer than ``rearm_ms``
  is a new incident; the old warning stays open for the duty officers).

Layout in Redis (docs/state.md): ``wf:warn`` id → JSON, ``wf:warn:open`` id → raised_at,
``wf:warn:cond`` condition → id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
import redis

from core import keys

#: China's four warning colours, by level: I is the most severe.
LEVEL_COLOURS: dict[int, str] = {1: "red", 2: "orange", 3: "yellow", 4: "blue"}
COLOUR_LEVELS: dict[str, int] = {c: lv for lv, c in LEVEL_COLOURS.items()}
#: What a detector may change on an open warning (a change bumps ``updated_at``).
_MUTABLE = ("level", "colour", "region", "regions", "place", "facts", "evidence")


def colour_of(level: int) -> str:
    """The colour of a level (1 red … 4 blue)."""
    return LEVEL_COLOURS[level]


def level_of(colour: str) -> int:
    """The level of a colour (red 1 … blue 4)."""
    return COLOUR_LEVELS[colour]


def warning_id(condition: str, raised_at_ms: int) -> str:
    """A stable id: the raise time plus a digest of the condition (a retried job makes the same one)."""
    digest = hashlib.sha1(f"{condition}@{raised_at_ms}".encode()).hexdigest()[:8]
    return f"W{raised_at_ms}-{digest}"


def merge_evidence(old: dict[str, list], new: dict[str, list], cap: int) -> dict[str, list]:
    """Union per kind (events, licences, cases, complaints), in first-seen order, the newest ``cap``."""
    out: dict[str, list] = {}
    for kind in sorted(set(old) | set(new)):
        items = list(old.get(kind, []))
        seen = set(items)
        items += [x for x in new.get(kind, []) if x not in seen and not seen.add(x)]
        if items:
            out[kind] = items[-cap:]
    return out


@dataclass
class UpsertResult:
    """Warning ids by what happened to them in one run."""

    raised: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    regions: set[int] = field(default_factory=set)


def _merge(old: dict, cand: dict, now_ms: int, cap: int) -> tuple[dict, bool]:
    """The open warning ``old`` updated with the candidate; True when something shown changed."""
    # Escalate only: a fading surge stays red, and keeps the facts of its most severe run, so the
    # colour and the numbers shown with it agree.
    worse = int(cand["level"]) <= int(old["level"])
    level = int(cand["level"]) if worse else int(old["level"])
    new = {
        **old,
        "level": level,
        "colour": colour_of(level),
        "region": cand["region"],
        "regions": cand["regions"],
        "place": cand["place"],
        "facts": cand["facts"] if worse else old["facts"],
        "evidence": merge_evidence(old.get("evidence", {}), cand.get("evidence", {}), cap),
        "seen_at": now_ms,
    }
    changed = any(new[k] != old.get(k) for k in _MUTABLE)
    if changed:
        new["updated_at"] = now_ms
    return new, changed


def _raise(cand: dict, now_ms: int, cap: int) -> dict:
    level = int(cand["level"])
    return {
        "id": warning_id(cand["condition"], now_ms),
        "type": cand["type"],
        "condition": cand["condition"],
        "colour": colour_of(level),
        "level": level,
        "region": cand["region"],
        "regions": cand["regions"],
        "place": cand["place"],
        "facts": cand["facts"],
        "evidence": merge_evidence({}, cand.get("evidence", {}), cap),
        "raised_at": now_ms,
        "updated_at": now_ms,
        "seen_at": now_ms,
        "state": "raised",
        "due_at": None,
        "replied_at": None,
    }


def upsert_warnings(
    r: redis.Redis, candidates: Iterable[dict], now_ms: int, rearm_ms: int, cap: int
) -> UpsertResult:
    """Raise or update one warning per candidate condition, atomically for the whole run."""
    cands = {c["condition"]: c for c in candidates}  # one per condition (the last wins)
    if not cands:
        return UpsertResult()
    conditions = sorted(cands)
    with r.pipeline() as pipe:
        while True:
            result = UpsertResult()
            try:
                pipe.watch(keys.WARNING_CONDITIONS, keys.WARNINGS, keys.OPEN_WARNINGS)
                ids = [x.decode() if x else None for x in pipe.hmget(keys.WARNING_CONDITIONS, conditions)]
                known = [i for i in ids if i]
                raw = dict(zip(known, pipe.hmget(keys.WARNINGS, known), strict=True)) if known else {}
                scores = (
                    dict(zip(known, pipe.zmscore(keys.OPEN_WARNINGS, known), strict=True)) if known else {}
                )
                writes: dict[str, bytes] = {}
                opened: dict[str, int] = {}
                links: dict[str, str] = {}
                for cond, wid in zip(conditions, ids, strict=True):
                    cand = cands[cond]
                    old = orjson.loads(raw[wid]) if wid and raw.get(wid) else None
                    live = (
                        old is not None
                        and scores.get(wid) is not None
                        and old.get("state") != "closed"
                        and now_ms - int(old.get("seen_at", old["updated_at"])) <= rearm_ms
                    )
                    if live:
                        warning, changed = _merge(old, cand, now_ms, cap)
                        (result.updated if changed else result.unchanged).append(warning["id"])
                    else:
                        warning = _raise(cand, now_ms, cap)
                        opened[warning["id"]] = now_ms
                        links[cond] = warning["id"]
                        result.raised.append(warning["id"])
                    if warning["id"] not in result.unchanged:
                        result.regions.update(int(x) for x in warning["regions"])
                        result.regions.add(int(warning["region"]))
                    writes[warning["id"]] = orjson.dumps(warning)
                pipe.multi()
                pipe.hset(keys.WARNINGS, mapping=writes)
                if opened:
                    pipe.zadd(keys.OPEN_WARNINGS, opened)
                    pipe.hset(keys.WARNING_CONDITIONS, mapping=links)
                pipe.execute()
                return result
            except redis.WatchError:
                continue  # another writer changed warnings in between: read again


def read_warning(r: redis.Redis, warning_id: str) -> dict | None:
    """One warning by id (None when unknown)."""
    raw = r.hget(keys.WARNINGS, warning_id)
    return orjson.loads(raw) if raw else None


def in_scope(warning: dict, adcode: int) -> bool:
    """Whether a user scoped to ``adcode`` (province, city or county) may see the warning."""
    code = str(adcode)
    prefix = code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code
    return any(str(x).startswith(prefix) for x in [warning["region"], *warning["regions"]])


def list_open(r: redis.Redis, scope: int | None = None, limit: int = 200) -> list[dict]:
    """Open warnings, most severe first, then the most recently raised; only those in ``scope``."""
    ids = [x.decode() for x in r.zrevrange(keys.OPEN_WARNINGS, 0, -1)]
    raws = r.hmget(keys.WARNINGS, ids) if ids else []
    found = [orjson.loads(x) for x in raws if x]
    if scope is not None:
        found = [w for w in found if in_scope(w, scope)]
    found.sort(key=lambda w: (w["level"], -w["raised_at"]))
    return found[:limit]


def open_by_condition(r: redis.Redis) -> dict[str, dict]:
    """Condition key → its open warning (for tests and the bench)."""
    links = {k.decode(): v.decode() for k, v in r.hgetall(keys.WARNING_CONDITIONS).items()}
    return {c: w for c, i in links.items() if (w := read_warning(r, i)) is not None}


def live_conditions(r: redis.Redis, kind: str, now_ms: int, rearm_ms: int) -> set[str]:
    """Conditions of type ``kind`` whose open warning was seen within ``rearm_ms`` (they still hold)."""
    links = {c.decode(): i.decode() for c, i in r.hgetall(keys.WARNING_CONDITIONS).items()}
    mine = {c: i for c, i in links.items() if c.startswith(f"{kind}:")}
    if not mine:
        return set()
    raws = dict(zip(mine.values(), r.hmget(keys.WARNINGS, list(mine.values())), strict=True))
    live = set()
    for cond, wid in mine.items():
        w = orjson.loads(raws[wid]) if raws.get(wid) else None
        if w and w.get("state") != "closed" and now_ms - int(w.get("seen_at", w["updated_at"])) <= rearm_ms:
            live.add(cond)
    return live
