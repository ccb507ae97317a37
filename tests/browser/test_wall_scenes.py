"""/wall scenes and panels in headless Chromium: fits every wall size, rotates, a pushed warning
reaches the ticker, upstream text stays text."""

from __future__ import annotations

import time

import orjson
import pytest

from alerts.store import upsert_warnings
from core import keys
from layouts.i18n import CATALOGUES
from tests.browser.test_wall import add_licences
from tests.events import warning_candidate as candidate

COLOURS = ("red", "orange", "yellow", "blue")

#: every tile and text block of the wall, with the page's own overflow check
FITS = """() => {
  const W = window.innerWidth, H = window.innerHeight, out = [];
  const tiles = [...document.querySelectorAll(
      '.wall-header, .wall-footer, .wall-tile:not(.wall-legend), .wall-badge, #wall-clock, .wall-scene-box')]
    .filter((el) => el.offsetParent !== null);
  for (const el of tiles) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) out.push('empty ' + el.className);
    const outside = r.left < -0.5 || r.top < -0.5 || r.right > W + 0.5 || r.bottom > H + 0.5;
    if (outside) out.push('outside ' + el.className);
  }
  for (const el of document.querySelectorAll('#wall-root, #wall-root *')) {
    if (el.closest('.leaflet-container') && !el.closest('.wall-map-overlay')) continue;  // map internals
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).display !== 'inline') {
      out.push('overflows ' + (el.id || el.className || el.tagName));
    }
  }
  // a ranking row's line (place, name, value: pseudo-elements and text, no elements to measure) fits
  // its row, which clips it: on 16:9 walls the rows' font must shrink to the list (assets/wall.js).
  // The line box, not scrollHeight: that counts the CJK font's content area, taller than the line
  for (const el of document.querySelectorAll('.wall-rank-row')) {
    if (parseFloat(getComputedStyle(el).lineHeight) > el.clientHeight + 1) {
      out.push('cut off ' + el.className + ' ' + el.innerText);
    }
  }
  // nothing is cut by a tile's edge (the ranking's 13th city once was, at 16:9); the ticker's list
  // is the exception by design: newest first, as many lines as fit, the older ones clipped
  for (const tile of document.querySelectorAll('.wall-kpi, .wall-side > .wall-tile')) {
    for (const el of tile.querySelectorAll('*')) {
      if (el.closest('.wall-ticker-list')) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || el.offsetParent === null) continue;
      let clip = el.parentElement;  // the box that would cut it: the nearest one that clips, or the tile
      while (clip !== tile && getComputedStyle(clip).overflow === 'visible') clip = clip.parentElement;
      const c = clip.getBoundingClientRect();
      if (r.top < c.top - 1 || r.bottom > c.bottom + 1 || r.left < c.left - 1 || r.right > c.right + 1) {
        out.push('cut off ' + (el.id || el.className || el.tagName) + ' in ' + tile.className);
      }
    }
  }
  // tiles of the page grid must not overlap one another
  const grid = '.wall-kpi, .wall-map-frame, .wall-side > .wall-tile, .wall-header, .wall-footer';
  const boxes = [...document.querySelectorAll(grid)]
    .map((el) => [el.className, el.getBoundingClientRect()]);
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i][1], b = boxes[j][1];
    const apart = a.right - 0.5 <= b.left || b.right - 0.5 <= a.left
      || a.bottom - 0.5 <= b.top || b.bottom - 0.5 <= a.top;
    if (!apart) {
      out.push('overlap ' + boxes[i][0] + ' / ' + boxes[j][0]);
    }
  }
  const d = document.documentElement;
  if (d.scrollWidth > W || d.scrollHeight > H) out.push('page scrolls');
  return out;
}"""

SCENE = (
    "() => document.querySelector('#wall-root').className.split(' ')"
    ".find((c) => c.startsWith('wall-scene-'))?.slice(11)"
)


