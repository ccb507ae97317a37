"""wf_components: the wall's own Dash components serialise as Dash expects and reject bad props."""

from __future__ import annotations

from pathlib import Path

import pytest

import wf_components
from wf_components import BarsAndLine, Interval, Location, Store


@pytest.mark.parametrize(
    ("component", "props"),
    [
        (Store(id="s"), {"id": "s"}),  # no data: the prop is left out, not sent as null
        (Store(id="s", data={"v": 0}), {"id": "s", "data": {"v": 0}}),
        (Interval(id="t"), {"id": "t", "interval": 1000, "n_intervals": 0, "disabled": False}),
        (Interval(id="t", interval=30_000, disabled=True),
         {"id": "t", "interval": 30_000, "n_intervals": 0, "disabled": True}),
        (Location(id="page-url"), {"id": "page-url"}),
        (
            BarsAndLine(viewBox="0 0 2 1", bars="M0 0h1V1h-1Z", line="0.5,1 1.5,0", className="c"),
            {"viewBox": "0 0 2 1", "bars": "M0 0h1V1h-1Z", "line": "0.5,1 1.5,0", "className": "c",
             "barClassName": "", "lineClassName": ""},
        ),
    ],
)  # fmt: skip
def test_components_serialise_to_their_props(component, props):
    as_json = component.to_plotly_json()
    assert as_json["namespace"] == "wf_components"
    assert as_json["type"] == type(component).__name__
    assert as_json["props"] == props


@pytest.mark.parametrize("interval", [0, -5])
def test_an_interval_must_be_positive(interval):
    with pytest.raises(ValueError, match="interval must be > 0 ms"):
        Interval(id="t", interval=interval)


def test_the_bundle_defines_every_component_dash_will_ask_for():
    """Dash serves the file named in ``_js_dist`` and looks each type up in window.wf_components."""
    (dist,) = wf_components._js_dist
    source = (Path(wf_components.__file__).parent / dist["relative_package_path"]).read_text()
    assert dist["namespace"] == "wf_components"
    for name in ("Store", "Interval", "Location", "BarsAndLine"):
        assert f"{name}: {name}" in source, name
