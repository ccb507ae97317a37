"""The licence simulator: deterministic, valid, spread by population."""

from __future__ import annotations

import datetime as dt

import pytest

from core.settings import load_settings
from geo.boundaries import load_regions
from geo.index import RegionIndex
from streams.schema import parse_entry
from streams.simulator import CST, LicenceSimulator


@pytest.fixture(scope="module")
def geo():
    regions = load_regions(load_settings(environ={}))
    return regions, RegionIndex(regions)


def make(geo, **env: str) -> LicenceSimulator:
    regions, index = geo
    return LicenceSimulator(load_settings(environ=env), regions, index)


def test_the_same_seed_gives_the_same_events_and_another_seed_others(geo):
    a = next(make(geo, WATCHFLOOR_SIMULATOR_LICENCES="3000").initial(batch=50))
    b = next(make(geo, WATCHFLOOR_SIMULATOR_LICENCES="3000").initial(batch=50))
    c = next(make(geo, WATCHFLOOR_SIMULATOR_LICENCES="3000", WATCHFLOOR_SIMULATOR_SEED="7").initial(batch=50))
    assert a == b
    assert [e["data"] for e in a] != [e["data"] for e in c]
    now = dt.datetime(2026, 11, 21, 10, 0, tzinfo=CST)
    sim = make(geo, WATCHFLOOR_SIMULATOR_LICENCES="3000")
    assert [sim.trickle(k, now) for k in range(20)] == [sim.trickle(k, now) for k in range(20)]


def test_every_event_is_valid_and_licences_are_placed_in_their_county(geo):
    regions, index = geo
    sim = make(geo, WATCHFLOOR_SIMULATOR_LICENCES="5000")
    events = [parse_entry("licence", e) for batch in sim.initial(batch=1000) for e in batch]
    assert len(events) == 5000
    assert len({e.payload.licence_no for e in events}) == 5000
    lic = sim.licences
    assert (index.lookup(lic.lon, lic.lat) == lic.county).all()
    assert {e.payload.point.crs for e in events} == {"wgs84", "gcj02", "bd09"}
    assert {e.payload.business_type for e in events} >= {
        "grocery",
        "convenience",
        "supermarket",
        "tobacco_liquor",
    }
    assert all(0 < (e.payload.valid_to - e.payload.valid_from).days <= 5 * 366 for e in events)
    now = dt.datetime(2026, 11, 21, 10, 0, tzinfo=CST)
    kinds = {parse_entry("licence", sim.trickle(k, now)).type for k in range(200)}
    assert kinds == {
        "licence.issued",
        "licence.renewed",
        "licence.suspended",
        "licence.revoked",
        "licence.expired",
    }


def test_licences_follow_population(geo):
    regions, _ = geo
    sim = make(geo, WATCHFLOOR_SIMULATOR_LICENCES="250000")
    assert sum(sim.counts.values()) == 250000
    pop = dict(zip(regions.counties["adcode"], regions.counties["pop2020"], strict=True))
    # every county gets about 250,000 / 84.7 M ≈ 2.95 licences per 1,000 residents
    for county, n in sim.counts.items():
        assert abs(n * 1000 / pop[county] - 250000 * 1000 / sum(pop.values())) < 0.01
