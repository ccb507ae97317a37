"""How to call each Dash callback and Socket.IO event of the real app, for the authorisation test
(tests/integration/test_authz_all.py).

``CALLBACK_CASES`` maps a callback's FIRST output (``"id.property"``, without Dash's ``@hash`` of
``allow_duplicate``) to a function ``(seed) -> [Call, ...]``. A :class:`Call` gives the values of the
callback's inputs and states by ``"id.property"`` (pattern-matching ids by their ``type``: a list of
``(concrete id, value)``; a callable value is read when the call is made), which one triggered the
call, whether a province-wide admin's answer must contain Suzhou data (the positive control that
proves the search for foreign data can find some), and when a change in Redis is allowed. Add a case
here for every new callback: the test fails for a callback it has no case for. Clientside callbacks
need none (the server must refuse to run them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alerts import loop
from core.auth import User, can_view

ACTIONS = tuple(loop.TRANSITIONS)


@dataclass
class Seed:
    """What the test wrote: warning ids (Suzhou-only, Nanjing-only, shared) and dead letter ids."""

    suzhou: str
    nanjing: str
    shared: str
    dead: list[str]
    state_of: Callable[[str], dict] = field(repr=False, default=lambda wid: {})


@dataclass
class Call:
    """One request to a callback."""

    values: dict[str, Any]
    trigger: str | None = None
    #: the province admin's answer must contain Suzhou data (a callback that reads it)
    control: bool = False
    #: (user, seed) -> whether this user may change Redis with this call (default: never)
    may_change: Callable[[User, Seed], bool] = lambda user, seed: False


def _pages(seed: Seed) -> list[Call]:
    paths = ["/", "/wall", "/ops", "/duty", "/meeting", "/nope"]
    return [Call({"page-url.pathname": p}, "page-url.pathname") for p in paths]


def _wall_snapshot(seed: Seed) -> list[Call]:
    return [Call({"wall-socket.connected": c}, "wall-socket.connected") for c in (True, None)]


def _ops_sources(seed: Seed) -> list[Call]:
    return [Call({"ops-tick.n_intervals": 1}, "ops-tick.n_intervals")]


def _ops_limit(seed: Seed) -> list[Call]:
    return [
        Call({"ops-dead-filter.value": "licence", "ops-dead-limit.data": 50}, "ops-dead-filter.value"),
        Call({"ops-dead-more.n_clicks": 1, "ops-dead-limit.data": 50}, "ops-dead-more.n_clicks"),
    ]


def _ops_dead(seed: Seed) -> list[Call]:
    selected = [({"type": "ops-dead-select", "id": d}, [d]) for d in seed.dead]
    base = {"ops-dead-limit.data": 50, "ops-dead-select.value": selected}
    tick, done = {"ops-tick.n_intervals": 1}, {"ops-redrive-done.data": 1}
    return [
        Call(base | tick | {"ops-dead-filter.value": "all"}, "ops-tick.n_intervals", True),
        Call(base | {"ops-dead-filter.value": "licence"}, "ops-dead-filter.value", True),
        Call(base | done | {"ops-dead-filter.value": "all"}, "ops-redrive-done.data", True),
    ]


def _province_admin(user: User, seed: Seed) -> bool:
    return user.role == "admin" and user.scope % 10000 == 0


def _ops_redrive(seed: Seed) -> list[Call]:
    one = [({"type": "ops-redrive-one", "id": d}, 1) for d in seed.dead]
    selected = [({"type": "ops-dead-select", "id": d}, [d]) for d in seed.dead]
    return [
        Call({"ops-redrive-one.n_clicks": one, "ops-dead-select.value": selected}, "ops-redrive-one.n_clicks",
             may_change=_province_admin),
        Call({"ops-redrive-selected.n_clicks": 1, "ops-dead-select.value": selected},
             "ops-redrive-selected.n_clicks", may_change=_province_admin),
    ]  # fmt: skip


def _duty_queue(seed: Seed) -> list[Call]:
    calls = [Call({"duty-tick.n_intervals": 1}, "duty-tick.n_intervals", True)]
    calls += [Call({"duty-socket.data-warnings": {"adcode": 320500}}, "duty-socket.data-warnings", True)]
    calls += [Call({"duty-socket.connected": True}, "duty-socket.connected", True)]
    calls += [Call({"duty-f-region.value": 320500}, "duty-f-region.value", True)]
    calls += [
        Call({"duty-f-region.value": 320508, "duty-f-colour.value": "red"}, "duty-f-colour.value", True)
    ]
    calls += [
        Call({"duty-selected.data": seed.suzhou}, "duty-selected.data")
    ]  # the id it sends is all it shows
    return calls


def _duty_select(seed: Seed) -> list[Call]:
    rows = [({"type": "duty-row", "id": w}, 1) for w in (seed.suzhou, seed.shared, seed.nanjing)]
    return [Call({"duty-row.n_clicks": rows[i:]}, "duty-row.n_clicks") for i in range(3)]


def _duty_detail(seed: Seed) -> list[Call]:
    calls = []
    for wid in (seed.suzhou, seed.shared, seed.nanjing):
        for trigger in ("duty-selected.data", "duty-tick.n_intervals", "duty-socket.data-warnings"):
            values = {"duty-selected.data": wid, "duty-tick.n_intervals": 1, "duty-version.data": [wid, 0]}
            calls.append(Call(values | {"duty-socket.data-warnings": {"adcode": 320500}}, trigger,
                              control=wid == seed.suzhou))  # fmt: skip
    return calls


def _may_act(wid: str, action: str, unit: int | None) -> Callable[[User, Seed], bool]:
    """The loop's own rules (docs/duty.md) as the oracle: role, state, region and unit in scope."""

    def may(user: User, seed: Seed) -> bool:
        w = seed.state_of(wid)
        return (
            bool(w)
            and action in loop.allowed_actions(w.get("state", "raised"), user.role)
            and can_view(user, int(w["region"]))
            and (action != "dispatch" or unit is None or can_view(user, unit))
        )

    return may


