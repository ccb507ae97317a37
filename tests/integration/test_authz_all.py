"""Every Dash callback and every Socket.IO event of the real app, called directly, as each role of a
Nanjing (320100) user, unauthenticated, without the CSRF token and from a foreign origin: no Suzhou
(320500) data in any answer, and no change in Redis the caller was not allowed to make.

The callbacks are enumerated from ``create_app(...).dash.callback_map`` and the events from the
Socket.IO server's handlers, so ones added later are covered: a callback or event without a case in
tests/integration/authz_cases.py fails here. Suzhou-only texts and ids are seeded and searched for in
every answer (decoded downloads and workbooks included); a province admin calling the same cases must
find them where a case says it reads data, which proves the search can fail.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import zipfile
from typing import Any

import orjson
import pytest

from alerts.actions import transition
from alerts.store import read_warning, upsert_warnings
from app import create_app
from core import keys
from core.auth import User
from core.users import UserRecord, hash_password, save_users
from geo.index import RegionIndex
from streams.consumer import Consumer, announce_regions, build_stores
from streams.deadletter import list_dead_letters
from tests.events import entry, issued_data
from tests.integration.authz_cases import CALLBACK_CASES, Call, Seed
from tests.integration.state import dump_state
from tests.webclient import CALLBACK, csrf_token, sign_in

PASSWORD = "correct horse battery"
KIOSK = "kiosk-token-nanjing-0123456789"
MARK = "SZONLY"  # in every Suzhou-only text the test writes
#: Nanjing users of each role, and the province's admin (the positive control)
USERS = {
    "leader": UserRecord("leader", hash_password(PASSWORD), "leader", 320100, "南京领导"),
    "duty": UserRecord("duty", hash_password(PASSWORD), "duty", 320100, "南京值班"),
    "admin": UserRecord("admin", hash_password(PASSWORD), "admin", 320100, "南京管理员"),
    "boss": UserRecord("boss", hash_password(PASSWORD), "admin", 320000, "省局"),
}
SESSIONS = keys.session("").encode()


def cand(kind: str, region: int, regions: list[int], text: str) -> dict:
    return {
        "type": kind, "condition": f"{kind}:{text}", "level": 1, "region": region, "regions": regions,
        "place": {"lon": 120.62, "lat": 31.31} if region // 100 == 3205 else {"lon": 118.78, "lat": 32.05},
        "facts": {"count": 12, "label": text}, "evidence": {"complaints": [f"{text}-c1", f"{text}-c2"]},
    }  # fmt: skip


@pytest.fixture
def world(redis_client, settings_for, tmp_path):
    r = redis_client
    save_users(tmp_path / "users.yaml", USERS)
    settings = settings_for(
        WATCHFLOOR_AUTH_MODE="local",
        WATCHFLOOR_AUTH_USERS_FILE=str(tmp_path / "users.yaml"),
        WATCHFLOOR_AUTH_SECRET_FILE=str(tmp_path / "secret"),
        WATCHFLOOR_AUTH_WALL_TOKENS=f"{{{KIOSK}: 320100}}",
    )
    app = create_app(settings, r)
    stores = build_stores(r, settings, app.regions, RegionIndex(app.regions))
    consumer = Consumer(r, settings, stores, announce_regions(settings, app.regions))
    consumer.ensure_groups()
    shops = [(f"32010200030{i}", 118.78 + i / 1000, 32.05, f"南京店{i}") for i in range(3)]
    shops += [(f"32050800030{i}", 120.62 + i / 1000, 31.31, f"{MARK}-shop-{i}") for i in range(3)]
    for no, lon, lat, name in shops:
        r.xadd(keys.inbound("licence"), entry(data=issued_data(no, lon=lon, lat=lat, shop_name=name)))
    bad = issued_data("320508000399", lon=120.6, lat=31.3, shop_name=f"{MARK}-dead", crs="bogus")
    r.xadd(keys.inbound("licence"), entry(data=bad))
    while consumer.run_once(block_ms=1).read:
        pass
    dead = [x["id"] for x in list_dead_letters(r)]
    assert dead, "the invalid event should have become a dead letter"
    now = 1_790_000_000_000
    upsert_warnings(r, [
        cand("case_cluster", 320508, [320508], f"{MARK}-w"),
        cand("corridor_surge", 320508, [320102, 320508], "shared"),
        cand("complaint_spike", 320102, [320102], "nanjing"),
    ], now, 10**9, 50)  # fmt: skip
    ids = {c.decode().split(":", 1)[1]: w.decode() for c, w in r.hgetall(keys.WARNING_CONDITIONS).items()}
    boss = User("boss", "admin", 320000, "省局", via="local")
    transition(r, ids[f"{MARK}-w"], "acknowledge", boss, 0, f"{MARK}-audit-note", now + 1)
    seed = Seed(ids[f"{MARK}-w"], ids["nanjing"], ids["shared"], dead, lambda w: read_warning(r, w) or {})
    markers = {MARK, seed.suzhou, *(no for no, *_ in shops[3:]), "320508000399"}
    return app, r, seed, markers


def state(r) -> dict:
    """dump_state without sessions (touched by every request), plus every stream's length and last id."""
    out: dict[Any, Any] = {k: v for k, v in dump_state(r).items() if not k.startswith(SESSIONS)}
    for key in r.scan_iter(match=b"wf:*", count=1000):
        if r.type(key) == b"stream":
            out[(b"stream", key)] = (r.xlen(key), r.xinfo_stream(key)["last-generated-id"])
    return out


