"""Every rule of the real app's Flask ``url_map`` (data routes, wall layers, meeting exports, ingest,
sign-in, Dash's own routes), called as each role of a Nanjing (320100) user, a Nanjing wall kiosk,
unauthenticated, with foreign (Suzhou 320500) parameters, and with every state-changing method
without the CSRF token and from a foreign origin: no Suzhou data in any answer, no Redis change the
caller was not allowed to make, and the statuses each case expects.

The rules are enumerated from ``create_app(...).server.url_map``, so ones added later are covered: a
rule without a case in tests/integration/route_cases.py fails here. The world of
tests/integration/test_authz_all.py (Suzhou-only shops, warnings, dead letters) is extended with
Suzhou inspections (heat hexes) and Suzhou↔Wuxi cartons (flow arcs); the province admin must find
them where a case says the route reads data, which proves the search can fail. The meeting export's
Chromium is replaced by a renderer that returns the page it was given (the PDF/PNG is printed from
exactly that page), so its text can be searched.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

import web.export
from core import keys
from geo import scenes
from geo.index import RegionIndex
from streams.consumer import Consumer, announce_regions, build_stores
from tests.events import entry, inspection_data, scan_data
from tests.integration import test_authz_all as base
from tests.integration.route_cases import ROUTE_CASES, Ctx, Req
from tests.integration.test_authz_all import MARK, clients, state, texts
from tests.webclient import csrf_token

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
CSRF_EXEMPT = ("/api/v1/events", "/socket.io/")
SUZHOU = (120.62, 31.31)
WUXI_COUNTY = 320211
CST = timezone(timedelta(hours=8))
world = base.world  # the fixture: Suzhou-only shops, warnings and dead letters


def iso(at: datetime) -> str:
    return at.astimezone(CST).isoformat(timespec="seconds")


@pytest.fixture
def scene(world, settings, monkeypatch):
    """The authorisation world plus Suzhou inspections and Suzhou→Wuxi cartons (dated now)."""
    app, r, seed, markers = world
    stores = build_stores(r, settings, app.regions, RegionIndex(app.regions))
    consumer = Consumer(r, settings, stores, announce_regions(settings, app.regions))
    consumer.ensure_groups()
    now = datetime.now(UTC)
    point = {"lon": SUZHOU[0], "lat": SUZHOU[1], "crs": "wgs84"}
    for i in range(3):
        no = f"32050800030{i}"
        scan = scan_data(
            chr(ord("K") + i) * 32, WUXI_COUNTY, point=point, licence_no="320211000001",
            scanned_at=iso(now - timedelta(hours=1)),
        )  # fmt: skip
        r.xadd(keys.inbound("scan"), entry("scan.recorded", scan, occurred_at=iso(now)))
        if i == 2:
            continue  # one Suzhou shop not inspected: a coverage gap (province-wide users only)
        data = inspection_data(
            f"{MARK}-insp-{i}", no, point=point, started_at=iso(now - timedelta(hours=2)),
            finished=iso(now - timedelta(hours=1)),
        )  # fmt: skip
        r.xadd(keys.inbound("inspection"), entry("inspection.completed", data, occurred_at=iso(now)))
    while consumer.run_once(block_ms=1).read:
        pass
    # Suzhou's hexes (heat, coverage gap: their rings at every resolution) and the Suzhou–Wuxi arc
    extra = set()
    for i in range(3):
        meta = r.hget(keys.LICENCE_META, f"32050800030{i}")
        assert meta, "the Suzhou shop should be stored"
        cells = [c for c in meta.decode().split()[7:] if c != "-"]
        assert cells, "the Suzhou shop should have H3 cells"
        extra |= {orjson.dumps(scenes._ring(c)).decode() for c in cells}
    extra |= {'"from":320500,"to":320200', '"from":320200,"to":320500'}
    # the briefing page, not Chromium's print of it: the same text, searchable
    monkeypatch.setattr(web.export, "render", lambda html, fmt, w, h: html.encode())
    return app, r, seed, markers | extra


def rule_paths(app) -> list[str]:
    """Every rule of the app's url_map, once each (one rule string may hold several methods)."""
    return sorted({rule.rule for rule in app.server.url_map.iter_rules()})


