"""Watchfloor's own Dash components: the few the wall needs, without dcc's and dash_svg's bundles.

The wall page is what a kiosk loads first, and every script it loads is parsed and run before Dash asks
for the layout. dcc's bundles (470 KB) and dash_svg's (104 KB) served the wall only memory stores, two
timers, the router's location and one chart; these components do the same in ~3 KB
(``wf_components.js``, plain React without a build step; docs/wall.md, "First paint"). The other
screens keep using dcc.

- :class:`Store`: data kept in the page (as ``dcc.Store(storage_type="memory")``); renders nothing.
- :class:`Interval`: ``n_intervals`` goes up every ``interval`` ms (as ``dcc.Interval``).
- :class:`Location`: the page's ``pathname``, updated on back/forward and on dcc.Link navigation.
- :class:`BarsAndLine`: an SVG chart from a bars path and a polyline's points (one component, not three).
"""

from __future__ import annotations

from typing import Any

from dash.development.base_component import Component

__version__ = "1.0.0"

_js_dist = [{"relative_package_path": "wf_components.js", "namespace": "wf_components"}]


class _Base(Component):
    """A component whose props are exactly ``_prop_names`` (no wildcards, no children)."""

    _namespace = "wf_components"
    _children_props: list[str] = []
    _base_nodes = ["children"]
    _prop_names: list[str] = []

    def __init__(self, **props: Any) -> None:
        self._valid_wildcard_attributes = []
        self.available_properties = list(self._prop_names)
        self.available_wildcard_properties = []
        super().__init__(**{k: v for k, v in props.items() if v is not None})


class Store(_Base):
    """Data kept in the page for callbacks (in memory: a reload starts from ``data`` again)."""

    _type = "Store"
    _prop_names = ["id", "data"]

    def __init__(self, id: str, data: Any = None) -> None:
        super().__init__(id=id, data=data)


class Interval(_Base):
    """``n_intervals`` counts up every ``interval`` milliseconds while not ``disabled``."""

    _type = "Interval"
    _prop_names = ["id", "interval", "n_intervals", "disabled"]

    def __init__(self, id: str, interval: int = 1000, n_intervals: int = 0, disabled: bool = False) -> None:
        if interval <= 0:
            raise ValueError(f"Interval {id!r}: interval must be > 0 ms, got {interval}")
        super().__init__(id=id, interval=interval, n_intervals=n_intervals, disabled=disabled)


class Location(_Base):
    """The page's path (``pathname``), set when the page starts and on every navigation."""

    _type = "Location"
    _prop_names = ["id", "pathname"]

    def __init__(self, id: str) -> None:
        super().__init__(id=id)


class BarsAndLine(_Base):
    """An SVG of ``viewBox`` stretched to its box: a path ``bars`` and a polyline ``line`` (its points).

    The strings are drawn as SVG attributes by React, never parsed as markup.
    """

    _type = "BarsAndLine"
    _prop_names = ["id", "viewBox", "bars", "line", "className", "barClassName", "lineClassName"]

    def __init__(
        self,
        viewBox: str,
        bars: str,
        line: str,
        className: str = "",
        barClassName: str = "",
        lineClassName: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__(
            id=id, viewBox=viewBox, bars=bars, line=line, className=className,
            barClassName=barClassName, lineClassName=lineClassName,
        )  # fmt: skip
