"""Malformed entries — a fixed corpus and hypothesis-generated ones — all land in wf:dead with a reason,
while the valid events of the same batch are applied."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core import keys
from core.settings import load_settings
from geo.boundaries import load_regions
from geo.index import RegionIndex
from streams.consumer import Consumer, announce_regions, build_stores
from streams.deadletter import list_dead_letters
from streams.schema import InvalidEvent, parse_entry
from tests.events import complaint_data, entry, inspection_data, issued_data, scan_data

GEO = None


def geo():
    global GEO
    if GEO is None:
        regions = load_regions(load_settings(environ={}))
        GEO = (regions, RegionIndex(regions))
    return GEO


def consume(r, settings_) -> Consumer:
    regions, index = geo()
    c = Consumer(
        r, settings_, build_stores(r, settings_, regions, index), announce_regions(settings_, regions), "t"
    )
    c.ensure_groups()
    while c.run_once(block_ms=1).read:
        pass
    return c


def with_data(data: object, kind: str = "licence.issued", **over) -> dict:
    return {**entry(kind, {}), "data": orjson.dumps(data), **over}


HUGE = "烟" * 100_000
CORPUS: list[tuple[str, dict]] = [
    ("licence", {**entry(), "data": b"{not json"}),
    ("licence", {**entry(), "data": b""}),
    ("licence", {**entry(), "data": b"\xff\xfe\x00"}),
    ("licence", {**entry(), "data": b"null"}),
    ("licence", {**entry(), "data": b'"a string"'}),
    ("licence", {k: v for k, v in entry().items() if k != "id"}),
    ("licence", {k: v for k, v in entry().items() if k != "data"}),
    ("licence", {**entry(), "extra": b"1"}),
    ("licence", {**entry(), "occurred_at": b"2026-13-40T99:00:00+08:00"}),
    ("licence", {**entry(), "occurred_at": b"1700000000"}),
    ("licence", {**entry(), "id": HUGE.encode()}),
    ("licence", {**entry(), "type": b"<script>alert(1)</script>"}),
    ("licence", with_data(issued_data(licence_no="<b>32010200</b>"))),
    ("licence", with_data(issued_data(lon=200.0))),
    ("licence", with_data(issued_data(lat=-91.0))),
    ("licence", with_data({**issued_data(), "point": {"lon": "x"}})),
    ("licence", with_data(issued_data(crs="<script>"))),
    ("licence", with_data(issued_data(shop_name=HUGE))),
    ("licence", with_data(issued_data(holder=["a", "list"]))),
    ("licence", with_data(issued_data(valid_from="yesterday"))),
    ("licence", with_data({**issued_data(), "unexpected": True})),
    ("licence", with_data(issued_data(lon=121.47, lat=31.23))),  # Shanghai: outside the province
    (
        "inspection",
        with_data(inspection_data(outcome="issues_found", issue_codes=[]), "inspection.completed"),
    ),
    ("inspection", with_data(inspection_data(finished="2026-11-21T09:00:00+08:00"), "inspection.completed")),
    ("scan", with_data(scan_data(carton="short"), "scan.recorded")),
    ("scan", with_data(scan_data(licence_region=999999), "scan.recorded")),
    ("complaint", with_data(complaint_data(text=HUGE), "complaint.received")),
    (
        "complaint",
        with_data({k: v for k, v in complaint_data().items() if k != "address"}, "complaint.received"),
    ),
    ("complaint", with_data(complaint_data(address="<img src=x onerror=alert(1)>"), "complaint.received")),
]


def test_every_corpus_entry_is_a_dead_letter_and_valid_neighbours_are_applied(redis_client, settings):
    r = redis_client
    for i, (source, bad) in enumerate(CORPUS):
        r.xadd(keys.inbound("licence"), entry(data=issued_data(f"320102{i:06d}")))  # a valid neighbour
        r.xadd(keys.inbound(source), bad)
    consume(r, settings)

    letters = list_dead_letters(r, count=1000)
    assert len(letters) == len(CORPUS)
    assert all(letter["reason"] and ":" in letter["reason"] for letter in letters)
    assert int(r.hget(keys.licence_counts("valid"), "320000")) == len(CORPUS)
    for source in ("licence", "inspection", "scan", "complaint"):
        assert r.xpending(keys.inbound(source), "ingest")["pending"] == 0


field_values = st.one_of(st.binary(max_size=60), st.text(max_size=60).map(str.encode))
envelopes = st.dictionaries(
    st.sampled_from(["id", "type", "occurred_at", "data", "extra", "ID", "data "]),
    field_values,
    min_size=1,
    max_size=5,
)
data_objects = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=12,
)
typed = st.builds(
    lambda kind, data, when: {
        "id": b"h",
        "type": kind.encode(),
        "occurred_at": when.encode(),
        "data": orjson.dumps(data),
    },
    st.sampled_from(["licence.issued", "licence.renewed", "licence.changed", "licence.suspended"]),
    data_objects,
    st.sampled_from(["2026-11-21T09:00:00+08:00", "2026-11-21", "x"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(envelopes | typed, min_size=1, max_size=6))
def test_generated_invalid_envelopes_land_in_dead_letters(redis_client, settings, batch):
    for fields in batch:
        try:
            parse_entry("licence", fields)
        except InvalidEvent:
            continue
        assume(False)  # a generated entry that happens to be valid proves nothing here
    r = redis_client
    r.flushall()
    r.xadd(keys.inbound("licence"), entry(data=issued_data("320102999999")))
    for fields in batch:
        r.xadd(keys.inbound("licence"), fields)
    consume(r, settings)
    letters = list_dead_letters(r, count=100)
    assert len(letters) == len(batch)
    assert all(letter["reason"] for letter in letters)
    assert r.hget(keys.licence_counts("valid"), "320000") == b"1"
    assert r.xpending(keys.inbound("licence"), "ingest")["pending"] == 0


@pytest.mark.parametrize("source", ["licence", "complaint"])
def test_markup_in_free_text_is_valid_data_kept_as_text(redis_client, settings, source):
    r = redis_client
    markup = '<img src=x onerror="alert(1)"> & </div>'
    if source == "licence":
        r.xadd(keys.inbound("licence"), entry(data=issued_data("320102000001", shop_name=markup)))
    else:
        r.xadd(keys.inbound("complaint"), entry("complaint.received", complaint_data("m1", text=markup)))
    consume(r, settings)
    assert list_dead_letters(r) == []
    stored = (
        r.hget(keys.LICENCES, "320102000001")
        if source == "licence"
        else r.hget(keys.records("complaint"), "m1")
    )
    assert markup in orjson.loads(stored).values()