def _duty_act(seed: Seed) -> list[Call]:
    calls = []
    for wid in (seed.suzhou, seed.shared, seed.nanjing):
        for action in ACTIONS:
            for unit in (320500, 320508, 320100, None) if action == "dispatch" else (None,):
                values = {
                    "duty-act.n_clicks": [({"type": "duty-act", "action": action}, 1)],
                    "duty-selected.data": wid,
                    # the version the page would show: read when the call is made (else a mere Conflict)
                    "duty-version.data": lambda wid=wid: [wid, seed.state_of(wid).get("version", 0)],
                    "duty-note.value": "note",
                    "duty-unit.value": unit,
                    "duty-done.data": 0,
                }
                calls.append(Call(values, "duty-act.n_clicks", may_change=_may_act(wid, action, unit)))
    return calls


def _duty_export(seed: Seed) -> list[Call]:
    calls = []
    for button in ("duty-export-csv.n_clicks", "duty-export-xlsx.n_clicks"):
        calls.append(Call({button: 1}, button, True))
        calls.append(Call({button: 1, "duty-f-region.value": 320500}, button, True))
    return calls


def _wall_panels(seed: Seed) -> list[Call]:
    push = {"adcode": 320500, "per_1000": 9.9}
    return [
        Call({"wall-socket.connected": True}, "wall-socket.connected"),
        Call({"wall-socket.data-indicators": push}, "wall-socket.data-indicators"),
        Call({"wall-slow.n_intervals": 1}, "wall-slow.n_intervals"),
    ]


def _wall_ticker(seed: Seed) -> list[Call]:
    return [
        Call({"wall-socket.connected": True}, "wall-socket.connected"),
        Call({"wall-socket.data-warnings": {"adcode": 320500}}, "wall-socket.data-warnings"),
        Call({"wall-slow.n_intervals": 1}, "wall-slow.n_intervals"),
    ]


#: selections a Nanjing leader might forge: a Suzhou city or county, a Suzhou shop, a Suzhou shop
#: under Nanjing's own region
_SELECTIONS = [
    {"region": 320500},
    {"region": 320508, "shop": "320508000300"},
    {"region": 320100, "shop": "320508000300"},
    {"region": "320508"},
]


def _meeting_select(seed: Seed) -> list[Call]:
    click = {"properties": {"adcode": 320500}}
    shop = {"properties": {"no": "320508000300"}}
    return [
        Call({"meeting-regions.clickData": click, "meeting-sel.data": {"region": 320100}},
             "meeting-regions.clickData"),
        Call({"meeting-shops.clickData": shop, "meeting-sel.data": {"region": 320508}},
             "meeting-shops.clickData"),
        Call({"meeting-crumb.n_clicks": [({"type": "meeting-crumb", "adcode": 320500}, 1)]},
             "meeting-crumb.n_clicks"),
        Call({"meeting-rank.n_clicks": [({"type": "meeting-rank", "adcode": 320508}, 1)]},
             "meeting-rank.n_clicks"),
    ]  # fmt: skip


def _meeting_render(seed: Seed, card: bool = True) -> list[Call]:
    """The drill-down; ``card``: the answer shows the selected shop (its name is Suzhou data)."""
    calls = []
    for sel in _SELECTIONS:
        values = {
            "meeting-sel.data": sel,
            "meeting-window.value": 7,
            "meeting-indicator.value": "risk",
            "meeting-trend-days.value": 30,
            "meeting-screen.data": 1080,
            "meeting-tick.n_intervals": 1,
        }
        calls.append(
            Call(
                values,
                "meeting-sel.data",
                control=card and sel.get("shop") is not None and sel["region"] != 320100,
            )
        )
        calls.append(Call(values, "meeting-tick.n_intervals"))
    return calls  # fmt: skip


CALLBACK_CASES: dict[str, Callable[[Seed], list[Call]]] = {
    "page-content.children": _pages,
    "wall-snapshot.data": _wall_snapshot,
    "ops-sources.children": _ops_sources,
    "ops-dead-limit.data": _ops_limit,
    "ops-dead-list.children": _ops_dead,
    "ops-message.children": _ops_redrive,
    "duty-queue.children": _duty_queue,
    "duty-selected.data": _duty_select,
    "duty-detail-title.children": _duty_detail,
    "duty-message.children": _duty_act,
    "duty-download.data": _duty_export,
    "wall-panels.data": _wall_panels,
    "wall-ticker-head.children": _wall_ticker,
    "meeting-sel.data": _meeting_select,
    "meeting-crumbs.children": _meeting_render,
    "meeting-trend-title.children": lambda seed: _meeting_render(seed, card=False),
}

#: Socket.IO events the test knows how to drive (test_authz_all.socket_calls); others fail the test.
SOCKET_EVENTS = ("connect", "disconnect", "join", "leave")
