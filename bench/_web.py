"""The web process of the browser benches: the real ``create_app()`` plus a few bench-only routes.

    python bench/_web.py          (started by bench/_stack.py with the stack's WATCHFLOOR_* settings)

Bench-only routes (never part of the product; they exist only in this process):

- ``/bench/poll``: a page that polls ``/bench/snapshot.json`` every second and writes the active
  licence count into ``#poll-active`` — the 1 s polling baseline of ``bench/latency.py``.
- ``/bench/snapshot.json``: the wall's own snapshot (``callbacks.wall.snapshot``) as JSON.
- ``/bench/emits.json``: [epoch ms, active] of every ``licence`` push the relay emitted to the
  province's room (``socketio.emit`` is wrapped to note them), to split relay from browser time.
- ``/bench/naive.json?limit=N``: up to N licences of the province as GeoJSON points (the naive map
  layer, the baseline of ``bench/map_paint.py``).

Every route asks for a signed-in user and checks the province scope, as the product's routes do.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson
from flask import Blueprint, Response, request

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import keys  # noqa: E402
from core.auth import current_user, require_user, require_view  # noqa: E402

POLL_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>poll baseline</title></head>
<body style="background:#0b1220;color:#e2e8f0;font:48px sans-serif">
<span id="poll-active">—</span>
<script src="/bench/poll.js"></script>
</body></html>
"""

# setInterval(1000) + fetch, the usual "refresh every second" dashboard
POLL_JS = """(function () {
  const el = document.getElementById("poll-active");
  async function poll() {
    try {
      const resp = await fetch("/bench/snapshot.json", { cache: "no-store" });
      const snap = await resp.json();
      const text = String(snap.active);
      if (el.textContent !== text) el.textContent = text;
    } catch (e) { /* next poll */ }
  }
  poll();
  setInterval(poll, 1000);
})();
"""


def note_emits(socketio, room: str) -> list:
    """Wrap ``socketio.emit``: note [epoch ms, active] of each ``licence`` push to ``room``, after it."""
    emits: list = []
    emit = socketio.emit

    def noting(event, *args, **kwargs):
        out = emit(event, *args, **kwargs)
        if event == "licence" and kwargs.get("to") == room:
            emits.append([time.time() * 1000, str(args[0].get("active"))])
        return out

    socketio.emit = noting
    return emits


def bench_blueprint(settings, r, regions, emits: list) -> Blueprint:
    """The bench-only routes, with the same sign-in and scope checks as the product's routes."""
    from callbacks.wall import snapshot

    bp = Blueprint("bench", __name__)
    user_of = lambda: current_user(settings)  # noqa: E731
    west, south, east, north = (float(v) for v in regions.province.total_bounds)

    @bp.get("/bench/poll")
    def poll_page() -> Response:
        require_user(user_of())
        return Response(POLL_HTML, mimetype="text/html")

    @bp.get("/bench/poll.js")
    def poll_js() -> Response:
        return Response(POLL_JS, mimetype="text/javascript")

    @bp.get("/bench/snapshot.json")
    def snapshot_json() -> Response:
        body = orjson.dumps(snapshot(r, require_user(user_of())))
        return Response(body, mimetype="application/json", headers={"Cache-Control": "no-store"})

    @bp.get("/bench/emits.json")
    def emits_json() -> Response:
        require_view(require_user(user_of()), settings.geo.province_adcode)
        return Response(
            orjson.dumps(emits), mimetype="application/json", headers={"Cache-Control": "no-store"}
        )

    @bp.get("/bench/naive.json")
    def naive() -> Response:
        require_view(require_user(user_of()), settings.geo.province_adcode)
        limit = int(request.args.get("limit", "10000"))
        found = r.geosearch(
            keys.LICENCE_GEO,
            longitude=(west + east) / 2,
            latitude=(south + north) / 2,
            width=(east - west) * 111.32 * 0.85,
            height=(north - south) * 110.57,
            unit="km",
            withcoord=True,
            count=limit,
            any=True,  # the first N found: a sample of the province, its draw cost is what counts
        )
        feats = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [x, y]},
                "properties": {"no": m.decode()},
            }
            for m, (x, y) in found
        ]
        body = orjson.dumps({"type": "FeatureCollection", "features": feats})
        return Response(body, mimetype="application/geo+json", headers={"Cache-Control": "no-store"})

    return bp


def main() -> None:
    """Serve create_app() with the bench routes, as ``python app.py`` serves the product."""
    from app import create_app, serve
    from core.connection import connect_or_exit
    from core.settings import load_or_exit

    settings = load_or_exit()
    web = create_app(settings, connect_or_exit(settings))
    from core.push import room

    emits = note_emits(web.socketio, room(settings.geo.province_adcode))
    web.server.register_blueprint(bench_blueprint(settings, web.redis, web.regions, emits))
    print(f"bench web: http://{settings.web.host}:{settings.web.port}/wall", flush=True)
    serve(web, settings)


if __name__ == "__main__":
    main()
