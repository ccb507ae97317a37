"""The wall's scene layers (web/wall_api.py) on a real Redis: data of the user's scope only."""

from __future__ import annotations

import time

import orjson
import pytest

from alerts.store import upsert_warnings
from core import keys
from indicators.wall_figures import local_day
from tests.integration.auth_app import SHOPS, TOKEN, local_app, signed_in, write_users


@pytest.fixture
def wall_app(redis_client, settings_for, tmp_path):
    app = local_app(redis_client, settings_for, write_users(tmp_path / "users.yaml"), tmp_path)
    r, now = redis_client, int(time.time() * 1000)
    # goods delivered to Nanjing (Xuanwu) scanned in Suzhou (Gusu), and Wuxi > Changzhou
    r.hset(keys.day_counts("scan", local_day(now)), mapping={"320102>320508": 40, "320205>320402": 9})
    r.zadd(keys.days_index("scan"), {local_day(now): now - 3_600_000})
    # one Nanjing shop and one Suzhou shop inspected an hour ago
    r.zadd(keys.coverage(320102), {SHOPS[0][0]: now - 3_600_000})
    r.zadd(keys.coverage(320508), {SHOPS[5][0]: now - 3_600_000})
    cands = [
        {"type": "corridor_surge", "condition": "corridor_surge:320102>320508", "level": 2, "region": 320508,
         "regions": [320102, 320508], "place": None, "facts": {}, "evidence": {}},
        {"type": "complaint_spike", "condition": "complaint_spike:320102", "level": 3, "region": 320102,
         "regions": [320102], "place": {"lon": 118.79, "lat": 32.05}, "facts": {}, "evidence": {}},
    ]  # fmt: skip
    upsert_warnings(r, cands, now, 86_400_000, 50)
    return app


def get(client, path):
    resp = client.get(path)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return orjson.loads(resp.get_data())


def kiosk(app):
    client = app.server.test_client()
    assert client.get(f"/wall?token={TOKEN}").status_code in (200, 302, 303)
    return client


def test_province_admin_sees_every_layer(wall_app):
    boss = signed_in(wall_app, "boss")
    flows = get(boss, "/api/v1/wall/flows")
    arcs = {(f["properties"]["from"], f["properties"]["to"]): f["properties"] for f in flows["features"]}
    assert arcs[(320100, 320500)]["n"] == 40 and arcs[(320100, 320500)]["lv"] == 2  # orange corridor warning
    assert arcs[(320200, 320400)]["lv"] == 0
    pins = get(boss, "/api/v1/wall/warnings")["features"]
    assert sorted(p["properties"]["rg"] for p in pins) == [320102, 320508]
    heat = get(boss, "/api/v1/wall/heat")
    assert sum(f["properties"]["n"] for f in heat["features"]) == 2 and heat["meta"]["res"] == 5
    gap = get(boss, "/api/v1/wall/gap")
    assert gap["meta"]["shown"] is True
    # eight valid shops, two inspected: the cells of the other six are gaps
    assert sum(f["properties"]["g"] for f in gap["features"]) == 6


def test_a_suzhou_kiosk_gets_suzhou_only(wall_app):
    client = kiosk(wall_app)
    pins = get(client, "/api/v1/wall/warnings")["features"]
    assert [p["properties"]["rg"] for p in pins] == [320508]
    flows = get(client, "/api/v1/wall/flows")["features"]
    # goods arriving in Gusu from Nanjing concern Suzhou; Wuxi > Changzhou does not
    assert [(f["properties"]["from"], f["properties"]["to"]) for f in flows] == [(320100, 320508)]
    heat = get(client, "/api/v1/wall/heat")
    assert sum(f["properties"]["n"] for f in heat["features"]) == 1 and heat["meta"]["res"] == 6
    assert get(client, "/api/v1/wall/gap") == {"type": "FeatureCollection", "features": [],
                                               "meta": {"days": 30, "res": 6, "min_share": pytest.approx(0.2),
                                                        "shown": False}}  # fmt: skip


def test_nobody_signed_in_gets_no_layer(wall_app):
    client = wall_app.server.test_client()
    for path in ("/api/v1/wall/flows", "/api/v1/wall/warnings", "/api/v1/wall/heat", "/api/v1/wall/gap"):
        resp = client.get(path)
        assert resp.status_code in (401, 403) or resp.status_code in (302, 303), path
        assert b"320508" not in resp.get_data()
