"""/duty in headless Chromium: a Nanjing duty officer takes a warning through the whole loop
(acknowledge → dispatch → reply → reject → reply → accept) and reads the audit trail; an overdue
warning, escalated by the overdue check at a controlled clock, shows as overdue and escalated.
Screenshots of the screen at 1920x1080 and 3840x2160 go to
var/screenshots/ (reviewed copies in docs/screenshots/)."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from alerts import jobs, loop
from alerts.store import read_warning, upsert_warnings
from core import keys
from core.users import UserRecord, hash_password, save_users
from tests.browser.test_login import CSP_PROBE, watched_page

PASSWORD = "correct horse battery"
# written under var/ (git-ignored) so a test run leaves the tree clean; docs/screenshots/ holds the
# reviewed copies
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SHOTS.mkdir(parents=True, exist_ok=True)
H = loop.HOUR_MS


def warning(county: int, level: int, kind: str, n: int, place=(118.78, 32.04)) -> dict:
    return {
        "type": kind, "condition": f"{kind}:{county}:{n}", "level": level, "region": county,
        "regions": [county],
        "place": {"lon": place[0], "lat": place[1]} if place else None,
        "facts": {"count": 10 + n, "baseline": 2.5, "ratio": round((10 + n) / 2.5, 1)},
        "evidence": {"complaints": [f"C{n}-{i}" for i in range(3)], "licences": ["320102100123"]},
    }  # fmt: skip


def nanjing_duty_stack(stack_factory, tmp_path: Path):
    """The real stack with local sign-in and one user: li.nj, duty officer for Nanjing (320100)."""
    users = tmp_path / "users.yaml"
    save_users(users, {"li.nj": UserRecord("li.nj", hash_password(PASSWORD), "duty", 320100, "李南京")})
    return stack_factory(
        WATCHFLOOR_AUTH_MODE="local",
        WATCHFLOOR_AUTH_USERS_FILE=str(users),
        WATCHFLOOR_AUTH_SECRET_FILE=str(tmp_path / "secret"),
    )


def probed_context(browser, width: int = 1920, height: int = 1080):
    """A browser context at that size that reports CSP violations (tests.browser.test_login)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(CSP_PROBE)
    return context


def sign_in(page, url: str, name: str) -> None:
    page.goto(url + "/login?next=/duty")
    page.fill("#login-username", name)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(url + "/duty")


#: the duty page is settled: its socket is connected and no Dash callback is in flight (the first
#: connect re-reads the queue). The test clicks a row then, as a person would once the page has
#: loaded. Added after one fresh-clone CI run (2026-11-22) timed out waiting for the actions after the
#: click; the cause was not found (the test passed 3 times idle and 4 times with the CPUs loaded).
SETTLED = """() => {
  const s = window.store && window.store.getState();
  const path = s && s.paths && s.paths.strs && s.paths.strs['duty-socket'];
  if (!path || s.isLoading) return false;
  let node = s.layout;
  for (const k of path) node = node[k];
  return node.props.connected === true;
}"""


def settle(page) -> None:
    page.wait_for_function(SETTLED, timeout=30_000)


def act(page, action: str, note: str = "") -> None:
    if note:
        page.fill("#duty-note", note)
    page.click(f"#duty-actions .duty-act-{action}")
    # the pane re-renders with the actions of the new state
    page.wait_for_function(
        f"() => document.querySelectorAll('#duty-audit .duty-audit-{action}').length > 0"
        " && document.querySelector('#duty-message')?.innerText.length > 0",
        timeout=10_000,
    )


