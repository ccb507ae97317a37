"""Watchfloor web process: ``create_app(settings)`` builds Flask + Dash + Socket.IO.

``python app.py`` serves it (threading Socket.IO server; use gunicorn with one worker and many threads
in production, see docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import dash
import redis
from flask import Flask
from flask_socketio import SocketIO

from core.auth import EXTENSION, current_user
from core.identity import Identity
from core.runtime import tune_gc
from core.settings import Settings
from geo.boundaries import Regions, load_regions


@dataclass
class WebApp:
    """The parts of the web process, for serving and for tests."""

    server: Flask
    dash: dash.Dash
    socketio: SocketIO
    redis: redis.Redis
    regions: Regions
    identity: Identity | None = None


def create_app(settings: Settings, r: redis.Redis | None = None, regions: Regions | None = None) -> WebApp:
    """Build the web app from explicit settings; no Redis reads happen until a request arrives."""
    from callbacks import duty as duty_callbacks
    from callbacks import meeting as meeting_callbacks
    from callbacks import ops as ops_callbacks
    from callbacks import pages as page_callbacks
    from callbacks import wall as wall_callbacks
    from core import push
    from core.connection import connect
    from web import security, wall_page
    from web.export import blueprint as export_blueprint
    from web.ingest import blueprint as ingest_blueprint
    from web.login import blueprint as login_blueprint
    from web.login import csrf_failed_page
    from web.routes import blueprint
    from web.wall_api import blueprint as wall_blueprint

    r = r if r is not None else connect(settings)
    regions = regions if regions is not None else load_regions(settings)
    server = Flask(__name__)
    identity = Identity(settings, r)
    server.extensions[EXTENSION] = identity  # current_user() asks it
    user_of = lambda: current_user(settings)  # noqa: E731 - one place decides who is asking
    server.register_blueprint(blueprint(settings, r, regions, user_of))
    server.register_blueprint(wall_blueprint(settings, r, regions, user_of))
    server.register_blueprint(ingest_blueprint(settings, r))
    server.register_blueprint(login_blueprint(settings, identity))

    app = dash.Dash(
        __name__,
        server=server,
        use_pages=False,
        serve_locally=True,
        update_title=None,
        title="Watchfloor",
        suppress_callback_exceptions=True,
    )
    # Offline: no version check, no hot reload; everything (JS, CSS, fonts) comes from this server.
    app.enable_dev_tools(
        debug=settings.web.debug, dev_tools_disable_version_check=True, dev_tools_hot_reload=False
    )
    # wall pages start with the wall itself and load only its files; other pages with the router's shell
    wall_page.install(app, settings, regions)
    # sign-in, CSRF and security headers around every request (after Dash's own setup hook)
    security.install(server, app, settings, identity, lambda: csrf_failed_page(settings))
    page_callbacks.register(app, settings, regions, user_of)
    wall_callbacks.register(app, settings, r, user_of, regions)
    ops_callbacks.register(app, settings, r, user_of)
    duty_callbacks.register(app, settings, r, regions, user_of)
    meeting = meeting_callbacks.register(app, settings, r, regions, user_of)
    server.register_blueprint(export_blueprint(settings, meeting, user_of))

    socketio = SocketIO(server, async_mode="threading")  # same-origin only (the default)
    push.register(
        socketio, r, user_of, settings.redis.retry_seconds, identity.alive, settings.web.licence_push_seconds
    )
    return WebApp(server, app, socketio, r, regions, identity)


def main() -> None:
    """Entry point of ``python app.py``."""
    from core.connection import connect_or_exit
    from core.settings import load_or_exit

    settings = load_or_exit()
    web = create_app(settings, connect_or_exit(settings))
    print(f"web: http://{settings.web.host}:{settings.web.port}/wall", flush=True)
    serve(web, settings)


def serve(web: WebApp, settings: Settings) -> None:
    """Serve ``web`` on the configured address until interrupted (Socket.IO's threaded server)."""
    # as in the consumer and the workers: what start-up built (~180,000 objects) is frozen, so a full
    # collection no longer walks it — in this process each one held every request thread for ~100 ms,
    # several times a minute under page loads (docs/performance.md, "Session 7")
    tune_gc()
    web.socketio.run(
        web.server,
        host=settings.web.host,
        port=settings.web.port,
        allow_unsafe_werkzeug=True,
        log_output=settings.web.debug,  # one line per request (and per Socket.IO poll) only when debugging
        debug=False,
        use_reloader=False,
    )


if __name__ == "__main__":
    main()