def test_every_route_has_a_case(world):
    app = world[0]
    rules = rule_paths(app)
    missing = sorted(set(rules) - set(ROUTE_CASES))
    assert not missing, (
        f"Flask routes without an authorisation case: {missing}. Add one per rule to ROUTE_CASES in "
        "tests/integration/route_cases.py (its requests and the statuses each caller must get), so every "
        "role, a foreign region, no sign-in and no CSRF token are tried against it."
    )
    stale = sorted(set(ROUTE_CASES) - set(rules))
    assert not stale, f"cases for routes that no longer exist: {stale}; remove them from ROUTE_CASES"


def send(client, req: Req) -> Any:
    kwargs: dict[str, Any] = {"headers": req.headers}
    if req.json is not None:
        kwargs["json"] = req.json
    if req.form is not None:
        kwargs["data"] = dict(req.form)
        token = client.environ_base.get("HTTP_X_CSRFTOKEN")
        if token:  # a form sends the token as a field, as the login page does
            kwargs["data"]["csrf_token"] = token
    return client.open(req.url, method=req.method, **kwargs)


def concrete(rule: str, reqs: list[Req]) -> str:
    """An address of ``rule`` to send the unsafe methods to (the first case's path)."""
    return reqs[0].url.split("?")[0] if reqs else rule


def test_no_route_gives_foreign_data_or_an_unauthorised_change(scene):
    app, r, seed, markers = scene
    boss_page = clients(app)["boss"][0].get("/wall").get_data(as_text=True)
    ctx = Ctx(seed.suzhou, boss_page)
    people = clients(app)
    problems: list[str] = []
    control: dict[str, bool] = {}
    for rule in rule_paths(app):
        reqs = ROUTE_CASES.get(rule, lambda c: [])(ctx)
        # every state-changing method without the CSRF token and from a foreign origin: refused, no change
        path = concrete(rule, reqs)
        for name in ("duty-no-csrf", "duty-foreign-origin", "boss-no-csrf", "boss-foreign-origin"):
            client = people[name][0]
            for method in UNSAFE:
                before = state(r)
                resp = client.open(path, method=method, json=[])
                what = f"{name} {method} {path}"
                if state(r) != before:
                    problems.append(f"{what}: changed Redis")
                if not path.startswith(CSRF_EXEMPT) and resp.status_code != 403:
                    problems.append(f"{what}: status {resp.status_code}, expected 403 (csrf)")
                if path.startswith(CSRF_EXEMPT) and resp.status_code < 400:
                    problems.append(f"{what}: status {resp.status_code} without a bearer token")
        for req in reqs:
            for name, (client, _user, _status) in people.items():
                if name.endswith(("-no-csrf", "-foreign-origin")):
                    continue
                before = state(r)
                resp = send(client, req)
                after = state(r)
                what = f"{name} {req.method} {req.url}"
                expected = req.status(name)
                if expected is not None and resp.status_code not in expected:
                    problems.append(f"{what}: status {resp.status_code}, expected {sorted(expected)}")
                if resp.status_code in (301, 302, 303, 307, 308):
                    target = resp.headers.get("Location", "")
                    if target.startswith(("//", "http:", "https:")) or "evil" in target:
                        problems.append(f"{what}: redirect off the site to {target}")
                sent = req.url + json.dumps(req.json, ensure_ascii=False) + json.dumps(req.form or {})
                found = {m for m in markers if m not in sent and m in texts(resp.data)}
                if before != after and not req.may_change(name):
                    changed = sorted(
                        str(k) for k in set(before) | set(after) if before.get(k) != after.get(k)
                    )
                    problems.append(f"{what}: unauthorised change of {changed[:5]}")
                if name == "boss":
                    if req.control:
                        control[f"{req.method} {req.url}"] = bool(found)
                    continue
                if found:
                    problems.append(f"{what}: foreign data {sorted(found)[:5]} in the answer")
            if req.signs_out:
                people = clients(app)
    missed = sorted(k for k, hit in control.items() if not hit)
    problems += [f"the province admin got no Suzhou data from {k} (control)" for k in missed]
    assert control and problems == [], "\n".join(problems)


def test_csrf_token_alone_does_not_sign_in(scene):
    """A visitor holding a CSRF token (any visitor gets one) is still nobody for every data route."""
    app, r, *_ = scene
    client = app.server.test_client()
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    for path in ("/api/v1/wall/warnings", "/api/v1/map/licences?bbox=120.5,31.2,120.7,31.4&zoom=15",
                 "/api/v1/meeting/export.pdf?region=320500", "/geo/county.geojson"):  # fmt: skip
        resp = client.get(path)
        assert resp.status_code == 401, path
        assert orjson.loads(resp.data) == {"error": "sign in first"}
