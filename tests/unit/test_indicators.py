"""Licence indicators, table-driven against hand-computed values."""

from __future__ import annotations

import datetime as dt

import pytest

from indicators.licences import licence_density

NOW = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("active", "population", "expected"),
    [
        (
            {320100: 27944},
            {320100: 9314685},
            {"320100": {"active": 27944, "population": 9314685, "per_1000": 3.0}},
        ),
        ({}, {320102: 537825}, {"320102": {"active": 0, "population": 537825, "per_1000": 0.0}}),
        ({320102: 5}, {}, {"320102": {"active": 5, "population": 0, "per_1000": None}}),
        ({320000: 1}, {320000: 3000}, {"320000": {"active": 1, "population": 3000, "per_1000": 0.333}}),
    ],
)
def test_licence_density(active, population, expected):
    result = licence_density(active, population, NOW)
    assert result == {"computed_at": "2026-11-21T08:00:00+00:00", "regions": expected}