def test_duty_officer_takes_a_warning_through_the_loop(redis_client, stack_factory, browser, tmp_path):
    r = redis_client
    now = int(time.time() * 1000)
    cands = [
        warning(320102, 2, "complaint_spike", 1),
        warning(320104, 1, "case_cluster", 2, (118.80, 32.02)),
        warning(320115, 3, "inspection_silence", 3, None),
        warning(320113, 4, "coverage_gap", 4, None),
        warning(320508, 1, "corridor_surge", 5, (120.62, 31.31)),  # Suzhou: not for a Nanjing officer
    ]
    upsert_warnings(r, cands, now - 3 * H, 24 * H, 50)
    target = r.hget(keys.WARNING_CONDITIONS, "complaint_spike:320102:1").decode()
    stack = nanjing_duty_stack(stack_factory, tmp_path)
    problems: list[str] = []
    context = probed_context(browser)
    page = watched_page(context, problems)
    sign_in(page, stack.url, "li.nj")
    page.wait_for_selector(f".duty-row[data-id='{target}']", timeout=30_000)
    ids = page.eval_on_selector_all(".duty-row", "rows => rows.map(r => r.dataset.id)")
    assert len(ids) == 4 and ids[0].startswith("W")  # Suzhou's warning is not listed
    colours = page.eval_on_selector_all(".duty-row .duty-badge", "bs => bs.map(b => b.innerText)")
    assert colours[0].startswith("红色") and colours[-1].startswith("蓝色")  # red first

    settle(page)
    page.click(f".duty-row[data-id='{target}']")
    page.wait_for_selector("#duty-actions .duty-act-acknowledge", timeout=10_000)
    assert "C1-0" in page.inner_text("#duty-evidence")
    act(page, "acknowledge")
    page.wait_for_selector("#duty-actions .duty-act-dispatch")
    act(page, "dispatch", "请鼓楼区局核查")
    page.wait_for_selector(f".duty-row[data-id='{target}'] .duty-clock-left")
    act(page, "reply", "已核查，系误报")
    act(page, "reject", "证据不足，请补充现场照片")
    page.wait_for_selector("#duty-actions .duty-act-reply")
    act(page, "reply", "已补充现场检查记录")
    page.wait_for_selector("#duty-actions .duty-act-accept")
    page.wait_for_function("() => !document.querySelector('.leaflet-zoom-anim')", timeout=15_000)
    page.screenshot(path=str(SHOTS / "duty-1920x1080.png"))
    act(page, "accept", "同意办结")

    lines = page.eval_on_selector_all("#duty-audit .duty-audit-line", "ls => ls.map(l => l.innerText)")
    assert len(lines) == 6 and all("李南京" in x for x in lines)
    assert "确认" in lines[0] and "评价：退回" in lines[3] and "已办结" in lines[5]
    assert "证据不足" in page.inner_text("#duty-audit")
    w = read_warning(r, target)
    assert w["state"] == "closed" and w["version"] == 6 and r.xlen(keys.OUT_DISPATCH) == 1
    gone = f"() => !document.querySelector(\".duty-row[data-id='{target}']\")"
    page.wait_for_function(gone, timeout=10_000)

    # 4K: the same screen, scaled by vh
    big = browser.new_context(viewport={"width": 3840, "height": 2160})
    big_page = watched_page(big, problems)
    sign_in(big_page, stack.url, "li.nj")
    big_page.wait_for_selector(".duty-row", timeout=30_000)
    big_page.click(".duty-row")
    big_page.wait_for_selector("#duty-actions .duty-button", timeout=10_000)
    big_page.wait_for_timeout(500)  # let the fly-to start, then wait for it to end
    big_page.wait_for_function("() => !document.querySelector('.leaflet-zoom-anim')", timeout=15_000)
    big_page.screenshot(path=str(SHOTS / "duty-3840x2160.png"))
    assert problems == [], problems
    context.close()
    big.close()


def test_overdue_warning_is_escalated_and_marked(redis_client, stack_factory, browser, tmp_path, settings):
    r = redis_client
    now = int(time.time() * 1000)
    upsert_warnings(r, [warning(320102, 1, "case_cluster", 7)], now - 30 * H, 24 * H, 50)
    wid = r.hget(keys.WARNING_CONDITIONS, "case_cluster:320102:7").decode()
    # dispatched 25 h ago (red: 24 h to reply), written as the loop would have written it
    w = read_warning(r, wid) | {"state": "dispatched", "unit": 320102, "dispatched_at": now - 25 * H,
                                "due_at": now - H, "version": 2}  # fmt: skip
    r.hset(keys.WARNINGS, wid, orjson.dumps(w))
    # the controlled clock: the scheduled check run as of now
    assert jobs.run_overdue_check(r, jobs.job_config(settings), now) == [wid]
    stack = nanjing_duty_stack(stack_factory, tmp_path)
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = watched_page(context, problems)
    sign_in(page, stack.url, "li.nj")
    row = f".duty-row[data-id='{wid}']"
    page.wait_for_selector(f"{row}.duty-row-overdue .duty-clock-overdue", timeout=30_000)
    assert page.inner_text(f"{row} .duty-clock-overdue").startswith("已超期")
    page.click(row)
    page.wait_for_function(
        "() => document.querySelector('#duty-facts')?.innerText.includes('已升级至 南京市')", timeout=10_000
    )
    assert "督办升级" in page.inner_text("#duty-audit") and "system" in page.inner_text("#duty-audit")
    assert problems == [], problems
    context.close()
