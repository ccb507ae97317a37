"""/duty by push: a warning raised while the page is open appears in the queue within 2 s, brought by
the ``warnings`` Socket.IO event (not by the slow tick), and a Suzhou warning raised at the same time
does not reach a Nanjing officer."""

from __future__ import annotations

import time

import orjson

from alerts.store import upsert_warnings
from core import keys
from layouts.duty import REFRESH_MS
from tests.browser.test_duty_screen import nanjing_duty_stack, probed_context, sign_in, warning
from tests.browser.test_login import watched_page

H = 3_600_000


def raise_and_announce(r, cands: list[dict], now_ms: int) -> list[str]:
    """Store the candidates and announce them as the detection job does (indicators/warning_jobs.py)."""
    result = upsert_warnings(r, cands, now_ms, 24 * H, 50)
    message = {
        "topic": "warnings", "raised": result.raised, "updated": result.updated,
        "regions": sorted(result.regions), "open": r.zcard(keys.OPEN_WARNINGS), "at": now_ms,
    }  # fmt: skip
    r.publish(keys.UPDATES, orjson.dumps(message))
    return result.raised


def test_a_new_warning_arrives_by_push_within_two_seconds(redis_client, stack_factory, browser, tmp_path):
    assert REFRESH_MS >= 10_000  # the tick alone could not make the 2 s below
    r = redis_client
    now = int(time.time() * 1000)
    upsert_warnings(r, [warning(320102, 2, "complaint_spike", 1)], now - H, 24 * H, 50)
    stack = nanjing_duty_stack(stack_factory, tmp_path)
    problems: list[str] = []
    context = probed_context(browser)
    page = watched_page(context, problems)
    triggers: list[list[str]] = []  # changedPropIds of every queue refresh the page asks for
    page.on(
        "request",
        lambda req: (
            triggers.append(orjson.loads(req.post_data or "{}").get("changedPropIds", []))
            if "/_dash-update-component" in req.url and "duty-queue.children" in (req.post_data or "")
            else None
        ),
    )
    sign_in(page, stack.url, "li.nj")
    page.wait_for_selector(".duty-row", timeout=30_000)
    # the socket is up (its connect reloads the queue once)
    page.wait_for_function("() => document.querySelectorAll('.duty-row').length === 1", timeout=10_000)
    deadline = time.monotonic() + 10
    while not any("duty-socket.connected" in t for t in triggers) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert any("duty-socket.connected" in t for t in triggers), triggers
    page.wait_for_timeout(500)
    triggers.clear()

    started = time.monotonic()
    nj, sz = (
        raise_and_announce(r, [warning(320104, 1, "case_cluster", 2, (118.80, 32.02))], now),
        raise_and_announce(r, [warning(320508, 1, "corridor_surge", 3, (120.62, 31.31))], now),
    )
    page.wait_for_selector(f".duty-row[data-id='{nj[0]}']", timeout=2_000)
    elapsed = time.monotonic() - started
    assert elapsed <= 2.0, elapsed
    assert triggers and all("duty-tick.n_intervals" not in t for t in triggers), triggers
    assert any("duty-socket.data-warnings" in t for t in triggers), triggers
    # red first; Suzhou's warning is not there
    ids = page.eval_on_selector_all(".duty-row", "rows => rows.map(r => r.dataset.id)")
    assert ids[0] == nj[0] and sz[0] not in ids and len(ids) == 2
    assert problems == [], problems
    context.close()