def clients(app) -> dict[str, tuple[Any, User | None, int | None]]:
    """name -> (test client, user, the status every callback must get; None: the callback decides)."""
    out: dict[str, tuple[Any, User | None, int | None]] = {}
    anonymous = (
        app.server.test_client()
    )  # with a CSRF token (any visitor gets one): the sign-in check answers
    anonymous.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(anonymous)
    out["anonymous"] = (anonymous, None, 401)
    kiosk = app.server.test_client()
    assert kiosk.get(f"/wall?token={KIOSK}").status_code == 303
    kiosk.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(kiosk)
    out["kiosk"] = (kiosk, User("kiosk", "wall", 320100, via="token"), None)
    for name, rec in USERS.items():
        client = app.server.test_client()
        assert sign_in(client, name, PASSWORD, "/wall").status_code == 303
        user = User(name, rec.role, rec.scope, rec.display_name, via="local")
        if name in ("duty", "boss"):  # the same users without the token, and from a foreign origin
            bare = app.server.test_client()
            assert sign_in(bare, name, PASSWORD, "/wall").status_code == 303
            out[f"{name}-no-csrf"] = (bare, user, 403)
            evil = app.server.test_client()
            assert sign_in(evil, name, PASSWORD, "/wall").status_code == 303
            evil.environ_base |= {"HTTP_X_CSRFTOKEN": csrf_token(evil), "HTTP_ORIGIN": "http://evil.example"}
            out[f"{name}-foreign-origin"] = (evil, user, 403)
        client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
        out[name] = (client, user, None)
    return out  # the province admin (the control) comes last: its allowed changes come after the checks


def case_key(callback_id: str) -> str:
    """The first output of a callback id, as ``id.property`` without ``@hash``."""
    return outputs_of(callback_id)[0]["id"] + "." + outputs_of(callback_id)[0]["property"].split("@")[0]


