"""Screenshot a Watchfloor page in headless Chromium at one or more screen sizes.

    python scripts/screenshot.py http://127.0.0.1:8050/wall docs/screenshots/wall 3840x2160 1920x1080

Waits until the map has drawn licence cells (or points) before shooting, so the picture shows data.
"""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def shoot(url: str, prefix: str, sizes: list[str], wait_ms: int = 2500) -> list[str]:
    """Save ``<prefix>-<W>x<H>.png`` for each size; returns the file names."""
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for size in sizes:
            w, h = (int(v) for v in size.split("x"))
            page = browser.new_page(viewport={"width": w, "height": h})
            page.goto(url, wait_until="networkidle")
            if "/wall" in url or url.rstrip("/").count("/") == 2:
                # attached, not visible: the licence scene may be hidden behind another scene
                page.wait_for_selector(
                    "#wall-map path.wf-cell, #wall-map path.wf-shop", state="attached", timeout=30_000
                )
            page.wait_for_timeout(wait_ms)
            name = f"{prefix}-{w}x{h}.png"
            page.screenshot(path=name)
            out.append(name)
            page.close()
        browser.close()
    return out


if __name__ == "__main__":
    print("\n".join(shoot(sys.argv[1], sys.argv[2], sys.argv[3:] or ["3840x2160", "1920x1080"])))
