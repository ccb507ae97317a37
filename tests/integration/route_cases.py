"""How to call each rule of the real app's Flask ``url_map``, for the route authorisation test
(tests/integration/test_authz_routes.py).

``ROUTE_CASES`` maps a rule (``rule.rule``, e.g. ``"/geo/<level>.geojson"``) to a function
``(ctx) -> [Req, ...]``. A :class:`Req` is one request (method, address with its query, body), the
statuses each kind of caller must get, whether the province admin's answer must contain Suzhou data
(the positive control), and which callers may change Redis with it. Add a case here for every new
rule: the test fails for a rule it has no case for. The test itself also sends every state-changing
method to every rule without the CSRF token and from a foreign origin.

Callers: ``anonymous`` (nobody signed in), ``kiosk`` (a Nanjing wall link), the Nanjing ``leader``,
``duty`` and ``admin``, and ``boss`` (the province's admin, the control).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NANJING_ROLES = ("leader", "duty", "admin")
#: the Suzhou shop numbers the test seeds (tests/integration/test_authz_all.py)
SUZHOU_SHOP = "320508000300"
NANJING_SHOP = "320102000300"
NANJING_BBOX = "118.70,31.98,118.86,32.12"
SUZHOU_BBOX = "120.55,31.25,120.70,31.36"
PROVINCE_BBOX = "116.3,30.7,122.0,35.2"

Statuses = Callable[[str], "set[int] | None"]


def statuses(
    anonymous: set[int] | None = None,
    kiosk: set[int] | None = None,
    nanjing: set[int] | None = None,
    boss: set[int] | None = None,
) -> Statuses:
    """Expected statuses per caller (None: not checked)."""
    table = {"anonymous": anonymous, "kiosk": kiosk, "boss": boss} | dict.fromkeys(NANJING_ROLES, nanjing)
    return lambda name: table.get(name)


#: a data route: 401 without a user, 200 for every signed-in caller
DATA = statuses({401}, {200}, {200}, {200})
#: a page: anonymous sent to /login, the kiosk to /wall, people get the page
PAGE = statuses({303}, {303}, {200}, {200})
#: a data route of another screen than the wall: the kiosk may not call it
NOT_KIOSK = statuses({401}, {403}, {200}, {200})


@dataclass
class Req:
    """One request to a rule."""

    method: str
    url: str
    status: Statuses = DATA
    #: the province admin's answer must contain Suzhou data (the route reads it)
    control: bool = False
    #: caller name -> whether it may change Redis with this request (default: nobody)
    may_change: Callable[[str], bool] = lambda name: False
    json: Any = None
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: the request signs the caller out: the test signs everybody in again afterwards
    signs_out: bool = False


@dataclass
class Ctx:
    """What a case may need: the Suzhou warning id, a page of the app (for asset addresses)."""

    suzhou_warning: str
    index_html: str


def _static(ctx: Ctx) -> list[Req]:
    # Flask's own static folder: the app has none; nothing of the repository is served from it
    missing = statuses({303}, {303}, {404}, {404})
    return [Req("GET", "/static/app.py", missing), Req("GET", "/static/../config.yaml", missing)]


def _boundaries(ctx: Ctx) -> list[Req]:
    # geography (every region's border and name) is context for every signed-in user, not data
    out = [Req("GET", f"/geo/{level}.geojson") for level in ("province", "city", "county")]
    return out + [Req("GET", "/geo/shops.geojson", statuses({401}, {404}, {404}, {404}))]


def _licences(ctx: Ctx) -> list[Req]:
    zoom = "&zoom=15"
    return [
        Req("GET", f"/api/v1/map/licences?bbox={NANJING_BBOX}{zoom}"),
        # the Suzhou viewport: points only inside the caller's scope (the control sees the shops)
        Req("GET", f"/api/v1/map/licences?bbox={SUZHOU_BBOX}{zoom}", control=True),
        Req("GET", f"/api/v1/map/licences?bbox={SUZHOU_BBOX}{zoom}&region=320500&scope=320500", control=True),
        # the whole province at a low zoom: hex cells mix regions, province-wide users only
        # (points when few licences are in view, else cells: 403 below the province)
        Req(
            "GET",
            f"/api/v1/map/licences?bbox={PROVINCE_BBOX}&zoom=6",
            statuses({401}, {200, 403}, {200, 403}),
        ),
        Req("GET", "/api/v1/map/licences?bbox=oops", statuses({401}, {400}, {400}, {400})),
    ]


def _health(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/healthz", statuses({200}, {200}, {200}, {200}))]


def _wall_layer(name: str, control: bool) -> Callable[[Ctx], list[Req]]:
    def cases(ctx: Ctx) -> list[Req]:
        base = f"/api/v1/wall/{name}"
        # the scope comes from the session, never from the request: foreign parameters change nothing
        foreign = f"{base}?region=320500&scope=320500&adcode=320508"
        return [Req("GET", base, control=control), Req("GET", foreign, control=control)]

    return cases


def _ingest(ctx: Ctx) -> list[Req]:
    # bearer-token machine API: a browser session (with or without the CSRF token) is no credential
    batch = [{"id": "x-1", "type": "licence.issued", "occurred_at": "2026-11-21T09:00:00+08:00", "data": {}}]
    refused = statuses({401, 403}, {401, 403}, {401, 403}, {401, 403})
    bad = {"Authorization": "Bearer not-the-token"}
    return [
        Req("POST", "/api/v1/events/licence", refused, json=batch),
        Req("POST", "/api/v1/events/licence", refused, json=batch, headers=bad),
    ]


def _ingest_other(ctx: Ctx) -> list[Req]:
    wrong = statuses({405}, {405}, {405}, {405})
    return [Req("GET", "/api/v1/events/licence", wrong), Req("DELETE", "/api/v1/events/licence", wrong)]


def _ingest_rest(ctx: Ctx) -> list[Req]:
    gone = statuses({404}, {404}, {404}, {404})
    return [Req("GET", "/api/v1/events/licence/x", gone), Req("POST", "/api/v1/events/a/b", gone, json=[])]


def _ingest_root(ctx: Ctx) -> list[Req]:
    gone = statuses({404}, {404}, {404}, {404})
    return [Req("GET", "/api/v1/events", gone), Req("POST", "/api/v1/events", gone, json=[])]


def _login_form(ctx: Ctx) -> list[Req]:
    # signed-in people are sent on (to a path of this site only); the kiosk and anonymous get the form
    on = statuses({200}, {200}, {303}, {303})
    return [Req("GET", "/login", on), Req("GET", "/login?next=//evil.example/x&region=320500", on)]


def _login_submit(ctx: Ctx) -> list[Req]:
    # a failed sign-in counts towards the lockout of that name: the only change anybody may make here
    form = {"username": "ghost", "password": "wrong password", "next": "/duty"}
    failed = statuses({401, 429}, {401, 429}, {401, 429}, {401, 429})
    return [Req("POST", "/login", failed, form=form, may_change=lambda name: True)]


def _logout_form(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/logout", statuses({200}, {200}, {200}, {200}))]


def _logout(ctx: Ctx) -> list[Req]:
    return [Req("POST", "/logout", statuses({303}, {303}, {303}, {303}), signs_out=True)]


def _assets(ctx: Ctx) -> list[Req]:
    public = statuses({200}, {200}, {200}, {200})
    gone = statuses({404}, {404}, {404}, {404})
    return [
        Req("GET", "/assets/wall.js", public),
        Req("GET", "/assets/../config.yaml", gone),
        Req("GET", "/assets/%2e%2e/app.py", gone),
    ]


def _suites(ctx: Ctx) -> list[Req]:
    found = re.search(r'src="(/_dash-component-suites/[^"]+)"', ctx.index_html)
    assert found, "no component suite script in the page"
    public = statuses({200}, {200}, {200}, {200})
    # a path outside Dash's registered bundles: not found (web/security.py), never the file
    refused = statuses({404}, {404}, {404}, {404})
    return [
        Req("GET", found.group(1), public),
        Req("GET", "/_dash-component-suites/dash/../../app.py", refused),
    ]


def _dash_data(path: str) -> Callable[[Ctx], list[Req]]:
    return lambda ctx: [Req("GET", path)]


def _update(ctx: Ctx) -> list[Req]:
    # every callback is tried in test_authz_all.py; here: the route itself, as the page router
    body = {
        "output": "page-content.children",
        "outputs": {"id": "page-content", "property": "children"},
        "inputs": [{"id": "page-url", "property": "pathname", "value": "/duty"}],
        "state": [],
        "changedPropIds": ["page-url.pathname"],
    }
    return [Req("POST", "/_dash-update-component", json=body)]


def _favicon(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/_favicon.ico", statuses({200}, {200}, {200}, {200}))]


def _index(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/", statuses({303}, {200}, {200}, {200}))]


def _pages(ctx: Ctx) -> list[Req]:
    wall = statuses({303}, {200}, {200}, {200})
    return [
        Req("GET", "/wall?region=320500", wall),
        Req("GET", "/duty?region=320500&warning=" + ctx.suzhou_warning, PAGE),
        Req("GET", f"/meeting?region=320508&shop={SUZHOU_SHOP}", PAGE),
        Req("GET", "/ops", PAGE),
        Req("GET", "/nope", PAGE),
    ]


def _export(ctx: Ctx) -> list[Req]:
    foreign = statuses({401}, {403}, {403}, {200})
    out = [
        Req("GET", "/api/v1/meeting/export.pdf", NOT_KIOSK),
        Req("GET", f"/api/v1/meeting/export.pdf?region=320100&shop={NANJING_SHOP}", NOT_KIOSK),
        Req("GET", "/api/v1/meeting/export.gif", statuses({401}, {403}, {404}, {404})),
    ]
    for fmt in ("pdf", "png"):
        out += [
            Req("GET", f"/api/v1/meeting/export.{fmt}?region=320500", foreign),
            Req(
                "GET", f"/api/v1/meeting/export.{fmt}?region=320508&shop={SUZHOU_SHOP}", foreign, control=True
            ),
            # a region of one's own with a foreign shop: refused
            Req("GET", f"/api/v1/meeting/export.{fmt}?region=320100&shop={SUZHOU_SHOP}", foreign),
            Req("GET", f"/api/v1/meeting/export.{fmt}?region=320000", foreign),
        ]
    return out


ROUTE_CASES: dict[str, Callable[[Ctx], list[Req]]] = {
    "/static/<path:filename>": _static,
    "/geo/<level>.geojson": _boundaries,
    "/api/v1/map/licences": _licences,
    "/healthz": _health,
    "/api/v1/wall/heat": _wall_layer("heat", True),
    "/api/v1/wall/gap": _wall_layer("gap", True),
    "/api/v1/wall/flows": _wall_layer("flows", True),
    "/api/v1/wall/warnings": _wall_layer("warnings", True),
    "/api/v1/events/<source>": lambda ctx: _ingest(ctx) + _ingest_other(ctx),
    "/api/v1/events/<path:rest>": _ingest_rest,
    "/api/v1/events": _ingest_root,
    "/login": lambda ctx: _login_form(ctx) + _login_submit(ctx),
    "/logout": lambda ctx: _logout_form(ctx) + _logout(ctx),
    "/assets/<path:filename>": _assets,
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": _suites,
    "/_dash-layout": _dash_data("/_dash-layout"),
    "/_dash-dependencies": _dash_data("/_dash-dependencies"),
    "/_dash-update-component": _update,
    "/_reload-hash": lambda ctx: [Req("GET", "/_reload-hash", PAGE)],
    "/_favicon.ico": _favicon,
    "/": _index,
    "/<path:path>": _pages,
    "/api/v1/meeting/export.<fmt>": _export,
}
