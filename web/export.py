"""Export of the meeting view: ``GET /api/v1/meeting/export.png`` and ``/export.pdf``.

Parameters: ``region`` (adcode), ``window`` (days), ``indicator``, optional ``shop`` (licence number),
and for PNG ``width`` / ``height`` (px, default 1920 × 1080). The view is read through
:class:`indicators.briefing.Meeting`, which checks the user's scope (403 outside it); the page is
``layouts.meeting_briefing`` printed by the installed headless Chromium (``/usr/bin/chromium``
through Playwright): PDF as one A4-landscape page, PNG as a screenshot. Offline: the page is set
from a string and every network request the page might make is aborted. Chinese text renders with
the system's Noto CJK fonts (fonts-noto-cjk, installed by scripts/bootstrap.sh); see docs/meeting.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import orjson
from flask import Blueprint, Response, request
from playwright.sync_api import sync_playwright

from core.auth import Forbidden, User, require_user
from core.settings import Settings
from indicators.briefing import Meeting, Selection
from layouts.meeting_briefing import briefing_html
from scripts.screenshot import ARGS, CHROMIUM

#: A4 landscape at 96 CSS px per inch
A4 = (1123, 794)
PNG_LIMITS = ((640, 7680), (360, 4320))
#: one Chromium at a time: exports are rare, the machine's cores are not
_LOCK = threading.Lock()


def render(page_html: str, fmt: str, width: int, height: int) -> bytes:
    """Print ``page_html`` to PDF (one page of ``width`` × ``height`` px) or PNG (that size).

    Runs in a thread of its own: Playwright's sync API refuses a thread with a running asyncio loop
    (a server thread of an async host, or a test process that drives a browser itself).
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_render, page_html, fmt, width, height).result()


def _render(page_html: str, fmt: str, width: int, height: int) -> bytes:
    with _LOCK, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.route("**/*", lambda route: route.abort())  # nothing leaves this machine
            page.set_content(page_html, wait_until="load")
            page.evaluate("() => document.fonts.ready.then(() => true)")
            if fmt == "pdf":
                return page.pdf(
                    width=f"{width}px", height=f"{height}px", print_background=True, page_ranges="1",
                    margin={"top": "0", "right": "0", "bottom": "0", "left": "0"},
                )  # fmt: skip
            return page.screenshot(type="png", full_page=False)
        finally:
            browser.close()


def _size(name: str, default: int, limits: tuple[int, int]) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    value = int(raw)  # ValueError: 400
    if not limits[0] <= value <= limits[1]:
        raise ValueError(f"{name}: between {limits[0]} and {limits[1]}")
    return value


def blueprint(settings: Settings, meeting: Meeting, user_of: Callable[[], User | None]) -> Blueprint:
    """The export routes, with the meeting reader and the user lookup passed in."""
    bp = Blueprint("meeting_export", __name__)
    lang = settings.wall.language

    @bp.get("/api/v1/meeting/export.<fmt>")
    def export(fmt: str) -> Response:
        if fmt not in ("png", "pdf"):
            return _error(404, "export: png or pdf")
        user = require_user(user_of())
        try:
            sel = Selection(int(request.args.get("region", user.scope)), request.args.get("shop") or None)
            window = int(request.args.get("window", 30))
            indicator = request.args.get("indicator", "risk")
            width, height = A4
            if fmt == "png":
                width = _size("width", 1920, PNG_LIMITS[0])
                height = _size("height", 1080, PNG_LIMITS[1])
            view = meeting.view(user, sel, window, indicator)
        except ValueError as exc:
            return _error(400, str(exc))
        now_ms = int(time.time() * 1000)
        body = render(briefing_html(view, meeting.regions, lang, now_ms, width, height), fmt, width, height)
        name = f"briefing-{view.region}-{time.strftime('%Y%m%d-%H%M')}.{fmt}"
        return Response(
            body,
            mimetype="application/pdf" if fmt == "pdf" else "image/png",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )

    @bp.errorhandler(Forbidden)
    def forbidden(exc: Forbidden) -> Response:
        return _error(403, str(exc))

    return bp


def _error(status: int, message: str) -> Response:
    return Response(orjson.dumps({"error": message}), status=status, mimetype="application/json")
