"""/meeting in headless Chromium on the real stack: a province leader clicks a city on the map (KPIs
change, the breadcrumb shows the city), clicks the breadcrumb back to the province; a Nanjing leader
sees Nanjing only. At 1920x1080, 3840x2160 and 7680x2160 every tile lies inside the viewport, tiles do
not overlap and nothing overflows. Screenshots (province and city views) go to
var/screenshots/ (reviewed copies in docs/screenshots/)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.settings import load_settings
from core.users import UserRecord, hash_password, save_users
from geo.boundaries import load_regions
from tests.browser.test_login import CSP_PROBE, watched_page
from tests.integration.meeting_scenario import seed

PASSWORD = "correct horse battery"
# written under var/ (git-ignored) so a test run leaves the tree clean; docs/screenshots/ holds the
# reviewed copies
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SHOTS.mkdir(parents=True, exist_ok=True)
SUZHOU = 320500
ACTIVE = "#meeting-kpi-active .meeting-kpi-value"

#: (tiles outside the viewport, overlapping pairs, overflowing elements, page scroll size)
LAYOUT_PROBLEMS = """() => {
  const W = window.innerWidth, H = window.innerHeight, out = [];
  const tiles = [...document.querySelectorAll('.meeting-tile')].map(el => [el, el.getBoundingClientRect()]);
  for (const [el, r] of tiles) {
    if (r.width < 10 || r.height < 10) out.push('empty ' + el.className);
    if (r.left < 0 || r.top < 0 || r.right > W + 0.5 || r.bottom > H + 0.5)
      out.push('outside ' + el.className);
    if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
      out.push('overflow ' + el.className);
  }
  for (let i = 0; i < tiles.length; i++) for (let j = i + 1; j < tiles.length; j++) {
    const a = tiles[i][1], b = tiles[j][1];
    if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5)
      out.push('overlap ' + tiles[i][0].className + ' / ' + tiles[j][0].className);
  }
  const texts = '.meeting-kpi-value, .meeting-kpi-label, .meeting-h2, .meeting-title';
  for (const el of document.querySelectorAll(texts))
    if (el.scrollWidth > el.clientWidth + 1) out.push('cut ' + el.className + ': ' + el.textContent);
  const doc = document.documentElement;
  if (doc.scrollWidth > W || doc.scrollHeight > H)
    out.push('page scrolls ' + doc.scrollWidth + 'x' + doc.scrollHeight);
  return out;
}"""


def sign_in(page, url: str, name: str) -> None:
    page.goto(url + "/login?next=/meeting")
    page.fill("#login-username", name)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(url + "/meeting")


def kpi(page, name: str) -> str:
    return page.inner_text(f"#meeting-kpi-{name} .meeting-kpi-value")


def settle(page) -> None:
    """Wait until the charts and the map have drawn and no callback is pending."""
    page.wait_for_selector("#meeting-bar .bars path, #meeting-bar .point path", timeout=30_000)
    page.wait_for_selector("#meeting-trend .scatterlayer path", timeout=30_000)
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')", timeout=30_000)
    page.wait_for_timeout(600)


def test_a_leader_drills_down_by_clicking_and_back_by_the_breadcrumb(
    redis_client, stack_factory, browser, tmp_path
):
    settings = load_settings(environ={})
    seed(redis_client, settings, load_regions(settings), dt.datetime.now(dt.UTC), shops_per_county=6)
    users = tmp_path / "users.yaml"
    save_users(users, {
        "chen": UserRecord("chen", hash_password(PASSWORD), "leader", 320000, "陈局长"),
        "zhou": UserRecord("zhou", hash_password(PASSWORD), "leader", 320100, "周局长"),
    })  # fmt: skip
    stack = stack_factory(
        WATCHFLOOR_AUTH_MODE="local",
        WATCHFLOOR_AUTH_USERS_FILE=str(users),
        WATCHFLOOR_AUTH_SECRET_FILE=str(tmp_path / "secret"),
    )
    problems: list[str] = []
    for width, height in ((1920, 1080), (3840, 2160), (7680, 2160)):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.add_init_script(CSP_PROBE)
        page = watched_page(context, problems)
        sign_in(page, stack.url, "chen")
        page.wait_for_selector(f".meeting-region-{SUZHOU}", timeout=30_000)
        settle(page)
        assert page.inner_text(".meeting-crumb-current") == "江苏省"
        province = kpi(page, "active")
        assert page.evaluate(LAYOUT_PROBLEMS) == [], (width, height)
        page.screenshot(path=str(SHOTS / f"meeting-province-{width}x{height}.png"))

        page.click(f".meeting-region-{SUZHOU}")  # a real mouse click on the city's shape
        page.wait_for_function(
            "() => document.querySelector('.meeting-crumb-current')?.innerText === '苏州市'", timeout=15_000
        )
        page.wait_for_selector(".meeting-region-320505", timeout=15_000)  # the map shows Suzhou's counties
        page.wait_for_function(
            f"() => document.querySelector('{ACTIVE}')?.innerText !== '{province}'",
            timeout=15_000,
        )
        assert int(kpi(page, "active").replace(",", "")) < int(province.replace(",", ""))
        crumbs = page.eval_on_selector_all(".meeting-crumb", "cs => cs.map(c => c.innerText)")
        assert crumbs == ["江苏省", "苏州市"]
        settle(page)
        assert page.evaluate(LAYOUT_PROBLEMS) == [], (width, height, "city")
        page.screenshot(path=str(SHOTS / f"meeting-city-{width}x{height}.png"))

        if width == 1920:  # on down to a county and one of its shops: the card, as text
            page.click(".meeting-region-320505")
            page.wait_for_selector(".meeting-shop", timeout=15_000)
            page.click(".meeting-shop", force=True)  # whichever shop is on top there
            page.wait_for_selector(".meeting-shop-selected", timeout=15_000)
            assert page.inner_text("#meeting-card").count("3205") >= 1  # the licence number
            assert page.eval_on_selector_all(".meeting-crumb", "cs => cs.length") == 4
        page.click(".meeting-crumb[data-adcode='320000']")  # back up by the breadcrumb
        page.wait_for_function(
            "() => document.querySelector('.meeting-crumb-current')?.innerText === '江苏省'", timeout=15_000
        )
        page.wait_for_function(
            f"() => document.querySelector('{ACTIVE}')?.innerText === '{province}'",
            timeout=15_000,
        )
        page.wait_for_selector(f".meeting-region-{SUZHOU}", timeout=15_000)
        context.close()

    # a Nanjing leader: Nanjing's counties only, no way up to the province
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = watched_page(context, problems)
    sign_in(page, stack.url, "zhou")
    page.wait_for_selector(".meeting-region-320102", timeout=30_000)
    regions = page.eval_on_selector_all(
        ".meeting-region", "ps => ps.map(p => [...p.classList].find(c => /^meeting-region-\\d+$/.test(c)))"
    )
    assert regions and all(r.startswith("meeting-region-3201") for r in regions)
    assert page.eval_on_selector_all(".meeting-crumb", "cs => cs.map(c => c.innerText)") == ["南京市"]
    ranking = page.inner_text("#meeting-ranking")
    assert "玄武区" in ranking and "姑苏区" not in ranking
    context.close()
    assert problems == [], problems