def publish(r, result) -> None:
    """Announce a store result the way indicators/warning_jobs.py does."""
    message = {
        "topic": "warnings", "raised": result.raised, "updated": result.updated,
        "regions": sorted(result.regions), "open": r.zcard(keys.OPEN_WARNINGS), "at": int(time.time() * 1000),
    }  # fmt: skip
    r.publish(keys.UPDATES, orjson.dumps(message))


def open_wall(browser, stack, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(stack.url + "/wall")
    page.wait_for_function(
        "() => document.querySelector('#wall-kpi-active')?.innerText === '20'", timeout=30_000
    )
    page.wait_for_function(
        "() => document.querySelector('#wall-kpi-inspections')?.innerText !== '—'", timeout=30_000
    )
    page.wait_for_selector("#wall-ticker .wall-tick", timeout=30_000)
    return page


#: the legend's items: text and whether its swatch (::before) has a colour or a dashed border
LEGEND = """() => [...document.querySelectorAll('#wall-legend .wall-legend-item')].map((el) => {
  const b = getComputedStyle(el, '::before');
  return [el.innerText, b.backgroundColor !== 'rgba(0, 0, 0, 0)' || b.borderStyle.includes('dashed')];
})"""
_ZH = CATALOGUES["zh"]
LEVELS = [[_ZH[f"wall.colour.{c}"] + _ZH[f"wall.level.{i}"], True] for i, c in enumerate(COLOURS, 1)]
LEGENDS = {
    "licences": [[_ZH[f"wall.legend.{s}"], True] for s in ("valid", "suspended", "revoked", "expired")],
    "inspections": [[_ZH["wall.legend.gap"], True]],
    "flows": [*LEVELS, [_ZH["wall.legend.flow.none"], True]],
    "warnings": LEVELS,
}


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160), (7680, 2160), (5760, 3240), (1080, 1920)])
def test_every_scene_fits_the_screen(redis_client, stack_factory, browser, size):
    add_licences(redis_client, 20)
    now = int(time.time() * 1000)
    cands = [candidate(f"complaint_spike:32010{i}", 320102 + i, 1 + i % 4) for i in range(14)]
    upsert_warnings(redis_client, cands, now, 86_400_000, 50)
    stack = stack_factory(WATCHFLOOR_WALL_SCENE_SECONDS="2")
    page = open_wall(browser, stack, *size)
    seen = set()
    deadline = time.monotonic() + 30
    while len(seen) < 4 and time.monotonic() < deadline:
        scene = page.evaluate(SCENE)
        if scene not in seen:
            page.wait_for_timeout(300)  # the title follows the class within a tick
            assert page.evaluate(FITS) == [], f"{scene} at {size}"
            title = page.inner_text("#wall-scene-title")
            assert title and page.is_visible("#wall-scene-title"), scene
            # the one legend is the scene's on screen (read together: the scene changes every 2 s)
            now, items = page.evaluate(f"() => [({SCENE})(), ({LEGEND})()]")
            assert items == LEGENDS[now], now
            seen.add(scene)
        page.wait_for_timeout(200)
    assert seen == {"licences", "inspections", "flows", "warnings"}
    page.close()


def test_the_scene_rotates_on_the_configured_timer(redis_client, stack_factory, browser):
    add_licences(redis_client, 20)
    upsert_warnings(
        redis_client,
        [candidate("complaint_spike:320102", 320102, 2)],
        int(time.time() * 1000),
        86_400_000,
        50,
    )
    stack = stack_factory(WATCHFLOOR_WALL_SCENE_SECONDS="3", WATCHFLOOR_WALL_SCENES="[flows, warnings]")
    page = open_wall(browser, stack, 1920, 1080)
    first = page.evaluate(SCENE)
    assert first in ("flows", "warnings")
    other = "warnings" if first == "flows" else "flows"
    page.wait_for_function(
        f"() => document.querySelector('#wall-root').className.includes('wall-scene-{other}')", timeout=8_000
    )
    titles = {"flows": "跨区域异常流动", "warnings": "风险预警分布"}
    page.wait_for_function(
        f"() => document.querySelector('#wall-scene-title').innerText === '{titles[other]}'", timeout=3_000
    )
    # the other scene's layer pane is hidden, this one's shown
    display = "(name) => getComputedStyle(document.querySelector('.leaflet-scene-' + name + '-pane')).display"
    assert page.evaluate(display, other) != "none"
    assert page.evaluate(display, first) == "none"
    page.wait_for_function(
        f"() => document.querySelector('#wall-root').className.includes('wall-scene-{first}')", timeout=8_000
    )
    page.close()


