"""web/wall_page.py: which page asks (path or Referer), the wall's initial layout, the lean page."""

from __future__ import annotations

from pathlib import Path

import dash_leaflet
import pytest
from flask import Flask

from core.settings import load_settings
from geo.boundaries import load_regions
from layouts import pages, wall_panels
from web import wall_page

SCRIPTS = "\n".join(
    [
        '<script src="/_dash-component-suites/dash/deps/react@18.v4_4_1m1.3.1.min.js"></script>',
        '<script src="/_dash-component-suites/dash/deps/polyfill@7.v4_4_1m1.12.1.min.js"></script>',
        '<script src="/_dash-component-suites/dash/dash_table/bundle.v7_4_1m1.js"></script>',
        '<script src="/_dash-component-suites/dash_leaflet/dash_leaflet.v1_1_3m1.js"></script>',
        '<script src="/_dash-component-suites/dash/dcc/dash_core_components.v4_4_1m1.js"></script>',
        '<script src="/_dash-component-suites/dash/dcc/dash_core_components-shared.v4_4_1m1.js"></script>',
        '<script src="/_dash-component-suites/dash/html/dash_html_components.v4_4_1m1.min.js"></script>',
        '<script src="/_dash-component-suites/dash_svg/dash_svg.v0_0_12m1.min.js"></script>',
        '<script src="/_dash-component-suites/wf_components/wf_components.v1_0_0m1.js"></script>',
        '<script src="/assets/auth.js?m=1"></script>',
        '<script src="/assets/meeting.js?m=1"></script>',
        '<script src="/assets/wall.js?m=1"></script>',
        '<script src="/assets/wall_scenes.js?m=1"></script>',
        '<link rel="stylesheet" href="/assets/duty.css?m=1">',
        '<link rel="stylesheet" href="/assets/wall_panels.css?m=1">',
        "<script>var renderer = new DashRenderer();</script>",
    ]
)


@pytest.fixture(scope="module")
def world():
    settings = load_settings(environ={"WATCHFLOOR_REDIS_URL": "redis://unused"})
    return settings, load_regions(settings)


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/wall", {}, "/wall"),
        ("/", {}, "/"),
        ("/duty", {}, "/duty"),
        ("/_dash-layout", {"Referer": "http://wf.local/wall"}, "/wall"),
        ("/_dash-layout", {"Referer": "http://wf.local/?token=x"}, "/"),
        ("/_dash-layout", {"Referer": "http://wf.local/meeting"}, "/meeting"),
        ("/_dash-layout", {}, None),  # no Referer: unknown, the shell
        ("/_dash-layout", {"Referer": "http://elsewhere.example/wall"}, None),  # not this site
    ],
)
def test_page_path(path, headers, expected):
    app = Flask(__name__)
    with app.test_request_context(path, headers=headers, base_url="http://wf.local"):
        assert wall_page.page_path() == expected


def test_page_path_outside_a_request_is_unknown():
    assert wall_page.page_path() is None


def components(tree):
    """Every Dash component of a layout tree (depth first)."""
    stack = [tree]
    while stack:
        c = stack.pop()
        if isinstance(c, list | tuple):
            stack.extend(c)
        elif hasattr(c, "to_plotly_json"):
            yield c
            stack.append(getattr(c, "children", None))


def ids(component) -> set[str]:
    return {c.id for c in components(component) if getattr(c, "id", None)}


@pytest.mark.parametrize(("path", "wall"), [("/wall", True), ("/", True), ("/duty", False), (None, False)])
def test_initial_layout_is_the_wall_only_on_its_paths(world, path, wall):
    settings, regions = world
    found = ids(pages.initial(path, settings, regions))
    assert ("wall-map" in found) is wall
    assert ("wall-licence-view" in found) is wall
    # the router's trigger only where the router must fill the page
    assert ("page-url" in found) is not wall
    assert "page-content" in found


def test_wall_tags_keep_the_walls_files_only():
    kept = wall_page.wall_tags(SCRIPTS)
    for name in ("dash_table", "polyfill", "dash_core_components", "dash_svg", "meeting.js", "duty.css"):
        assert name not in kept, name
    for name in ("react@18", "dash_leaflet", "dash_html_components", "wf_components", "auth.js", "wall.js",
                 "wall_scenes.js", "wall_panels.css"):  # fmt: skip
        assert name in kept, name
    assert "new DashRenderer()" in kept  # inline scripts (CSP-hashed) untouched


# the component libraries a wall page loads (web/wall_page.py drops the others from its HTML)
WALL_LIBRARIES = {"dash_html_components", "dash_leaflet", "dash_socketio", "wf_components"}


@pytest.mark.parametrize("path", ["/wall", None])
def test_a_wall_page_needs_no_bundle_it_leaves_out(world, path):
    """Both ways a wall page starts — the wall itself, or (no Referer) the shell the router fills with
    the wall — and the panels the callbacks fill in use only the libraries the page loads."""
    settings, regions = world
    trees = [pages.initial(path, settings, regions), pages.screen("/wall", settings, regions)]
    trees.append(wall_panels.trend_svg({"inspections": [1], "warnings": [1]}, "zh"))
    trees.append(wall_panels.ranking_rows([(320100, 1.0)], {320100: "南京市"}, "zh"))
    warning = {"id": "w", "colour": "red", "level": 1, "type": "t", "region": 320100, "raised_at": 0}
    trees.append(wall_panels.ticker_items([warning], {}, "zh", 0))
    used = {c._namespace for tree in trees for c in components(tree)}
    assert used <= WALL_LIBRARIES, used - WALL_LIBRARIES


