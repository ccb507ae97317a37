"""/meeting through Flask's test client: a Nanjing leader drills down within Nanjing, and every
callback and the export refuse Suzhou whatever the request says (a forged store, a forged map click,
a forged shop, a forged export URL); the province's admin gets Suzhou.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest

from app import create_app
from core.users import UserRecord, hash_password, save_users
from indicators.trends import day_list
from tests.integration.auth_app import PASSWORD
from tests.integration.meeting_scenario import seed
from tests.webclient import CALLBACK, csrf_token, sign_in

NANJING, SUZHOU = 320100, 320500


@pytest.fixture(scope="module")
def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def web(redis_client, settings_for, tmp_path: Path, now):
    users = tmp_path / "users.yaml"
    save_users(users, {
        "nj": UserRecord("nj", hash_password(PASSWORD), "leader", NANJING, "南京领导"),
        "boss": UserRecord("boss", hash_password(PASSWORD), "admin", 320000, "省局"),
    })  # fmt: skip
    settings = settings_for(
        WATCHFLOOR_AUTH_MODE="local",
        WATCHFLOOR_AUTH_USERS_FILE=str(users),
        WATCHFLOOR_AUTH_SECRET_FILE=str(tmp_path / "secret"),
    )
    app = create_app(settings, redis_client)
    app.scenario = seed(redis_client, settings, app.regions, now, shops_per_county=3, days=30)
    return app


def client_for(app, name: str):
    client = app.server.test_client()
    assert sign_in(client, name, PASSWORD, "/meeting").status_code == 303
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


def _key(app, output: str) -> str:
    (key,) = [k for k in app.dash.callback_map if output in k]
    return key


def _outputs(key: str) -> list[dict] | dict:
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    outs = [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]
    return outs if key.startswith("..") else outs[0]


def render(app, client, sel: dict, window: int = 30, indicator: str = "inspections") -> dict:
    key = _key(app, "meeting-kpis.children")
    values = [("meeting-sel", "data", sel), ("meeting-window", "value", window),
              ("meeting-indicator", "value", indicator), ("meeting-screen", "data", 1080),
              ("meeting-tick", "n_intervals", None)]  # fmt: skip
    body = {
        "output": key, "outputs": _outputs(key),
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in values],
        "changedPropIds": ["meeting-sel.data"], "state": [],
    }  # fmt: skip
    resp = client.post(CALLBACK, json=body)
    assert resp.status_code == 200, resp.data
    return resp.get_json()["response"]


def trend(app, client, sel: dict, indicator: str, days: int) -> dict:
    key = _key(app, "meeting-trend.figure")
    values = [("meeting-sel", "data", sel), ("meeting-indicator", "value", indicator),
              ("meeting-trend-days", "value", days), ("meeting-screen", "data", 1080),
              ("meeting-tick", "n_intervals", None)]  # fmt: skip
    body = {
        "output": key, "outputs": _outputs(key),
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in values],
        "changedPropIds": ["meeting-sel.data"], "state": [],
    }  # fmt: skip
    return client.post(CALLBACK, json=body).get_json()["response"]


def select(app, client, sel: dict, trigger: str, value) -> dict | None:
    """The new selection after the click, None when the server keeps the old one."""
    key = _key(app, "meeting-sel.data")
    inputs: list = [
        {"id": m, "property": "clickData", "value": value if trigger == m else None}
        for m in ("meeting-regions", "meeting-shops")
    ] + [[], []]
    if isinstance(trigger, dict):
        kind = trigger["type"]
        inputs[2 if kind == "meeting-crumb" else 3] = [
            {"id": trigger, "property": "n_clicks", "value": value}
        ]
    changed = (
        orjson.dumps(trigger, option=orjson.OPT_SORT_KEYS).decode() if isinstance(trigger, dict) else trigger
    )
    body = {
        "output": key, "outputs": _outputs(key), "inputs": inputs,
        "changedPropIds": [f"{changed}.{'n_clicks' if isinstance(trigger, dict) else 'clickData'}"],
        "state": [{"id": "meeting-sel", "property": "data", "value": sel}],
    }  # fmt: skip
    resp = client.post(CALLBACK, json=body)
    if resp.status_code == 204:  # PreventUpdate
        return None
    assert resp.status_code == 200, resp.data
    return resp.get_json()["response"].get("meeting-sel", {}).get("data")


def text(value) -> str:
    return orjson.dumps(value).decode()


def test_a_nanjing_leader_drills_down_in_nanjing_only(web):
    nj = client_for(web, "nj")
    page = nj.get("/meeting")
    assert page.status_code == 200
    out = render(web, nj, {"region": NANJING, "shop": None})
    crumbs = text(out["meeting-crumbs"]["children"])
    assert "南京市" in crumbs and "江苏省" not in crumbs  # the breadcrumb starts at the user's scope
    features = out["meeting-regions"]["data"]["features"]
    codes = sorted(f["properties"]["adcode"] for f in features)
    assert codes and all(c // 100 == 3201 for c in codes)  # Nanjing's counties, nothing else
    ranking = text(out["meeting-ranking"]["children"])
    assert "苏州" not in ranking and "姑苏" not in ranking
    # click a county on the map → the selection moves there
    moved = select(
        web, nj, {"region": NANJING, "shop": None}, "meeting-regions", {"properties": {"adcode": 320102}}
    )
    assert moved == {"region": 320102, "shop": None}
    county = render(web, nj, moved)
    shops = county["meeting-shops"]["data"]["features"]
    assert sorted(f["properties"]["no"] for f in shops) == sorted(web.scenario.shops[320102])
    # a shop: its card (text) with licence, cases and warnings
    no = web.scenario.shops[320102][0]
    shop_sel = select(web, nj, moved, "meeting-shops", {"properties": {"no": no}})
    card = text(render(web, nj, shop_sel)["meeting-card"]["children"])
    assert no in card and "王建国" in card and "案件聚集" in card  # the red case_cluster warning names it
    # breadcrumb back up to the city
    assert select(web, nj, shop_sel, {"type": "meeting-crumb", "adcode": NANJING}, 1) == {
        "region": NANJING, "shop": None,
    }  # fmt: skip


def test_every_meeting_callback_refuses_a_foreign_region(web):
    nj = client_for(web, "nj")
    # a forged map click, crumb or ranking row for Suzhou or the province: the selection does not move
    start = {"region": NANJING, "shop": None}
    control = select(web, nj, start, "meeting-regions", {"properties": {"adcode": 320102}})
    assert control == {"region": 320102, "shop": None}
    assert select(web, nj, start, "meeting-regions", {"properties": {"adcode": SUZHOU}}) is None
    assert select(web, nj, start, {"type": "meeting-crumb", "adcode": 320000}, 1) is None
    assert select(web, nj, start, {"type": "meeting-rank", "adcode": 320505}, 1) is None
    # a forged store: nothing of Suzhou, a refusal instead
    for sel in ({"region": SUZHOU, "shop": None}, {"region": 320000, "shop": None},
                {"region": 320102, "shop": web.scenario.shops[320505][0]}):  # fmt: skip
        out = render(web, nj, sel)
        assert "无权查看" in text(out["meeting-card"]["children"])
        assert out["meeting-kpis"]["children"] == [] and out["meeting-regions"]["data"]["features"] == []
        assert out["meeting-export-pdf"]["href"] is None
        t = trend(web, nj, sel, "inspections", 7)
        assert (
            "无权查看" in t["meeting-trend-title"]["children"] and t["meeting-trend"]["figure"]["data"] == []
        )
    # the export checks the scope too
    resp = nj.get(f"/api/v1/meeting/export.pdf?region={SUZHOU}&window=30&indicator=risk")
    assert resp.status_code == 403 and b"outside the scope" in resp.data
    shop = web.scenario.shops[320505][0]
    assert nj.get(f"/api/v1/meeting/export.png?region={NANJING}&shop={shop}").status_code == 403
    # the province's admin may see Suzhou
    boss = client_for(web, "boss")
    out = render(web, boss, {"region": SUZHOU, "shop": None})
    assert "苏州市" in text(out["meeting-crumbs"]["children"]) and out["meeting-kpis"]["children"]


def test_kpis_and_trends_follow_the_selection_and_match_the_events(web, now):
    nj = client_for(web, "nj")
    city = render(web, nj, {"region": NANJING, "shop": None}, window=7)
    county = render(web, nj, {"region": 320102, "shop": None}, window=7)
    days = day_list(now, 7)
    sent_city = sum(web.scenario.daily("inspections", "3201", days))
    sent_county = sum(web.scenario.daily("inspections", "320102", days))
    assert sent_city > sent_county > 0
    assert f"{sent_city:,}" in text(city["meeting-kpis"]["children"])
    assert f"{sent_county:,}" in text(county["meeting-kpis"]["children"])
    for n in (7, 30):
        fig = trend(web, nj, {"region": NANJING, "shop": None}, "inspections", n)["meeting-trend"]["figure"]
        line, today = fig["data"][1]["y"], fig["data"][0]["y"]  # today (still running) is drawn apart
        assert line + today == web.scenario.daily("inspections", "3201", day_list(now, n))
    # an indicator without a daily series falls back to inspections, and says so
    out = trend(web, nj, {"region": 320102, "shop": None}, "coverage", 7)
    assert "无逐日数据" in out["meeting-trend-title"]["children"]
    fig = out["meeting-trend"]["figure"]
    assert fig["data"][1]["y"] + fig["data"][0]["y"] == web.scenario.daily("inspections", "320102", days)
