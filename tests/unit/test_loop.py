"""The closed loop's pure rules: transitions per state and role, the SLA clock, parent units."""

from __future__ import annotations

import pytest

from alerts import loop
from core.settings import load_settings

H = loop.HOUR_MS


@pytest.mark.parametrize(
    ("state", "role", "expected"),
    [
        ("raised", "duty", ["acknowledge"]),
        ("raised", "leader", ["escalate"]),
        ("raised", "wall", []),
        ("raised", "admin", ["acknowledge", "escalate"]),
        ("acknowledged", "duty", ["dispatch"]),
        ("dispatched", "duty", ["investigate", "reply"]),
        ("investigating", "duty", ["reply"]),
        ("replied", "duty", ["accept", "reject"]),
        ("replied", "leader", ["accept", "reject", "escalate"]),
        ("replied", "wall", []),
        ("closed", "admin", []),
        ("closed", "duty", []),
    ],
)
def test_allowed_actions(state, role, expected):
    assert loop.allowed_actions(state, role) == expected


@pytest.mark.parametrize(
    ("action", "state", "to"),
    [
        ("acknowledge", "raised", "acknowledged"),
        ("dispatch", "acknowledged", "dispatched"),
        ("investigate", "dispatched", "investigating"),
        ("reply", "dispatched", "replied"),
        ("reply", "investigating", "replied"),
        ("accept", "replied", "closed"),
        ("reject", "replied", "investigating"),
        ("escalate", "dispatched", "dispatched"),
    ],
)
def test_target_state(action, state, to):
    assert loop.state_allows(state, action)
    assert loop.target_state(action, state) == to


@pytest.mark.parametrize(
    ("action", "state"), [("dispatch", "raised"), ("accept", "dispatched"), ("x", "raised")]
)
def test_state_refuses(action, state):
    assert not loop.state_allows(state, action)


@pytest.mark.parametrize(("colour", "hours"), [("red", 24), ("orange", 48), ("yellow", 48), ("blue", 72)])
def test_deadline_per_colour(colour, hours):
    cfg = load_settings(environ={}).loop
    assert loop.deadline(cfg, colour, 1000) == 1000 + hours * H


def test_deadline_configurable():
    cfg = load_settings(environ={"WATCHFLOOR_LOOP_REPLY_HOURS_RED": "2"}).loop
    assert loop.deadline(cfg, "red", 0) == 2 * H


@pytest.mark.parametrize(
    ("state", "due", "now", "overdue", "left"),
    [
        ("dispatched", 100, 99, False, 1),
        ("dispatched", 100, 100, False, 0),
        ("dispatched", 100, 101, True, -1),
        ("investigating", 100, 200, True, -100),
        ("replied", 100, 200, False, None),
        ("closed", 100, 200, False, None),
        ("acknowledged", None, 200, False, None),
    ],
)
def test_overdue_and_time_left(state, due, now, overdue, left):
    w = {"state": state, "due_at": due}
    assert loop.is_overdue(w, now) is overdue
    assert loop.time_left_ms(w, now) == left


@pytest.mark.parametrize(
    ("code", "parent"),
    [(320102, 320100), (320281, 320200), (320100, 320000), (321300, 320000), (320000, None)],
)
def test_parent_unit(code, parent):
    assert loop.parent_unit(code) == parent


def test_queue_order():
    now = 1000
    ws = [
        {"id": "blue", "level": 4, "raised_at": 1, "state": "dispatched", "due_at": 0},
        {"id": "red-noclock", "level": 1, "raised_at": 5, "state": "raised", "due_at": None},
        {"id": "red-late", "level": 1, "raised_at": 1, "state": "dispatched", "due_at": 500},
        {"id": "red-soon", "level": 1, "raised_at": 2, "state": "investigating", "due_at": 2000},
    ]
    ids = [w["id"] for w in sorted(ws, key=lambda w: loop.queue_key(w, now))]
    assert ids == ["red-late", "red-soon", "red-noclock", "blue"]
