"""The closed loop of a warning (报、查、复、评、督), as pure functions: no Redis, ``now`` passed in.

States, in order::

    raised ──acknowledge──▶ acknowledged ──dispatch──▶ dispatched ──investigate──▶ investigating
                                                          │                            │
                                                          └────────reply───────────────┴──▶ replied
    replied ──accept──▶ closed          replied ──reject──▶ investigating (a fresh reply clock)

``escalate`` (supervision) keeps the state and hands the warning to the parent unit; the scheduled
overdue check does it for every dispatched warning past its reply deadline. Who may do what is
:data:`ROLE_ACTIONS`; which action fits which state is :data:`TRANSITIONS`. docs/duty.md explains.
"""

from __future__ import annotations

from core.settings import LoopSettings

STATES = ("raised", "acknowledged", "dispatched", "investigating", "replied", "closed")
#: action → (states it may start from, state it leads to; None keeps the state)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "acknowledge": (("raised",), "acknowledged"),
    "dispatch": (("acknowledged",), "dispatched"),
    "investigate": (("dispatched",), "investigating"),
    "reply": (("dispatched", "investigating"), "replied"),
    "accept": (("replied",), "closed"),
    "reject": (("replied",), "investigating"),
    "escalate": (("raised", "acknowledged", "dispatched", "investigating", "replied"), None),
}
ACTIONS = tuple(TRANSITIONS)
#: role → actions it may take (always inside its region scope, checked by alerts.actions)
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "wall": frozenset(),
    "leader": frozenset({"accept", "reject", "escalate"}),
    "duty": frozenset({"acknowledge", "dispatch", "investigate", "reply", "accept", "reject"}),
    "admin": frozenset(ACTIONS),
}
#: states whose reply clock runs (a deadline can be missed only while waiting for the unit)
CLOCK_STATES = ("dispatched", "investigating")
HOUR_MS = 3_600_000


def target_state(action: str, state: str) -> str:
    """The state ``action`` leads to from ``state`` (escalate keeps it)."""
    return TRANSITIONS[action][1] or state


def state_allows(state: str, action: str) -> bool:
    """Whether ``action`` may start from ``state``."""
    return action in TRANSITIONS and state in TRANSITIONS[action][0]


def role_allows(role: str, action: str) -> bool:
    """Whether ``role`` may take ``action`` at all."""
    return action in ROLE_ACTIONS.get(role, frozenset())


def allowed_actions(state: str, role: str) -> list[str]:
    """Actions this role may take on a warning in this state, in the loop's order."""
    return [a for a in ACTIONS if state_allows(state, a) and role_allows(role, a)]


def reply_hours(settings: LoopSettings, colour: str) -> float:
    """Hours from dispatch to the reply deadline for a warning of ``colour``."""
    return float(getattr(settings.reply_hours, colour))


def deadline(settings: LoopSettings, colour: str, start_ms: int) -> int:
    """The reply deadline (ms) of a clock started at ``start_ms`` (a dispatch, or a rejected reply)."""
    return int(start_ms + reply_hours(settings, colour) * HOUR_MS)


def is_overdue(warning: dict, now_ms: int) -> bool:
    """A warning waits for its unit's reply past its deadline."""
    due = warning.get("due_at")
    return warning.get("state") in CLOCK_STATES and due is not None and now_ms > int(due)


def time_left_ms(warning: dict, now_ms: int) -> int | None:
    """Milliseconds until the reply deadline (negative when overdue); None when no clock runs."""
    due = warning.get("due_at")
    if warning.get("state") not in CLOCK_STATES or due is None:
        return None
    return int(due) - now_ms


def parent_unit(adcode: int) -> int | None:
    """The unit above ``adcode``: county → city → province; None above the province.

    GB/T 2260 arithmetic: a county shares its city's first four digits, a city its province's two.
    (Jiangsu has no province-administered counties; such a code, e.g. 419001, maps to its "city"
    419000, which is not a real unit — use ``geo.boundaries.Regions.parent`` for such provinces.)
    """
    code = int(adcode)
    if code % 10000 == 0:
        return None
    if code % 100 == 0:
        return code // 10000 * 10000
    return code // 100 * 100


def queue_key(warning: dict, now_ms: int) -> tuple:
    """Sort key of the duty queue: colour (red first), then the deadline (soonest, overdue first);
    warnings without a running clock after those with one, newest raised first."""
    left = time_left_ms(warning, now_ms)
    return (int(warning["level"]), left is None, left or 0, -int(warning["raised_at"]))