def outputs_of(callback_id: str) -> list[dict]:
    parts = callback_id[2:-2].split("...") if callback_id.startswith("..") else [callback_id]
    out = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        out.append({"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop})
    return out


def payload(callback_id: str, spec: dict, call: Call) -> dict:
    """The request Dash's renderer would send for ``call``."""
    values = {k: v() if callable(v) else v for k, v in call.values.items()}

    def item(s: dict) -> Any:
        ident, prop = s["id"], s["property"]
        if ident.startswith("{"):
            name = json.loads(ident)["type"]
            return [{"id": i, "property": prop, "value": v} for i, v in values.get(f"{name}.{prop}", [])]
        return {"id": ident, "property": prop, "value": values.get(f"{ident}.{prop}")}

    changed = []
    if call.trigger in values and isinstance(values[call.trigger], list) and values[call.trigger] and \
            isinstance(values[call.trigger][0], tuple):  # fmt: skip
        ident = values[call.trigger][0][0]
        changed = [
            json.dumps(ident, sort_keys=True, separators=(",", ":")) + "." + call.trigger.split(".")[1]
        ]
    elif call.trigger:
        changed = [call.trigger]
    outputs = outputs_of(callback_id)
    return {
        "output": callback_id,
        "outputs": outputs if callback_id.startswith("..") else outputs[0],
        "inputs": [item(s) for s in spec["inputs"]],
        "state": [item(s) for s in spec["state"]],
        "changedPropIds": changed,
    }


def texts(body: bytes) -> str:
    """The answer as text, with downloads decoded (base64, and the members of a zip such as .xlsx)."""
    out = [body.decode("utf-8", "replace")]

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            if x.get("base64") and isinstance(x.get("content"), str):
                raw = base64.b64decode(x["content"])
                out.append(raw.decode("utf-8", "replace"))
                if raw[:2] == b"PK":
                    with zipfile.ZipFile(io.BytesIO(raw)) as z:
                        out.extend(z.read(n).decode("utf-8", "replace") for n in z.namelist())
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    with contextlib.suppress(orjson.JSONDecodeError):
        walk(orjson.loads(body))
    return "\n".join(out)


def test_every_callback_has_a_case(world):
    app = world[0]
    keys_ = [case_key(cid) for cid, spec in app.dash.callback_map.items() if "callback" in spec]
    missing = sorted(set(keys_) - set(CALLBACK_CASES))
    assert not missing, (
        f"Dash callbacks without an authorisation case: {missing}. Add one per callback to CALLBACK_CASES "
        "in tests/integration/authz_cases.py (its inputs, states and trigger), so every role, a foreign "
        "region, no sign-in and no CSRF token are tried against it."
    )
    stale = sorted(set(CALLBACK_CASES) - set(keys_))
    assert not stale, f"cases for callbacks that no longer exist: {stale}; remove them from CALLBACK_CASES"
    assert len(keys_) == len(set(keys_)), (
        "two callbacks share a first output: give CALLBACK_CASES a finer key"
    )


def test_no_callback_gives_foreign_data_or_an_unauthorised_change(world):
    app, r, seed, markers = world
    people = clients(app)
    problems: list[str] = []
    control_hits = 0
    for cid, spec in app.dash.callback_map.items():
        if "callback" not in spec:  # clientside: the server must not run it for anybody
            for name in ("duty", "boss"):
                resp = people[name][0].post(CALLBACK, json=payload(cid, spec, Call({})))
                if resp.status_code < 400:
                    problems.append(f"clientside {cid} answered {resp.status_code} to {name}")
            continue
        for call in CALLBACK_CASES.get(case_key(cid), lambda s: [])(seed):
            for name, (client, user, status) in people.items():
                body = payload(cid, spec, call)
                allowed = user is not None and status is None and call.may_change(user, seed)
                if name == "boss" and allowed:
                    continue  # the control only reads: its changes would remove the Suzhou data it looks for
                before = state(r)
                resp = client.post(CALLBACK, json=body)
                after = state(r)
                what = f"{name} -> {case_key(cid)} {call.trigger} {json.dumps(body['inputs'])[:160]}"
                if status is not None and resp.status_code != status:
                    problems.append(f"{what}: status {resp.status_code}, expected {status}")
                sent = json.dumps(body, ensure_ascii=False)
                found = {m for m in markers if m not in sent and m in texts(resp.data)}
                if name == "boss":
                    control_hits += bool(found)
                    if call.control and not found:
                        problems.append(f"{what}: the province admin got no Suzhou data (control)")
                    continue
                if found:
                    problems.append(f"{what}: foreign data {sorted(found)} in the answer")
                if before != after and not allowed:
                    keys_ = set(before) | set(after)
                    changed = sorted(str(k) for k in keys_ if before.get(k) != after.get(k))
                    problems.append(f"{what}: unauthorised change of {changed[:5]}")
    assert control_hits > 0
    assert problems == [], "\n".join(problems)
