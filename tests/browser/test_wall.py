"""/wall in headless Chromium: cells on the map, and a pushed licence changes the KPI within 2 s."""

from __future__ import annotations

import time
from urllib.parse import urlparse

from core import keys
from tests.events import entry, issued_data


def add_licences(r, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        # spread from Nanjing eastwards so they fall into several hex cells
        lon, lat = 118.76 + (i % 10) * 0.1, 32.03 + (i // 10) * 0.1
        r.xadd(keys.inbound("licence"), entry(data=issued_data(f"320102{i:06d}", lon=lon, lat=lat)))


def wall_showing(browser, stack, active: int, width: int = 1920, height: int = 1080):
    """/wall in a new page, once its active-licence tile shows ``active``."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(stack.url + "/wall")
    page.wait_for_function(
        f"() => document.querySelector('#wall-kpi-active')?.innerText === '{active}'", timeout=15_000
    )
    return page


def kpi(page) -> int:
    return int(page.inner_text("#wall-kpi-active").replace(",", "") or 0)


def test_wall_shows_cells_and_a_new_licence_reaches_the_kpi_by_push(redis_client, stack_factory, browser):
    r = redis_client
    add_licences(r, 40)
    stack = stack_factory(WATCHFLOOR_MAP_MAX_POINTS="5")  # 40 licences: more than 5, so cells
    requests: list[str] = []
    routed: list[str] = []
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.on("request", lambda req: requests.append(req.url))
    page.on("request", lambda req: "page-content" in (req.post_data or "") and routed.append(req.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(stack.url + "/wall")

    # attached, not necessarily visible: the licence scene's pane is hidden while another scene shows
    page.wait_for_selector("#wall-map path.wf-cell", state="attached", timeout=30_000)
    page.wait_for_function(
        "() => document.querySelector('#wall-kpi-active')?.innerText === '40'", timeout=15_000
    )
    assert page.locator("#wall-map path.wf-cell").count() >= 2
    page.wait_for_function(
        "() => document.querySelector('#wall-freshness')?.className.includes('wall-badge-fresh')"
    )

    # the socket is up: a new licence must show within 2 s, by push (no polling exists for the KPI)
    page.wait_for_function(
        "() => window.dash_clientside && document.querySelector('#wall-connection') !== null"
    )
    t0 = time.monotonic()
    add_licences(r, 1, start=40)
    page.wait_for_function(
        "() => document.querySelector('#wall-kpi-active')?.innerText === '41'", timeout=2_000
    )
    elapsed = time.monotonic() - t0
    assert elapsed < 2.0

    hosts = {urlparse(u).hostname for u in requests if not u.startswith("data:")}
    assert hosts == {"127.0.0.1"}, f"requests left the machine: {hosts}"
    # its own page (web/wall_page.py): the wall from the first layout, no router callback, none of the
    # other screens' files, and the preloaded first licence layer fetched once (the map used the preload)
    assert routed == []
    paths = [urlparse(u).path for u in requests]
    assert not [p for p in paths if "/dash_table/" in p or p.startswith(("/assets/duty", "/assets/meeting"))]
    assert "/assets/wall.js" in paths and "/assets/auth.js" in paths
    first = [u for u in requests if "/api/v1/map/licences" in u and "zoom=7.00&v=0" in u]
    assert len(first) == 1, first
    # without Babel's polyfill, dcc's and dash_svg's bundles (left out on the wall page) nothing failed
    assert not [p for p in paths if "/deps/polyfill@" in p or "/dash/dcc/" in p or "/dash_svg/" in p]
    assert errors == []


def test_a_wall_page_without_referer_gets_the_wall_through_the_router(redis_client, stack_factory, browser):
    """Dash's layout request without a Referer (a proxy's Referrer-Policy may say so): the shell, whose
    location starts the router, which fills in the wall — on a page that loads no dcc (web/wall_page.py)."""
    add_licences(redis_client, 40)
    stack = stack_factory(WATCHFLOOR_MAP_MAX_POINTS="5")
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    routed: list[str] = []
    page.on("request", lambda req: "page-content" in (req.post_data or "") and routed.append(req.url))

    def no_referrer(route):  # the page as a proxy with its own Referrer-Policy would pass it on
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "referrer-policy": "no-referrer"})

    page.route(stack.url + "/wall", no_referrer)
    page.goto(stack.url + "/wall")
    page.wait_for_selector("#wall-map path.wf-cell", state="attached", timeout=30_000)
    page.wait_for_function(
        "() => document.querySelector('#wall-kpi-active')?.innerText === '40'", timeout=15_000
    )
    assert routed, "the router did not run: the layout request still said which page asked"
    # the wall's timers tick (the clock changes) and its trend chart is drawn, all without dcc
    first = page.inner_text("#wall-clock")
    clock_moved = f"() => document.querySelector('#wall-clock').innerText !== {first!r}"
    page.wait_for_function(clock_moved, timeout=5_000)
    page.wait_for_selector("#wall-trend svg.wall-trend-svg path.wall-trend-bar", state="attached")
    assert page.locator("#wall-trend svg polyline.wall-trend-line").count() == 1
    assert errors == []
    page.close()


def test_a_reconnecting_wall_reloads_a_fresh_snapshot(redis_client, stack_factory, browser):
    r = redis_client
    add_licences(r, 3)
    stack = stack_factory()
    page = wall_showing(browser, stack, 3)

    # the web process dies: the wall says so, and events keep arriving meanwhile
    stack.procs["web"].terminate()
    stack.procs["web"].wait(10)
    page.wait_for_function(
        "() => document.querySelector('#wall-connection')?.innerText?.length > 0", timeout=30_000
    )
    add_licences(r, 2, start=3)

    stack.start("web", "app.py")
    stack.wait_http()
    # no page reload: the socket reconnects and the snapshot brings the two missed licences
    page.wait_for_function(
        "() => document.querySelector('#wall-kpi-active')?.innerText === '5'", timeout=30_000
    )
    assert page.inner_text("#wall-connection") == ""
    page.close()


def test_the_freshness_badge_turns_red_when_the_feed_stops(redis_client, stack_factory, browser):
    add_licences(redis_client, 2)
    stack = stack_factory(WATCHFLOOR_WALL_STALE_AFTER_SECONDS="3")
    page = wall_showing(browser, stack, 2)
    # the page may load more than 3 s after the first events were taken in: one more, once it is up
    page.wait_for_timeout(1000)
    add_licences(redis_client, 1, start=100)
    page.wait_for_function(
        "() => document.querySelector('#wall-freshness')?.className.includes('wall-badge-fresh')",
        timeout=15_000,
    )
    # no event for more than 3 s: "data stale since HH:MM" in red
    page.wait_for_function(
        "() => document.querySelector('#wall-freshness')?.className.includes('wall-badge-stale')",
        timeout=10_000,
    )
    assert "数据停滞" in page.inner_text("#wall-freshness")
    add_licences(redis_client, 1, start=2)
    page.wait_for_function(
        "() => document.querySelector('#wall-freshness')?.className.includes('wall-badge-fresh')",
        timeout=5_000,
    )
    page.close()


FITS = """() => {
  const W = window.innerWidth, H = window.innerHeight;
  const out = [];
  for (const sel of ['.wall-header', '.wall-map-frame', '.wall-kpi', '.wall-scene-box', '.wall-footer',
                     '#wall-clock', '#wall-freshness', '.wall-credit']) {
    for (const el of document.querySelectorAll(sel)) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.left < 0 || r.top < 0 || r.right > W + 0.5 || r.bottom > H + 0.5) out.push(sel);
      if (el.scrollWidth > el.clientWidth + 1 && sel !== '.wall-credit') out.push(sel + ' overflows');
    }
  }
  const d = document.documentElement;
  if (d.scrollWidth > W || d.scrollHeight > H) out.push('page scrolls');
  return out;
}"""


def test_the_wall_fits_the_screen_at_wall_and_desktop_sizes(redis_client, stack_factory, browser):
    add_licences(redis_client, 20)
    stack = stack_factory()
    for width, height in [(1920, 1080), (3840, 2160), (7680, 2160), (1080, 1920)]:
        page = wall_showing(browser, stack, 20, width, height)
        assert page.evaluate(FITS) == [], f"at {width}x{height}"
        page.close()


def test_few_licences_in_view_show_as_shops_in_their_status_colour(redis_client, stack_factory, browser):
    # 3 licences, under map.max_points: the layer sends shops, which keep their colour (the layer's
    # style function used to repaint them as faint empty cells)
    add_licences(redis_client, 3)
    stack = stack_factory()
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(stack.url + "/wall")
    page.wait_for_selector("#wall-map path.wf-shop-v", state="attached", timeout=30_000)
    shops = page.locator("#wall-map path.wf-shop-v")
    assert shops.count() == 3
    assert page.locator("#wall-map path.wf-cell").count() == 0
    for i in range(3):
        assert shops.nth(i).get_attribute("fill") == "#34d399"
        assert float(shops.nth(i).get_attribute("fill-opacity")) > 0.9
    page.close()


def test_the_licence_layer_comes_back_after_failed_fetches(redis_client, stack_factory, browser):
    """The first view and the fitted one fail (503): no cells, no reload; once the server answers
    again the next tick asks again, and the cells appear in their pane, under the county lines."""
    add_licences(redis_client, 40)
    stack = stack_factory(WATCHFLOOR_MAP_MAX_POINTS="5")
    failing = {"on": True, "failed": 0}

    def licences(route):
        if failing["on"]:
            failing["failed"] += 1
            route.fulfill(status=503, body="down")
        else:
            route.continue_()

    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.route("**/api/v1/map/licences*", licences)
    page.goto(stack.url + "/wall")
    page.evaluate("window.__notReloaded = true")
    page.wait_for_function(
        "() => document.querySelector('#wall-kpi-active')?.innerText === '40'", timeout=15_000
    )
    page.wait_for_timeout(2_500)  # ticks pass: each retries the failed view
    assert failing["failed"] >= 3, failing
    assert page.locator("#wall-map path.wf-cell").count() == 0

    failing["on"] = False
    page.wait_for_selector("#wall-map path.wf-cell", state="attached", timeout=5_000)
    assert page.evaluate("window.__notReloaded") is True
    z = page.evaluate(
        """() => ['scene-licences', 'boundaries-county'].map((p) =>
             Number(getComputedStyle(document.querySelector('.leaflet-' + p + '-pane')).zIndex))"""
    )
    assert z[0] < z[1], z
    page.close()


def test_the_shells_location_follows_history_navigation(redis_client, stack_factory, browser):
    """The router's location (wf_components.Location) reads the path on start and on back/forward."""
    add_licences(redis_client, 5)
    stack = stack_factory()
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(stack.url + "/meeting")
    page.wait_for_selector("#meeting-map", timeout=30_000)
    assert page.locator("#wall-map").count() == 0
    # a pushState + popstate, as a link that navigates in the page would do
    page.evaluate(
        "() => { history.pushState(null, '', '/wall'); dispatchEvent(new PopStateEvent('popstate')); }"
    )
    page.wait_for_selector("#wall-map", timeout=15_000)
    assert page.locator("#meeting-map").count() == 0
    page.go_back()  # a real back: the browser fires popstate itself
    page.wait_for_selector("#meeting-map", timeout=15_000)
    assert errors == []
