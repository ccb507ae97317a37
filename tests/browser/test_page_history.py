"""assets/history.js: Dash's undo history (one entry per pushed prop change) stays short on /wall.

Without the trim, ``store.history.past`` grows by one entry for every Socket.IO push the page takes
(plotly/dash#727) — without end on a wall left on for weeks.
"""

from __future__ import annotations

import time

from core import keys
from tests.browser.test_wall import add_licences, wall_showing
from tests.events import entry, issued_data

PAST = "() => window.dash_stores.map((s) => s.getState().history.past.length)"


def test_the_undo_history_is_trimmed_while_pushes_keep_coming(redis_client, stack_factory, browser):
    add_licences(redis_client, 5)
    stack = stack_factory()
    page = wall_showing(browser, stack, 5)
    assert page.evaluate("() => [...document.scripts].some((s) => s.src.includes('/assets/history.js'))")

    lengths = []
    for i in range(60):  # a licence every 200 ms: a push each (the relay coalesces per 50 ms)
        redis_client.xadd(keys.inbound("licence"), entry(data=issued_data(f"320102{100 + i:06d}")))
        time.sleep(0.2)
        lengths.append(max(page.evaluate(PAST)))
    page.wait_for_function("() => document.querySelector('#wall-kpi-active')?.innerText === '65'")
    drops = [b for a, b in zip(lengths, lengths[1:], strict=False) if b < a]
    # 12 s of pushes (one history entry each, plus the page's own ticks) without a trim would leave
    # 60+ entries and never a drop; trimmed every 5 s to the last 10, it drops twice and stays low
    # (a sample comes up to 200 ms after the trim: a few entries may have arrived in between)
    assert len(drops) >= 2 and all(d <= 14 for d in drops), lengths
    assert max(lengths) <= 45, lengths
    page.close()
