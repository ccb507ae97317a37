"""Markup and script payloads in upstream and user text render as literal text in the browser.

The payloads go into every text field an upstream system or a user fills: a licence event's shop
name, holder and address (a valid one: a shop on the /wall and /meeting maps and the /meeting shop
card and breadcrumb; an invalid one: a dead letter shown on /ops), a warning's facts (holder, licence
number) and evidence, a duty officer's notes and reply, and a user's display name (the header and
the audit trail). Warning types are codes of the alert engine that /duty and /meeting only show as
catalogue labels; the wall's ticker and pins show an unknown code as it is, so before /wall a warning
whose type is the payload is added. Each screen in :data:`SCREENS` is opened, its tooltips hovered:
no dialog may fire, no element may be made of the payloads, and the payloads must be visible as
text. Append new screens to :data:`SCREENS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from alerts.actions import transition
from alerts.store import upsert_warnings
from core import keys
from core.auth import User
from core.users import UserRecord, hash_password, save_users
from tests.browser.test_login import CSP_PROBE, watched_page
from tests.events import entry, issued_data

PASSWORD = "correct horse battery"
XSS = (
    '<script>alert(1)</script><img src=x onerror=alert(1)>"><svg onload=alert(1)>'
    "<a href=javascript:alert(1)>j</a> {{7*7}} ${7*7} \u202eRTL\u202c"
)
LONG = "长" * 3000 + "<b>end</b>"
#: literal pieces that must be visible as text
VISIBLE = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "{{7*7}}", "javascript:alert(1)")
#: anything made of the payloads, were they parsed as HTML
INJECTED = (
    '() => document.querySelectorAll(\'img[src="x"], svg[onload], [onerror], [onload], '
    'a[href^="javascript"], b\').length'
)


@dataclass
class Screen:
    """A screen to check: its path, what to do once it is open, and the elements whose text to read.

    ``ready(page)`` waits for and opens the parts showing the payloads; it may return texts read on
    the way (tooltips close when the pointer moves on), by name, to be checked like ``texts``.
    ``before(r)`` adds data only this screen (and the ones after it) may see.
    """

    path: str
    ready: Callable  # (page) -> dict[str, str] | None
    texts: tuple[str, ...]
    before: Callable | None = None
    #: the screen has the account header with the user's display name (the wall has none)
    header: bool = True


def _duty_ready(page) -> None:
    page.wait_for_selector(".duty-row", timeout=30_000)
    page.click(".duty-row")
    page.wait_for_selector("#duty-audit .duty-audit-note", timeout=15_000)
    page.hover("#duty-map path[stroke='red']", timeout=15_000)  # the warning's marker
    page.wait_for_selector(".leaflet-tooltip", timeout=10_000)


def _ops_ready(page) -> None:
    page.wait_for_function(
        "() => document.querySelector('#ops-dead-list')?.innerText.includes('alert(1)')", timeout=30_000
    )
    assert "长长长" in page.inner_text("#ops-dead-list")  # the long address, as text


TOOLTIPS = "() => [...document.querySelectorAll('.leaflet-tooltip')].map((e) => e.textContent).join('\\n')"


def _tooltip(page, selector: str, timeout: int = 30_000) -> str:
    """Hover ``selector`` and return the text of the tooltips once one shows a payload."""
    page.hover(selector, timeout=timeout)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.leaflet-tooltip')]"
        ".some((e) => e.textContent.includes('alert(1)'))",
        timeout=10_000,
    )
    assert page.evaluate(INJECTED) == 0, f"markup made of a payload in the tooltip of {selector}"
    return page.evaluate(TOOLTIPS)


def _scene(page, name: str) -> None:
    page.wait_for_function(
        f"() => document.querySelector('#wall-root')?.className.includes('wall-scene-{name}')", timeout=30_000
    )


def _wall_ready(page) -> dict[str, str]:
    page.wait_for_function(
        "() => document.querySelector('#wall-ticker')?.innerText.includes('alert(1)')", timeout=30_000
    )
    _scene(page, "licences")
    # the one shop in view, as a point (any class: the layer's style function renames it)
    point = ".leaflet-scene-licences-pane path.leaflet-interactive"
    page.wait_for_selector(point, timeout=30_000)
    shop = _tooltip(page, point)
    page.mouse.move(5, 5)
    _scene(page, "warnings")
    pin = _tooltip(page, ".leaflet-scene-warnings-pane path.wf-pin-orange")  # the payload-typed warning
    page.mouse.move(5, 5)
    return {"shop tooltip": shop, "pin tooltip": pin}


def _meeting_ready(page) -> dict[str, str]:
    page.wait_for_selector("#meeting-card .meeting-warning", timeout=30_000)  # the province's warnings
    warnings = page.inner_text("#meeting-card")
    page.click(".meeting-region-320100")
    page.wait_for_selector(".meeting-region-320102", timeout=15_000)
    page.click(".meeting-region-320102")
    page.wait_for_selector(".meeting-shop", timeout=15_000)
    tip = _tooltip(page, ".meeting-shop")
    page.click(".meeting-shop", force=True)
    page.wait_for_selector(".meeting-crumb-shop", timeout=15_000)
    page.wait_for_function(
        "() => document.querySelector('#meeting-card')?.innerText.includes('alert(1)')", timeout=15_000
    )
    assert "alert(1)" not in warnings  # the warning list shows catalogue labels and region names only
    return {"shop tooltip": tip}


def _payload_type(r) -> None:
    """A warning whose type code is the payload, at Gusu (Suzhou), level 2 (an orange pin)."""
    cand = {
        "type": XSS, "condition": "type:xss", "level": 2, "region": 320508, "regions": [320508],
        "place": {"lon": 120.62, "lat": 31.31}, "facts": {"count": 1}, "evidence": {},
    }  # fmt: skip
    upsert_warnings(r, [cand], int(time.time() * 1000), 24 * 3_600_000, 50)


SCREENS = [
    Screen("/duty", _duty_ready, ("#duty-facts", "#duty-evidence", "#duty-audit", ".leaflet-tooltip")),
    Screen("/ops", _ops_ready, ("#ops-dead-list",)),
    Screen("/meeting", _meeting_ready, ("#meeting-card", ".meeting-crumb-shop")),
    # last: /duty and /meeting know only the engine's warning types
    Screen("/wall", _wall_ready, ("#wall-ticker",), before=_payload_type, header=False),
]


def seed(r, now: int) -> None:
    bad = issued_data("320102000777", shop_name=XSS, holder=XSS, address=LONG, crs="bogus")
    r.xadd(keys.inbound("licence"), entry(data=bad))  # invalid: becomes a dead letter on /ops
    shop = issued_data("320102000778", shop_name=XSS, holder=XSS, address=XSS)
    r.xadd(keys.inbound("licence"), entry(data=shop))  # valid: a shop on the maps, the /meeting card
    cand = {
        "type": "holder_with_several_licences", "condition": "holder:xss", "level": 1, "region": 320102,
        "regions": [320102], "place": {"lon": 118.78, "lat": 32.05},
        "facts": {"holder": XSS, "licence_no": XSS, "licences": 3, "note": LONG},
        "evidence": {"licences": [XSS, "320102000001"], "complaints": [LONG]},
    }  # fmt: skip
    upsert_warnings(r, [cand], now, 24 * 3_600_000, 50)
    wid = r.hget(keys.WARNING_CONDITIONS, "holder:xss").decode()
    boss = User("boss", "admin", 320000, XSS, via="local")
    for version, (action, note) in enumerate(
        [("acknowledge", XSS), ("dispatch", XSS), ("reply", XSS), ("reject", LONG)]
    ):
        transition(r, wid, action, boss, version, note, now + version)


def test_payloads_render_as_literal_text(redis_client, stack_factory, browser, tmp_path):
    r = redis_client
    seed(r, int(time.time() * 1000))
    users = tmp_path / "users.yaml"
    save_users(users, {"boss": UserRecord("boss", hash_password(PASSWORD), "admin", 320000, XSS)})
    stack = stack_factory(
        WATCHFLOOR_AUTH_MODE="local",
        WATCHFLOOR_AUTH_USERS_FILE=str(users),
        WATCHFLOOR_AUTH_SECRET_FILE=str(tmp_path / "secret"),
        WATCHFLOOR_WALL_SCENES="[licences, warnings]",  # the scenes with upstream text in tooltips
        WATCHFLOOR_WALL_SCENE_SECONDS="6",
    )
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    context.add_init_script(CSP_PROBE)
    page = watched_page(context, problems)  # a dialog is recorded as a problem
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    page.goto(stack.url + "/login?next=/duty")
    page.fill("#login-username", "boss")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(stack.url + "/duty")
    for screen in SCREENS:
        if screen.before is not None:
            screen.before(r)
        page.goto(stack.url + screen.path)
        read = screen.ready(page) or {}
        page.wait_for_timeout(500)  # give an injected handler the time to fire
        assert page.evaluate(INJECTED) == 0, screen.path
        scripts = page.eval_on_selector_all("script", "ss => ss.filter(s => s.text.includes('alert')).length")
        assert scripts == 0, screen.path
        # the signed-in user's display name in the header, as text
        if screen.header:
            assert "<svg onload=alert(1)>" in page.inner_text(".account-name"), screen.path
        shown = {selector: page.inner_text(selector) for selector in screen.texts} | read
        for selector, text in shown.items():
            missing = [
                v for v in VISIBLE if v not in text and not (selector == ".leaflet-tooltip" and "<a" in v)
            ]
            assert not missing, (screen.path, selector, missing)
        assert dialogs == [], (screen.path, dialogs)
    assert dialogs == [] and problems == [], problems
    context.close()
