"""/ops in headless Chromium: the five sources, a dead letter with its reason, re-drive (admin only)."""

from __future__ import annotations

import orjson

from core import keys
from streams.schema import SOURCES
from tests.integration.test_ops import redrive_payload

STREAM = keys.inbound("licence")
MARKUP = "<img src=x onerror=alert(1)>"


def add_bad_licence(r) -> None:
    """A licence.issued whose data lacks every required field but the (hostile) shop name."""
    r.xadd(
        STREAM,
        {
            "id": "evil-1",
            "type": "licence.issued",
            "occurred_at": "2026-11-21T09:00:00+08:00",
            "data": orjson.dumps({"shop_name": MARKUP}),
        },
    )


def open_ops(browser, stack):
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(stack.url + "/ops")
    page.wait_for_selector(".ops-letter[data-source='licence']", timeout=30_000)
    # the sources table comes from another callback than the letters: wait for it too
    page.wait_for_selector("#ops-source-licence", timeout=30_000)
    return page, dialogs


def cell(page, source: str, column: int) -> str:
    return page.inner_text(f"#ops-source-{source} td:nth-child({column}) .ops-main")


def test_an_admin_sees_the_dead_letter_as_text_and_redrives_it(redis_client, stack_factory, browser):
    r = redis_client
    add_bad_licence(r)
    stack = stack_factory(WATCHFLOOR_AUTH_ANONYMOUS_ROLE="admin")
    page, dialogs = open_ops(browser, stack)

    for source in SOURCES:
        assert page.locator(f"#ops-source-{source}").count() == 1
    letter = page.locator(".ops-letter[data-source='licence']")
    assert letter.count() == 1
    first_id = letter.get_attribute("data-dead-id")
    assert "data.licence_no: Field required" in letter.locator(".ops-letter-reason").inner_text()
    # the hostile markup is shown as the text it is: no element made of it, no script run
    assert MARKUP in letter.locator("pre.ops-letter-entry").inner_text()
    assert page.locator(".ops-letter img, .ops-letter-entry *").count() == 0
    assert cell(page, "licence", 10) == "1"  # dead letters of the source

    letter.locator(".ops-redrive-one").click()
    page.wait_for_function(
        "() => document.querySelector('#ops-message').innerText.startsWith('已重新投递 1 条')"
    )
    # still malformed: the consumer rejects it again, as a new letter with the same reason
    page.wait_for_function(
        f"""() => {{
            const rows = document.querySelectorAll(".ops-letter[data-source='licence']");
            return rows.length === 1 && rows[0].dataset.deadId !== "{first_id}";
        }}""",
        timeout=15_000,
    )
    again = page.locator(".ops-letter[data-source='licence']")
    assert "data.licence_no: Field required" in again.locator(".ops-letter-reason").inner_text()
    assert r.xlen(keys.DEAD) == 1 and r.xrange(keys.DEAD, min=first_id, max=first_id) == []
    audit = r.xrevrange(keys.REDRIVE_AUDIT)
    assert len(audit) == 1 and audit[0][1][b"dead_id"].decode() == first_id
    assert audit[0][1][b"who"] == b"admin"
    # the figures follow: two entries in the stream (the original and the re-driven one), all read
    page.wait_for_function(
        "() => document.querySelector('#ops-source-licence td:nth-child(9)').innerText === '2'"
    )
    assert (cell(page, "licence", 6), cell(page, "licence", 7), cell(page, "licence", 10)) == ("0", "0", "1")
    assert dialogs == []
    page.close()


def test_a_non_admin_cannot_redrive_even_by_replaying_the_callback(redis_client, stack_factory, browser):
    r = redis_client
    add_bad_licence(r)
    stack = stack_factory()  # the default anonymous role: wall
    page, dialogs = open_ops(browser, stack)

    assert page.locator(".ops-redrive-one").count() == 0
    assert page.locator("#ops-redrive-selected").is_hidden()
    assert "重新投递需管理员角色" in page.inner_text("#ops-role")
    dead_id = page.locator(".ops-letter").first.get_attribute("data-dead-id")

    # the replay carries the page's CSRF token as Dash does (the officer replays their own session)
    reply = page.evaluate(
        """async (body) => {
            const token = document.cookie.match(/(?:^|; )_csrf_token=([^;]+)/)[1];
            const resp = await fetch("/_dash-update-component", {
                method: "POST", headers: {"Content-Type": "application/json", "X-CSRFToken": token},
                body: JSON.stringify(body)});
            return [resp.status, await resp.json()];
        }""",
        redrive_payload(dead_id),
    )
    assert reply[0] == 200
    assert reply[1]["response"]["ops-message"]["children"].startswith("无权操作")
    assert [i.decode() for i, _ in r.xrange(keys.DEAD)] == [dead_id]
    assert r.xlen(STREAM) == 1 and r.xlen(keys.REDRIVE_AUDIT) == 0
    assert dialogs == []
    page.close()
