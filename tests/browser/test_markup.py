"""Markup and script payloads in upstream and user text render as literal text in the browser.

The payloads go into every text field an upstream system or a user fills: a licence event's shop
name, holder and address (it becomes a dead letter shown on /ops), a warning's facts (holder, licence
number) and evidence, a duty officer's notes and reply, and a user's display name (the header and
the audit trail). Each screen in :data:`SCREENS` is opened: no dialog may fire, no element may be made
of the payloads, and the payloads must be visible as text. Append new screens to :data:`SCREENS`.
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
    """A screen to check: its path, what to do once it is open, and the elements whose text to read."""

    path: str
    ready: Callable  # (page) -> None: wait for and open the parts showing the payloads
    texts: tuple[str, ...]


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


SCREENS = [
    Screen("/duty", _duty_ready, ("#duty-facts", "#duty-evidence", "#duty-audit", ".leaflet-tooltip")),
    Screen("/ops", _ops_ready, ("#ops-dead-list",)),
]


def seed(r, now: int) -> None:
    bad = issued_data("320102000777", shop_name=XSS, holder=XSS, address=LONG, crs="bogus")
    r.xadd(keys.inbound("licence"), entry(data=bad))  # invalid: becomes a dead letter on /ops
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
        page.goto(stack.url + screen.path)
        screen.ready(page)
        page.wait_for_timeout(500)  # give an injected handler the time to fire
        assert page.evaluate(INJECTED) == 0, screen.path
        scripts = page.eval_on_selector_all("script", "ss => ss.filter(s => s.text.includes('alert')).length")
        assert scripts == 0, screen.path
        # the signed-in user's display name in the header, as text
        assert "<svg onload=alert(1)>" in page.inner_text(".account-name"), screen.path
        for selector in screen.texts:
            text = page.inner_text(selector)
            missing = [
                v for v in VISIBLE if v not in text and not (selector == ".leaflet-tooltip" and "<a" in v)
            ]
            assert not missing, (screen.path, selector, missing)
        assert dialogs == [], (screen.path, dialogs)
    assert "长长长" in page.inner_text("#ops-dead-list")
    assert dialogs == [] and problems == [], problems
    context.close()
