"""The web app in local mode with Nanjing and Suzhou shops, for the sign-in and scope tests."""

from __future__ import annotations

from pathlib import Path

from app import WebApp, create_app
from core import keys
from core.users import UserRecord, hash_password, save_users
from geo.index import RegionIndex
from streams.consumer import Consumer, announce_regions, build_stores
from tests.events import entry, issued_data
from tests.webclient import csrf_token, sign_in

PASSWORD = "correct horse battery"
TOKEN = "kiosk-token-suzhou-0123456789"
NANJING, SUZHOU = 320100, 320500
#: (licence number, lon, lat): five shops in Xuanwu (Nanjing) and three in Gusu (Suzhou)
SHOPS = [(f"32010200010{i}", 118.78 + i * 0.001, 32.05) for i in range(5)] + [
    (f"32050800010{i}", 120.62 + i * 0.001, 31.31) for i in range(3)
]
SNAPSHOT = {
    "output": "wall-snapshot.data",
    "outputs": {"id": "wall-snapshot", "property": "data"},
    "inputs": [{"id": "wall-socket", "property": "connected", "value": True}],
    "changedPropIds": ["wall-socket.connected"],
    "state": [],
}
OPS_TICK = {
    "output": "..ops-sources.children...ops-updated.children...ops-dead-filter.options..",
    "outputs": [
        {"id": "ops-sources", "property": "children"},
        {"id": "ops-updated", "property": "children"},
        {"id": "ops-dead-filter", "property": "options"},
    ],
    "inputs": [{"id": "ops-tick", "property": "n_intervals", "value": 1}],
    "changedPropIds": ["ops-tick.n_intervals"],
    "state": [],
}


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def write_users(path: Path) -> Path:
    """A Nanjing duty officer ``nj`` and a province admin ``boss``, both with :data:`PASSWORD`."""
    save_users(
        path,
        {
            "nj": UserRecord("nj", hash_password(PASSWORD), "duty", NANJING, "南京值班"),
            "boss": UserRecord("boss", hash_password(PASSWORD), "admin", 320000),
        },
    )
    return path


def local_app(redis_client, settings_for, users_file: Path, tmp_path: Path) -> WebApp:
    """The web app in local mode, with the shops loaded and a hand-moved clock (``app.identity.clock``)."""
    settings = settings_for(
        WATCHFLOOR_AUTH_MODE="local",
        WATCHFLOOR_AUTH_USERS_FILE=str(users_file),
        WATCHFLOOR_AUTH_SECRET_FILE=str(tmp_path / "secret"),
        WATCHFLOOR_AUTH_WALL_TOKENS=f"{{{TOKEN}: {SUZHOU}}}",
    )
    app = create_app(settings, redis_client)
    app.identity.clock = Clock()
    stores = build_stores(redis_client, settings, app.regions, RegionIndex(app.regions))
    consumer = Consumer(redis_client, settings, stores, announce_regions(settings, app.regions))
    consumer.ensure_groups()
    for no, lon, lat in SHOPS:
        redis_client.xadd(keys.inbound("licence"), entry(data=issued_data(no, lon=lon, lat=lat)))
    while consumer.run_once(block_ms=1).read:
        pass
    return app


def signed_in(app, name: str = "nj"):
    client = app.server.test_client()
    resp = sign_in(client, name, PASSWORD, "/ops")
    assert resp.status_code == 303 and resp.headers["Location"] == "/ops"
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client
