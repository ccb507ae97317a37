"""``/wall`` (and ``/``) as a page of its own: the wall's layout from the start, only its own files.

Every other screen starts with the shell (``layouts.pages.shell``) and the router callback fills it
for the path. The wall is what a kiosk shows first, so its page skips that round trip and loads less
(docs/wall.md, "First paint"):

- ``/_dash-layout`` asked for by a wall page answers with the wall itself (``layouts.pages.initial``):
  the map and its licence layer mount with the first render, no router callback runs before them.
  Dash's layout request does not say which page asks; the browser's ``Referer`` does (the
  ``Referrer-Policy: same-origin`` of web/security.py keeps it on same-origin requests). Without it
  the page gets the shell and the router, as before: slower, never wrong.
- The wall page's HTML leaves out what only other screens use (dash_table's bundle, the other
  screens' ``assets/`` files) and preloads what the map asks for once React has mounted it: the
  licence layer of the province view and dash-leaflet's lazily loaded GeoJSON chunk.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import dash
from flask import has_request_context, request

from core.settings import Settings
from geo.boundaries import Regions
from layouts import pages
from layouts.wall import first_licence_url

#: paths that show the wall (``layouts.pages.KIOSK_PATHS`` without the router's "no path yet")
WALL_PATHS = frozenset({"/", "/wall"})
#: assets the wall page loads: its own, the sign-in expiry handler and the undo-history trim every page has
WALL_ASSET = re.compile(r"/assets/(wall[\w-]*|auth|history)\.(js|css)(\?|$)")
#: Dash bundles the wall does without: dash_table's (no table on the wall), dcc's and dash_svg's (its
#: stores, timers, location and trend chart are wf_components, as is the shell's location) and Babel's
#: polyfill (core-js 2 and regenerator, for old browsers; the wall targets current Chromium, and the only
#: code that would need regenerator, the renderer's loader of lazy dcc components, is not loaded here)
NOT_ON_WALL = ("/dash_table/", "/dash/dcc/", "/dash_svg/", "/deps/polyfill@")
#: dash-leaflet loads GeoJSON lazily (a webpack chunk fetched when the first layer mounts)
GEOJSON_CHUNK = "/_dash-component-suites/dash_leaflet/async-GeoJSON.js"
_SRC = re.compile(r'(?:src|href)="([^"]+)"')


def page_path() -> str | None:
    """The path of the page in the browser: the request's own for a page, the Referer's for Dash's
    layout request (None outside a request, or when the browser did not say)."""
    if not has_request_context():
        return None
    if not request.path.startswith("/_dash-"):
        return request.path
    referer = request.headers.get("Referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    return parts.path if parts.netloc == request.host else None


def layout(settings: Settings, regions: Regions) -> Callable[[], object]:
    """``app.layout``: the wall for a wall page, else the shell the router fills."""

    def initial() -> object:
        return pages.initial(page_path(), settings, regions)

    return initial


def _keep(tag: str) -> bool:
    found = _SRC.search(tag)
    if found is None:
        return True
    url = found.group(1)
    if "/assets/" in url:
        return WALL_ASSET.search(url) is not None
    return not any(part in url for part in NOT_ON_WALL)


def wall_tags(html: str) -> str:
    """``html`` (Dash's script or link tags, one a line) without what the wall does not use."""
    return "\n".join(line for line in html.split("\n") if _keep(line))


def preloads(regions: Regions) -> str:
    """``<link rel=preload>`` for the map's first requests (same URL and mode, so the browser reuses them).

    The layer is fetched by dash-leaflet with ``fetch(url)`` (CORS mode, same-origin credentials):
    ``crossorigin`` (anonymous) gives the preload those same modes.
    """
    layer = first_licence_url(regions).replace("&", "&amp;")
    return (
        f'<link rel="preload" as="fetch" crossorigin href="{layer}">\n'
        f'<link rel="preload" as="script" href="{GEOJSON_CHUNK}">'
    )


def first_layer_meta(regions: Regions) -> str:
    """``<meta>`` naming the first licence layer (the preload's URL): assets/wall.js fetches it."""
    return f'<meta name="wf-licence-layer" content="{html.escape(first_licence_url(regions))}">'


def install(app: dash.Dash, settings: Settings, regions: Regions) -> None:
    """Give wall pages their own initial layout and a leaner HTML page."""
    app.layout = layout(settings, regions)
    original = app.interpolate_index
    links = preloads(regions)

    def interpolate_index(**parts: str) -> str:
        if page_path() in WALL_PATHS:
            parts["metas"] = parts.get("metas", "") + "\n" + first_layer_meta(regions)
            parts["css"] = wall_tags(parts.get("css", ""))
            # after the scripts: the preloads must not hold the browser's few connections the scripts need
            parts["scripts"] = wall_tags(parts.get("scripts", "")) + "\n" + links
        return original(**parts)

    app.interpolate_index = interpolate_index  # type: ignore[method-assign]
