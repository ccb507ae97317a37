"""The data routes of the web process, through Flask's test client, on a real Redis."""

from __future__ import annotations

import gzip

import orjson
import pytest

from app import create_app
from geo.index import RegionIndex
from streams.consumer import Consumer, announce_regions, build_stores
from tests.events import entry, issued_data


def load_licences(r, settings, app, n: int = 30) -> None:
    """n licences 100 m apart in a row east of Xuanwu's seat, through the real consumer."""
    stores = build_stores(r, settings, app.regions, RegionIndex(app.regions))
    consumer = Consumer(r, settings, stores, announce_regions(settings, app.regions))
    consumer.ensure_groups()
    for i in range(n):
        data = issued_data(f"3201020001{i:02d}", lon=118.78 + i * 0.001, lat=32.05, shop_name=f"<b>店{i}</b>")
        r.xadd("wf:in:licence", entry(data=data))
    while consumer.run_once(block_ms=1).read:
        pass


@pytest.fixture
def web(redis_client, settings):
    app = create_app(settings, redis_client)
    load_licences(redis_client, settings, app)
    return app


def get_json(client, url):
    resp = client.get(url)
    return resp.status_code, orjson.loads(resp.data)


def test_whole_province_view_is_hex_cells(web):
    status, layer = get_json(web.server.test_client(), "/api/v1/map/licences?bbox=116,30.5,122,35.2&zoom=7")
    assert status == 200 and layer["meta"]["mode"] == "points"  # 30 licences: fewer than max_points
    assert len(layer["features"]) == 30


def test_views_switch_between_cells_and_points_by_count(redis_client, settings_for):
    settings = settings_for(WATCHFLOOR_MAP_MAX_POINTS="10")
    app = create_app(settings, redis_client)
    client = app.server.test_client()
    load_licences(redis_client, settings, app)
    _, province = get_json(client, "/api/v1/map/licences?bbox=116,30.5,122,35.2&zoom=7")
    assert province["meta"]["mode"] == "cells" and province["meta"]["count"] == 30
    assert sum(f["properties"]["n"] for f in province["features"]) == 30
    # a street-level view with 3 shops in it: the shops themselves, names as plain data
    _, street = get_json(client, "/api/v1/map/licences?bbox=118.7795,32.0495,118.7825,32.0505&zoom=17")
    assert street["meta"]["mode"] == "points"
    assert sorted(f["properties"]["no"] for f in street["features"]) == [
        "320102000100",
        "320102000101",
        "320102000102",
    ]
    assert {f["properties"]["name"] for f in street["features"]} == {"<b>店0</b>", "<b>店1</b>", "<b>店2</b>"}


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "bbox: required"),
        ("bbox=1,2,3", "bbox: must be four numbers"),
        ("bbox=a,b,c,d", "bbox: must be four numbers"),
        ("bbox=122,30,116,35", "bbox: west < east"),
        ("bbox=116,30,122,35&zoom=x", "zoom: must be a number"),
        ("bbox=116,30,122,35&zoom=99", "zoom: must be between 0 and 22"),
    ],
)
def test_a_bad_viewport_is_a_400_naming_the_parameter(web, query, reason):
    status, body = get_json(web.server.test_client(), f"/api/v1/map/licences?{query}")
    assert status == 400 and body["error"].startswith(reason)


def test_layers_are_gzipped_when_the_browser_accepts_it(web):
    client = web.server.test_client()
    resp = client.get("/geo/county.geojson", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    counties = orjson.loads(gzip.decompress(resp.data))
    assert len(counties["features"]) == 95
    assert client.get("/geo/nowhere.geojson").status_code == 404


def test_the_wall_page_is_served_with_no_external_resources(web):
    html = web.server.test_client().get("/wall").get_data(as_text=True)
    assert "Watchfloor" in html
    for marker in ("https://", "http://", "//cdn", "unpkg", "googleapis"):
        assert marker not in html, marker