def test_preloads_name_the_maps_first_requests(world):
    settings, regions = world
    links = wall_page.preloads(regions)
    first = pages.wall.first_licence_url(regions)
    assert f'href="{first.replace("&", "&amp;")}"' in links
    assert 'as="fetch" crossorigin' in links
    assert wall_page.GEOJSON_CHUNK in links
    # assets/wall.js asks for exactly the URL that is preloaded (named by the page's <meta>), and the
    # chunk is dash-leaflet's file
    assert wall_page.first_layer_meta(regions) == (
        f'<meta name="wf-licence-layer" content="{first.replace("&", "&amp;")}">'
    )
    assert (Path(dash_leaflet.__file__).parent / Path(wall_page.GEOJSON_CHUNK).name).is_file()


def first_match(component, match, what: str):
    """The first component of the tree ``component`` for which ``match`` holds (depth first)."""
    found = next((c for c in components(component) if match(c)), None)
    if found is None:
        raise AssertionError(f"{what} not in the layout")
    return found


def find(component, ident: str):
    return first_match(component, lambda c: getattr(c, "id", None) == ident, ident)


def test_boundary_levels_stack_by_level_not_by_arrival(world):
    """Each level in a pane of its own, county < city < province, so the order the three layers arrive
    in (it varies from load to load) cannot put county lines over the province outline."""
    settings, regions = world
    layout = pages.initial("/wall", settings, regions)
    z = {}
    for level in ("county", "city", "province"):
        layer = find(layout, f"wall-boundary-{level}")
        pane = find_pane(layout, layer.pane)
        assert pane.children is layer
        z[level] = pane.style["zIndex"]
    assert z["county"] < z["city"] < z["province"]
    # below the flow arcs; above the licence cells, whose pane assets/wall.js makes (checked in the
    # browser: tests/browser/test_wall.py::test_the_licence_layer_comes_back_after_failed_fetches)
    assert z["province"] < find_pane(layout, "scene-flows").style["zIndex"]


def find_pane(component, name: str):
    return first_match(
        component, lambda c: type(c).__name__ == "Pane" and getattr(c, "name", None) == name, f"pane {name}"
    )


@pytest.mark.parametrize(
    ("values", "fills"),
    [
        ([(320100, 40.0), (320200, 20.0), (320300, 0.0)], ["1.00", "0.50", "0.02"]),  # the top fills the bar
        ([(320100, 0.0)], ["0.02"]),  # all zero: a sliver each, no division by zero
        ([(320100, 3.0), (320200, 1.0)], ["1.00", "0.33"]),
    ],
)
def test_ranking_rows_fill_their_bar_by_value(values, fills):
    names = {320100: "南京市", 320200: "无锡市", 320300: "徐州市"}
    rows = wall_panels.ranking_rows(values, names, "zh")
    assert [r.style["--fill"] for r in rows] == fills
    # one component a row: place and value are data attributes the CSS shows, the name is the text
    assert [getattr(r, "data-no") for r in rows] == [str(i) for i in range(1, len(values) + 1)]
    assert [r.children for r in rows] == [names[a] for a, _ in values]
    assert [getattr(r, "data-value") for r in rows] == [f"{v:.0f}" for _, v in values]


def test_trend_bars_are_one_path_with_a_rectangle_per_busy_hour():
    chart = wall_panels.trend_svg({"inspections": [0, 4, 2, 0], "warnings": [1, 0, 0, 3]}, "zh")[1].children
    rects = [part for part in chart.bars.split("M") if part]
    assert len(rects) == 2  # hours 1 and 2; empty hours draw nothing
    tops = [float(r.split(" ")[1].split("h")[0]) for r in rects]
    assert tops[0] == 6.0 and tops[0] < tops[1] < 80.0  # the busiest hour reaches the top margin
    assert len(chart.line.split(" ")) == 4


def test_ranking_rows_say_so_when_empty():
    (row,) = wall_panels.ranking_rows([], {}, "zh")
    assert row.className == "wall-empty"


def test_ticker_lines_carry_time_and_overdue_as_data_and_upstream_text_as_text():
    now = 1_763_800_000_000  # 2025-11-22 16:26:40 CST
    evil = "<b>x</b>"
    warnings = [
        {"id": "w1", "colour": "red", "level": 1, "type": evil, "region": 320102, "raised_at": now - 60_000,
         "state": "dispatched", "due_at": now - 1},
        {"id": "w2", "colour": "purple", "level": 4, "type": "complaint_spike", "region": 999,
         "raised_at": now},
    ]  # fmt: skip
    first, second = wall_panels.ticker_items(warnings, {320102: "玄武区"}, "zh", now)
    assert getattr(first, "data-time") == "16:25" and getattr(second, "data-time") == "16:26"
    assert getattr(first, "data-overdue") == "超期" and not hasattr(second, "data-overdue")
    kind, region = first.children
    assert (getattr(kind, "data-chip"), kind.children, region.children) == ("红Ⅰ", evil, "玄武区")
    assert isinstance(kind.children, str)  # upstream text as a text node
    assert "wall-tick-blue" in second.className and getattr(second.children[0], "data-chip") == "蓝Ⅳ"
    assert second.children[1].children == "999"  # an unknown region by its code
