"""Pure parts of the per-viewport licence layer."""

from __future__ import annotations

import h3
import pytest

from geo.viewport import (
    CLASSES,
    View,
    cell_features,
    cells_in_view,
    choose_resolution,
    colour_class,
    parse_view,
)

RES = (4, 5, 6, 7, 8)


@pytest.mark.parametrize(
    ("view", "max_cells", "expected"),
    [
        (View(116.36, 30.77, 121.93, 35.13, 7.6), 1500, 5),  # the province: ~260,000 km² of bbox
        (View(118.55, 31.90, 119.05, 32.20, 11), 1500, 7),  # a city
        (View(118.785, 32.045, 118.80, 32.055, 16), 1500, 8),  # a street: the finest configured
        (View(116.36, 30.77, 121.93, 35.13, 7.6), 10, 4),  # nothing fits: the coarsest
    ],
)
def test_choose_resolution_picks_the_finest_that_fits(view, max_cells, expected):
    assert choose_resolution(view, RES, max_cells) == expected


def test_cells_in_view_cover_the_view_and_stay_near_the_budget():
    view = View(118.55, 31.90, 119.05, 32.20, 11)
    cells = cells_in_view(view, 7)
    centre = h3.latlng_to_cell(32.05, 118.8, 7)
    assert centre in cells
    assert len(cells) < 1500 * 1.5


@pytest.mark.parametrize(
    ("n", "largest", "k"),
    [(0, 100, 0), (1, 100, 1), (100, 100, CLASSES - 1), (10, 100, 3), (5, 0, 0)],
)
def test_colour_class_is_log_scaled(n, largest, k):
    assert colour_class(n, largest) == k


def test_cell_features_skip_empty_cells_and_close_rings():
    a, b = h3.latlng_to_cell(32.05, 118.8, 6), h3.latlng_to_cell(31.3, 120.6, 6)
    feats = cell_features([a, b], {a: [3, 1, 0, 0], b: [0, 0, 0, 0]})
    assert len(feats) == 1
    ring = feats[0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    assert feats[0]["properties"] == {"n": 3, "t": 4, "k": CLASSES - 1}


@pytest.mark.parametrize(
    ("bbox", "zoom", "message"),
    [
        (None, "8", "bbox: required"),
        ("1,2,3", "8", "bbox: must be four numbers"),
        ("120,30,116,35", "8", "bbox: west < east"),
        ("116,30,122,89", "8", "bbox: west < east"),
        ("116,30,122,35", "z", "zoom: must be a number"),
        ("116,30,122,35", "-1", "zoom: must be between 0 and 22"),
    ],
)
def test_parse_view_names_the_bad_parameter(bbox, zoom, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        parse_view(bbox, zoom)


def test_parse_view_accepts_a_missing_zoom():
    assert parse_view("116,30,122,35", "") == View(116, 30, 122, 35, 8.0)
