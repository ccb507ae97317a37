"""Taking a warning through the closed loop: one checked, atomic, audited transition at a time.

:func:`transition` checks on the server who is asking (the role/transition table of
:mod:`alerts.loop`, the warning's region inside the user's scope), then writes the new state with
optimistic concurrency on the warning's ``version``: an officer acting on a stale view gets
:class:`Conflict` naming who acted last and the state now, never a lost update. The warning JSON in
``wf:warn``, the open set, the condition link (released on close, so a recurring condition raises a
new warning), the per-warning and global audit streams, a dispatch on ``wf:out:dispatch`` and the
announcement on ``wf:updates`` all go out in one MULTI/EXEC. docs/duty.md describes the loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
import redis

from alerts import loop
from alerts.store import in_scope, read_warning
from core import keys
from core.auth import Forbidden, User, require_role, require_user, require_view
from core.settings import LoopSettings

#: who the scheduled overdue check acts as (an admin over the whole province)
SYSTEM = "system"
NOTE_MAX = 2000
#: actions that must say something: the unit's reply, the reason for a rejection
NOTE_REQUIRED = ("reply", "reject")


@dataclass
class Conflict(Exception):
    """Somebody else acted on the warning since the caller read it (its ``version`` moved on)."""

    warning_id: str
    state: str
    version: int
    by: str
    by_name: str
    action: str
    at: int | None

    def __str__(self) -> str:
        who = self.by_name or self.by
        return f"warning {self.warning_id} was changed by {who} ({self.action}); now {self.state}"


class InvalidAction(ValueError):
    """The action does not fit the warning's state, or its fields are missing or wrong (safe to show)."""


class NotFound(LookupError):
    """No such warning."""


def read_for(r: redis.Redis, warning_id: str, user: User | None) -> dict:
    """The warning, if ``user`` may see it (same rule as the queue: any of its regions in scope)."""
    user = require_user(user)
    warning = read_warning(r, warning_id)
    if warning is None:
        raise NotFound(warning_id)
    if not in_scope(warning, user.scope):
        raise Forbidden(f"warning {warning_id} is outside the scope of user {user.name}")
    return warning


def audit_trail(r: redis.Redis, warning_id: str, user: User | None) -> list[dict]:
    """The warning's transitions, oldest first (checks the user may see the warning)."""
    read_for(r, warning_id, user)
    return [_decode(entry) for _id, entry in r.xrange(keys.warning_audit(warning_id))]


def _decode(entry: dict) -> dict:
    out = {k.decode(): v.decode() for k, v in entry.items()}
    out["at"] = int(out["at"])
    out["version"] = int(out["version"])
    out["data"] = orjson.loads(out.get("data", "{}"))
    return out


def check(warning: dict, action: str, user: User) -> None:
    """Raise unless ``user`` may take ``action`` on ``warning`` in its current state."""
    if action not in loop.TRANSITIONS:
        raise InvalidAction(f"unknown action {action!r}")
    require_role(user, *(role for role, acts in loop.ROLE_ACTIONS.items() if action in acts))
    require_view(user, int(warning["region"]))
    if not loop.state_allows(warning.get("state", "raised"), action):
        raise InvalidAction(f"cannot {action} a warning that is {warning.get('state')}")


def _related(a: int, b: int) -> bool:
    """One region contains the other (a unit may be the county, its city or the province)."""
    pa, pb = (str(x) for x in (a, b))
    strip = lambda c: c[:2] if c.endswith("0000") else c[:4] if c.endswith("00") else c  # noqa: E731
    return pa.startswith(strip(pb)) or pb.startswith(strip(pa))


def _apply(warning: dict, action: str, user: User, note: str, now_ms: int, cfg: LoopSettings, fields: dict):
    """The warning after ``action`` (a new dict) and the extra data recorded in the audit entry."""
    w = dict(warning)
    data: dict = {}
    state = w.get("state", "raised")
    w["state"] = loop.target_state(action, state)
    if action == "dispatch":
        unit = int(fields.get("unit") or w["region"])
        require_view(user, unit)
        if not _related(unit, int(w["region"])):
            raise InvalidAction(f"unit {unit} does not cover the warning's region {w['region']}")
        w.update(unit=unit, dispatched_at=now_ms, due_at=loop.deadline(cfg, w["colour"], now_ms))
        data = {"unit": unit, "due_at": w["due_at"]}
    elif action == "reply":
        w.update(replied_at=now_ms, reply=note, late=bool(w.get("due_at")) and now_ms > int(w["due_at"]))
        data = {"late": w["late"]}
    elif action in ("accept", "reject"):
        w["evaluation"] = {"result": action, "by": user.name, "at": now_ms, "note": note}
        if action == "accept":
            w["closed_at"] = now_ms
        else:  # sent back: the unit gets a fresh reply clock from now
            w.update(replied_at=None, due_at=loop.deadline(cfg, w["colour"], now_ms), overdue=False)
            data = {"due_at": w["due_at"]}
    elif action == "escalate":
        below = w.get("escalated_to") or w.get("unit") or w["region"]
        to = loop.parent_unit(int(below)) or int(below)
        w.update(escalated_to=to, escalated_at=now_ms, escalations=int(w.get("escalations", 0)) + 1)
        if loop.is_overdue(warning, now_ms):
            w.update(overdue=True, escalated_due=w.get("due_at"))
        data = {"to": to, "overdue": bool(w.get("overdue"))}
    elif action == "investigate":
        w["investigating_at"] = now_ms
    w["version"] = int(warning.get("version", 0)) + 1
    w["updated_at"] = now_ms
    name = user.display_name or user.name
    w["last_action"] = {"by": user.name, "name": name, "action": action, "at": now_ms}
    return w, data


