"""Region scope checks, push fan-out to rooms, and the message catalogues."""

from __future__ import annotations

import pytest

from core.auth import Forbidden, User, can_view, require_view, scope_prefix
from core.push import messages_for, room
from layouts.i18n import CATALOGUES


@pytest.mark.parametrize(
    ("scope", "adcode", "allowed"),
    [
        (320000, 320000, True),
        (320000, 320102, True),
        (320000, 310000, False),
        (320100, 320102, True),
        (320100, 320100, True),
        (320100, 320200, False),
        (320100, 320000, False),
        (320102, 320102, True),
        (320102, 320104, False),
    ],
)
def test_scope(scope, adcode, allowed):
    user = User("u", "duty", scope)
    assert can_view(user, adcode) is allowed
    if not allowed:
        with pytest.raises(Forbidden, match=str(adcode)):
            require_view(user, adcode)


def test_scope_prefix():
    assert [scope_prefix(a) for a in (320000, 320100, 320102)] == ["32", "3201", "320102"]


def test_an_unknown_role_sees_nothing():
    with pytest.raises(Forbidden):
        require_view(User("x", "visitor", 320000), 320000)


def test_a_licence_update_goes_to_each_region_room_with_only_that_regions_count():
    update = {"topic": "licence", "version": 7, "last_ingest_ms": 5, "active": {"320000": 10, "320100": 4}}
    out = messages_for(update, lambda: {})
    assert out == [
        ("licence", 320000, {"adcode": 320000, "active": 10, "version": 7, "last_ingest_ms": 5}),
        ("licence", 320100, {"adcode": 320100, "active": 4, "version": 7, "last_ingest_ms": 5}),
    ]
    assert room(320100) == "region:320100"


def test_an_indicator_update_fans_out_the_stored_values():
    stored = {"regions": {"320000": {"active": 1, "per_1000": 0.5}}}
    out = messages_for({"topic": "indicators", "name": "licence", "version": 2}, lambda: stored)
    assert out == [("indicators", 320000, {"adcode": 320000, "active": 1, "per_1000": 0.5})]


def test_both_languages_have_the_same_messages():
    assert set(CATALOGUES["zh"]) == set(CATALOGUES["en"])
    assert all(v.strip() or k.endswith(".unit") for lang in CATALOGUES.values() for k, v in lang.items())


def test_a_warning_announcement_reaches_its_counties_and_the_regions_above():
    update = {"topic": "warnings", "raised": ["w1"], "regions": [320102, 320205], "open": 3, "at": 7}
    rooms = [adcode for event, adcode, _ in messages_for(update, lambda: {})]
    assert rooms == [320000, 320100, 320102, 320200, 320205]
    # each room hears only of itself: no ids, regions or counts of other cities
    payloads = [payload for _, _, payload in messages_for(update, lambda: {})]
    assert payloads[1] == {"adcode": 320100, "at": 7} and payloads[3] == {"adcode": 320200, "at": 7}
