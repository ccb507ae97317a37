"""POST /api/v1/events/<source> through Flask's test client, on a real redis-server."""

from __future__ import annotations

import io
import json

import orjson
import pytest
import redis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from app import create_app
from core import keys
from core.redis_server import free_port
from core.settings import load_settings
from geo.boundaries import load_regions
from geo.index import RegionIndex
from streams.consumer import Consumer, announce_regions, build_stores
from tests.events import complaint_data, issued_data

URL = "/api/v1/events/licence"
TOKENS = {
    "WATCHFLOOR_INGEST_TOKENS_LICENCE": "secret-1",
    "WATCHFLOOR_INGEST_TOKENS_COMPLAINT": "secret-2",
    "WATCHFLOOR_INGEST_MAX_BODY_BYTES": "8192",
    "WATCHFLOOR_INGEST_MAX_EVENTS": "10",
}
AUTH = {"Authorization": "Bearer secret-1"}


@pytest.fixture(scope="module")
def regions():
    return load_regions(load_settings(environ={}))


@pytest.fixture
def settings(settings_for):
    return settings_for(**TOKENS)


@pytest.fixture
def client(redis_client, settings, regions):
    return create_app(settings, redis_client, regions).server.test_client()


def envelope(data=None, **over):
    """One HTTP envelope: ``data`` is a JSON object, not a string."""
    item = {
        "id": "reg-1",
        "type": "licence.issued",
        "occurred_at": "2026-11-21T09:00:00+08:00",
        "data": data if data is not None else issued_data(),
    }
    item.update(over)
    return item


def post(client, body, url=URL, headers=AUTH, **kwargs):
    raw = body if isinstance(body, (bytes, str)) else orjson.dumps(body)
    resp = client.post(url, data=raw, headers=headers, content_type="application/json", **kwargs)
    assert resp.mimetype == "application/json"
    return resp, orjson.loads(resp.data)


def stream(r, source="licence"):
    return [
        {k.decode(): v.decode() for k, v in fields.items()} for _, fields in r.xrange(keys.inbound(source))
    ]


@pytest.mark.parametrize(
    "header", [None, "", "secret-1", "Basic c2VjcmV0LTE=", "Bearer", "Bearer  ", "Bearer a b"]
)
def test_a_missing_or_malformed_authorization_is_401(client, redis_client, header):
    resp, body = post(client, [envelope()], headers={"Authorization": header} if header is not None else {})
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert body["error"].startswith("authorization:")
    assert redis_client.exists(keys.inbound("licence")) == 0


@pytest.mark.parametrize(
    ("url", "token", "status"),
    [
        (URL, "wrong", 403),
        (URL, "secret-2", 403),  # the complaint line's token is not the licence registry's
        (URL, "秘密", 403),  # non-ASCII in a header never makes a 500
        ("/api/v1/events/case", "secret-1", 403),  # no token configured: the source is closed
        ("/api/v1/events/case", "", 403),
        ("/api/v1/events/weather", "secret-1", 404),
    ],
)
def test_wrong_token_closed_source_and_unknown_source(client, redis_client, url, token, status):
    headers = {"Authorization": f"Bearer {token}".encode().decode("latin-1")}
    resp, body = post(client, [envelope()], url=url, headers=headers)
    assert resp.status_code == status and "error" in body
    assert redis_client.keys("wf:in:*") == []


def test_another_sources_token_posts_to_that_source(client, redis_client):
    item = envelope(complaint_data(), type="complaint.received", id="c-1")
    resp, body = post(
        client, [item], url="/api/v1/events/complaint", headers={"Authorization": "bearer secret-2"}
    )
    assert resp.status_code == 200 and body["accepted"] == 1
    assert [e["id"] for e in stream(redis_client, "complaint")] == ["c-1"]


def test_too_large_by_content_length_is_413_before_reading(client, redis_client):
    big = [envelope(issued_data(address="x" * 9000))]
    resp, body = post(client, big)
    assert resp.status_code == 413 and "8192" in body["error"]
    assert redis_client.exists(keys.inbound("licence")) == 0


def test_too_large_without_content_length_is_413_while_reading(client):
    raw = orjson.dumps([envelope(issued_data(address="x" * 9000))])
    resp = client.post(
        URL,
        input_stream=io.BytesIO(raw),
        headers={**AUTH, "Transfer-Encoding": "chunked"},  # a streamed body: no length known up front
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert resp.request.content_length is None
    assert resp.status_code == 413 and resp.mimetype == "application/json"


def test_too_many_items_is_413(client, redis_client):
    resp, body = post(client, [envelope(id=f"r{i}") for i in range(11)])
    assert resp.status_code == 413 and "at most 10" in body["error"]
    assert redis_client.exists(keys.inbound("licence")) == 0


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"[{", "body: not valid JSON"),
        (b"", "body: not valid JSON"),
        (b"\xff\xfe", "body: not valid JSON"),
        (b'{"id": "x"}', "body: must be a JSON array"),
        (b'"text"', "body: must be a JSON array"),
    ],
)
def test_bad_json_or_not_an_array_is_400(client, raw, error):
    resp, body = post(client, raw)
    assert resp.status_code == 400 and body["error"].startswith(error)