def transition(
    r: redis.Redis,
    warning_id: str,
    action: str,
    user: User | None,
    expected_version: int,
    note: str = "",
    now_ms: int | None = None,
    cfg: LoopSettings | None = None,
    **fields,
) -> dict:
    """Take ``action`` on the warning as ``user``; the warning as written.

    Raises :class:`Forbidden` (role or scope), :class:`NotFound`, :class:`InvalidAction` (state or
    fields) or :class:`Conflict` (``expected_version`` is not the warning's version any more).
    """
    user = require_user(user)
    cfg = cfg or LoopSettings()
    now_ms = int(time.time() * 1000) if now_ms is None else int(now_ms)
    note = (note or "").strip()[:NOTE_MAX]
    if action in NOTE_REQUIRED and not note:
        raise InvalidAction(f"{action} needs a note")
    with r.pipeline() as pipe:
        while True:
            try:
                pipe.watch(keys.WARNINGS)
                raw = pipe.hget(keys.WARNINGS, warning_id)
                if raw is None:
                    raise NotFound(warning_id)
                warning = orjson.loads(raw)
                if not in_scope(warning, user.scope):
                    raise Forbidden(f"warning {warning_id} is outside the scope of user {user.name}")
                version = int(warning.get("version", 0))
                if version != int(expected_version):
                    last = warning.get("last_action") or {}
                    raise Conflict(
                        warning_id, warning.get("state", "raised"), version, last.get("by", ""),
                        last.get("name", ""), last.get("action", ""), last.get("at"),
                    )  # fmt: skip
                check(warning, action, user)
                new, data = _apply(warning, action, user, note, now_ms, cfg, fields)
                pipe.multi()
                _write(pipe, warning, new, action, user, note, now_ms, data)
                pipe.execute()
                return new
            except redis.WatchError:
                continue  # another writer touched wf:warn: read again (a version change is a Conflict)


def _write(pipe, old: dict, new: dict, action: str, user: User, note: str, now_ms: int, data: dict) -> None:
    wid = new["id"]
    pipe.hset(keys.WARNINGS, wid, orjson.dumps(new))
    if new["state"] == "closed":
        pipe.zrem(keys.OPEN_WARNINGS, wid)
        # release the condition only if it still points here, so a recurring condition raises anew
        pipe.eval(_UNLINK, 1, keys.WARNING_CONDITIONS, new.get("condition", ""), wid)
    entry = {
        "at": now_ms, "by": user.name, "name": user.display_name or user.name, "role": user.role,
        "action": action, "from": old.get("state", "raised"), "to": new["state"], "note": note,
        "version": new["version"], "warning": wid, "data": orjson.dumps(data),
    }  # fmt: skip
    pipe.xadd(keys.warning_audit(wid), entry)
    pipe.xadd(keys.WARNING_AUDIT, entry)
    if action == "dispatch":
        pipe.xadd(keys.OUT_DISPATCH, {
            "warning": wid, "unit": new["unit"], "due_at": new["due_at"], "at": now_ms, "by": user.name,
            "type": new["type"], "colour": new["colour"], "region": new["region"], "note": note,
            "warning_json": orjson.dumps(new),
        })  # fmt: skip
    regions = sorted({int(new["region"]), *(int(x) for x in new.get("regions", []))})
    message = {"topic": "warnings", "updated": [wid], "regions": regions, "action": action,
               "state": new["state"], "version": new["version"], "at": now_ms}  # fmt: skip
    pipe.publish(keys.UPDATES, orjson.dumps(message))


_UNLINK = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""


def system_user(province: int) -> User:
    """Who the scheduled overdue check acts as."""
    return User(name=SYSTEM, role="admin", scope=province, display_name=SYSTEM, via="job")


def escalate_overdue(
    r: redis.Redis, now_ms: int, province: int, cfg: LoopSettings | None = None
) -> list[str]:
    """Flag every overdue warning and escalate it to the parent unit, once per deadline; the ids."""
    ids = [x.decode() for x in r.zrange(keys.OPEN_WARNINGS, 0, -1)]
    raws = r.hmget(keys.WARNINGS, ids) if ids else []
    done: list[str] = []
    for raw in raws:
        w = orjson.loads(raw) if raw else None
        if w is None or not loop.is_overdue(w, now_ms) or w.get("escalated_due") == w.get("due_at"):
            continue
        try:
            transition(r, w["id"], "escalate", system_user(province), int(w.get("version", 0)),
                       "overdue: no reply by the deadline", now_ms, cfg)  # fmt: skip
            done.append(w["id"])
        except Conflict:
            continue  # an officer acted meanwhile; the next run looks again
    return done
