"""Local sign-in in headless Chromium: the form, /ops and /wall working under CSRF and CSP, sign-out,
and a wall kiosk link scoped to one city."""

from __future__ import annotations

from core import keys
from core.users import UserRecord, hash_password, save_users
from tests.events import entry, issued_data

PASSWORD = "correct horse battery"
TOKEN = "kiosk-token-suzhou-0123456789"
# reports every Content-Security-Policy violation to the console, where the test collects it
CSP_PROBE = """document.addEventListener('securitypolicyviolation',
  e => console.error('CSP violation: ' + e.effectiveDirective + ' ' + e.blockedURI));"""


def add_licence(r, no: str, lon: float, lat: float) -> None:
    r.xadd(keys.inbound("licence"), entry(data=issued_data(no, lon=lon, lat=lat)))


def watched_page(context, problems: list[str]):
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on(
        "response", lambda resp: problems.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None
    )
    return page


def test_sign_in_use_the_screens_and_sign_out(redis_client, stack_factory, browser, tmp_path):
    r = redis_client
    for i in range(4):
        add_licence(r, f"32010200020{i}", 118.78 + i * 0.001, 32.05)  # Nanjing
    for i in range(2):
        add_licence(r, f"32050800020{i}", 120.62 + i * 0.001, 31.31)  # Suzhou
    users = tmp_path / "users.yaml"
    save_users(users, {"boss": UserRecord("boss", hash_password(PASSWORD), "admin", 320000, "省局值班长")})
    stack = stack_factory(
        WATCHFLOOR_AUTH_MODE="local",
        WATCHFLOOR_AUTH_USERS_FILE=str(users),
        WATCHFLOOR_AUTH_SECRET_FILE=str(tmp_path / "secret"),
        WATCHFLOOR_AUTH_WALL_TOKENS=f"{{{TOKEN}: 320500}}",
    )
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    context.add_init_script(CSP_PROBE)
    page = watched_page(context, problems)

    page.goto(stack.url + "/ops")
    assert page.url == stack.url + "/login?next=/ops"
    page.fill("#login-username", "boss")
    page.fill("#login-password", "wrong password")
    page.click("#login-submit")
    assert page.inner_text("#login-message") == "用户名或密码错误"
    assert page.input_value("#login-username") == "boss" and page.input_value("#login-password") == ""
    # the refusal itself (a 401, which Chromium also logs), nothing else
    assert problems == [
        f"401 {stack.url}/login",
        "Failed to load resource: the server responded with a status of 401 (UNAUTHORIZED)",
    ]
    problems.clear()

    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(stack.url + "/ops")
    # the ops callbacks ran: they carried the CSRF token Dash copies from the cookie
    page.wait_for_selector("#ops-source-licence", timeout=30_000)
    assert page.inner_text("#account .account-name") == "省局值班长"

    page.goto(stack.url + "/wall")
    page.wait_for_function(
        "() => document.querySelector('#wall-kpi-active')?.innerText === '6'", timeout=15_000
    )
    page.wait_for_function("() => document.querySelector('#wall-freshness')?.className.includes('fresh')")
    add_licence(r, "320102000299", 118.79, 32.06)  # pushed through the signed-in socket
    page.wait_for_function(
        "() => document.querySelector('#wall-kpi-active')?.innerText === '7'", timeout=5_000
    )

    page.goto(stack.url + "/ops")
    page.wait_for_selector("#account-logout")
    page.click("#account-logout")
    page.wait_for_url(stack.url + "/login?out=1")
    assert page.inner_text("#login-message") == "您已退出登录"
    page.goto(stack.url + "/wall")
    assert page.url.startswith(stack.url + "/login?next=/wall")
    assert problems == [], problems

    # a kiosk link: the wall of Suzhou only, in a browser that never signed in
    kiosk_context = browser.new_context(viewport={"width": 1920, "height": 1080})
    kiosk_context.add_init_script(CSP_PROBE)
    kiosk = watched_page(kiosk_context, problems)
    kiosk.goto(f"{stack.url}/wall?token={TOKEN}")
    assert kiosk.url == stack.url + "/wall"  # the token left the address bar
    kiosk.wait_for_function(
        "() => document.querySelector('#wall-kpi-active')?.innerText === '2'", timeout=15_000
    )
    kiosk.goto(stack.url + "/ops")
    assert kiosk.url == stack.url + "/wall"
    assert problems == [], problems
    context.close()
    kiosk_context.close()