def test_a_mixed_batch_writes_only_the_valid_items(client, redis_client):
    items = [
        envelope(id="ok-1"),
        envelope(issued_data(lat=99), id="bad-lat"),
        envelope(id="bad-time", occurred_at="2026-11-21T09:00:00"),
        envelope(id="bad-type", type="licence.burned"),
        "not an object",
        envelope(id="ok-2", data=issued_data("320102000002")),
        envelope(id="bad-data", data='{"licence_no": "320102000003"}'),
        envelope(id=17),
        {
            "id": "extra",
            "type": "licence.issued",
            "occurred_at": "2026-11-21T09:00:00+08:00",
            "data": {},
            "x": 1,
        },
    ]
    resp, body = post(client, items)
    assert resp.status_code == 200
    assert (body["accepted"], body["rejected"]) == (2, 7)
    by_index = {r["index"]: r for r in body["results"]}
    assert by_index[0] == {"index": 0, "id": "ok-1", "status": "accepted"}
    assert by_index[1]["status"] == "rejected" and by_index[1]["reason"].startswith("data.point.lat: ")
    assert by_index[2]["reason"].startswith("occurred_at: ")
    assert by_index[3]["reason"].startswith("type: 'licence.burned' is not an event type")
    assert by_index[4] == {
        "index": 4,
        "id": None,
        "status": "rejected",
        "reason": "item: must be a JSON object",
    }
    assert by_index[6]["reason"] == "data: must be a JSON object"
    assert by_index[7]["reason"] == "id: must be a JSON string" and by_index[7]["id"] == 17
    assert by_index[8]["reason"].startswith("x: unknown field")
    written = stream(redis_client)
    assert [e["id"] for e in written] == ["ok-1", "ok-2"]
    assert orjson.loads(written[1]["data"]) == issued_data("320102000002")  # data travels as a JSON string
    assert redis_client.exists(keys.DEAD) == 0  # rejects were answered, not dead-lettered


def test_markup_is_data_and_comes_back_escaped(client, redis_client):
    shop = '<img src=x onerror="alert(1)"> 王记 & 子'
    items = [
        envelope(issued_data(shop_name=shop), id="<b>ok</b>"),
        envelope(id="<script>x</script>", type="<i>"),
    ]
    resp, body = post(client, items)
    assert resp.status_code == 200 and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<" not in resp.data and b">" not in resp.data and b"\\u003c" in resp.data
    assert body["results"][0] == {"index": 0, "id": "<b>ok</b>", "status": "accepted"}
    assert body["results"][1]["id"] == "<script>x</script>" and "'<i>'" in body["results"][1]["reason"]
    assert orjson.loads(stream(redis_client)[0]["data"])["shop_name"] == shop


def test_other_methods_and_paths_answer_json(client):
    resp = client.get(URL, headers=AUTH)
    assert resp.status_code == 405 and resp.mimetype == "application/json" and resp.headers["Allow"] == "POST"
    for url in ("/api/v1/events", "/api/v1/events/licence/extra"):
        resp = client.post(url, headers=AUTH, data=b"[]")
        assert resp.status_code == 404 and resp.mimetype == "application/json"


def test_redis_down_is_a_503_asking_for_a_retry(settings, regions):
    dead = redis.Redis(port=free_port(), socket_connect_timeout=1, retry=None)
    client = create_app(settings, dead, regions).server.test_client()
    resp, body = post(client, [envelope()])
    assert resp.status_code == 503 and resp.headers["Retry-After"] and body["error"].startswith("redis:")


def test_an_empty_array_is_fine(client, redis_client):
    resp, body = post(client, [])
    assert resp.status_code == 200 and body == {"accepted": 0, "rejected": 0, "results": []}


def test_accepted_events_reach_the_licence_state_through_the_consumer(
    client, redis_client, settings, regions
):
    items = [envelope(id="e-1"), envelope(id="e-1"), envelope(issued_data("320102000009"), id="e-2")]
    resp, body = post(client, items)
    assert body["accepted"] == 3  # a repeated id is accepted here; the consumer applies it once
    consumer = Consumer(
        redis_client,
        settings,
        build_stores(redis_client, settings, regions, RegionIndex(regions)),
        announce_regions(settings, regions),
        "test-1",
    )
    consumer.ensure_groups()
    while consumer.run_once(block_ms=1).read:
        pass
    assert sorted(redis_client.hkeys(keys.LICENCES)) == [b"320102000001", b"320102000009"]
    assert redis_client.scard(keys.seen("licence")) == 2


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
ITEM = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON | st.text(max_size=140),
        "type": st.sampled_from(["licence.issued", "licence.renewed", "x"]) | JSON,
        "occurred_at": st.sampled_from(["2026-11-21T09:00:00+08:00", "2026-11-21", ""]) | JSON,
        "data": st.builds(issued_data) | JSON,
    },
)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(ITEM | JSON, max_size=8) | JSON | st.binary(max_size=40))
def test_any_body_gets_a_json_answer_and_never_a_500(client, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()  # json: any int, any string
    resp = client.post(URL, data=raw, headers=AUTH)
    assert resp.status_code in (200, 400, 413) and resp.mimetype == "application/json"
    answer = orjson.loads(resp.data)
    if resp.status_code == 200:
        assert answer["accepted"] + answer["rejected"] == len(body) == len(answer["results"])