def test_a_pushed_warning_reaches_the_ticker_first_and_stays_text(redis_client, stack_factory, browser):
    r = redis_client
    add_licences(r, 20)
    now = int(time.time() * 1000)
    publish(
        r, upsert_warnings(r, [candidate("complaint_spike:320102", 320102, 4)], now - 60_000, 86_400_000, 50)
    )
    stack = stack_factory(WATCHFLOOR_WALL_SCENE_SECONDS="2")
    page = open_wall(browser, stack, 1920, 1080)
    assert page.locator("#wall-ticker .wall-tick").count() == 1
    page.wait_for_timeout(1500)  # the socket is up

    # a red warning with markup in upstream-derived fields: raised, stored, announced as the job does
    evil = "<img src=x id=evil onerror=window.pwned=1>"
    t0 = time.monotonic()
    result = upsert_warnings(
        r, [candidate("complaint_spike:320105", 320105, 1, type=evil)], now, 86_400_000, 50
    )
    publish(r, result)
    page.wait_for_function(
        "() => document.querySelectorAll('#wall-ticker .wall-tick').length === 2", timeout=5_000
    )
    elapsed = time.monotonic() - t0
    first = page.locator("#wall-ticker .wall-tick").first
    assert "wall-tick-red" in first.get_attribute("class")
    assert evil in first.inner_text()  # shown as text, newest first
    assert page.locator("#evil").count() == 0 and page.evaluate("() => window.pwned === undefined")
    assert "红 1" in page.inner_text("#wall-ticker-head")
    assert elapsed < 5

    # the pin of the same warning on the map: its tooltip is text too
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-scene-warnings-pane path.wf-pin').length === 2",
        timeout=20_000,
    )
    assert page.locator("#evil").count() == 0
    page.close()


def test_overdue_warnings_are_counted_in_the_ticker(redis_client, stack_factory, browser):
    r = redis_client
    add_licences(r, 20)
    now = int(time.time() * 1000)
    result = upsert_warnings(r, [candidate("complaint_spike:320102", 320102, 2)], now, 86_400_000, 50)
    wid = result.raised[0]
    w = orjson.loads(r.hget(keys.WARNINGS, wid))
    w.update(state="dispatched", due_at=now - 1000)  # past its reply deadline
    r.hset(keys.WARNINGS, wid, orjson.dumps(w))
    stack = stack_factory()
    page = open_wall(browser, stack, 1920, 1080)
    assert "超期未复 1" in page.inner_text("#wall-ticker-head")
    # the tag is the line's ::after, drawn from the attribute: check that it shows, and as text. Found and
    # read in one call: the ticker is re-rendered when the panels refresh, and a line found in one call
    # and read in the next can be a detached node by then (its computed style all empty strings)
    tag = """() => [...document.querySelectorAll('#wall-ticker .wall-tick[data-overdue]')].map((el) => {
      const after = getComputedStyle(el, '::after');
      return [after.content, after.backgroundColor];
    })"""
    assert page.evaluate(tag) == [['"超期"', "rgb(153, 27, 27)"]]
    assert "超期 1" in page.inner_text("#wall-kpi-warnings-sub")
    page.close()
