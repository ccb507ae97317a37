"""Recognising the user of a request: sessions, single sign-on headers, kiosk tokens, login limits.

One :class:`Identity` per web app (``create_app`` installs it); :func:`core.auth.current_user` asks it.

- ``local`` sessions: the browser holds a signed cookie with a random session id; Redis holds the
  session (``wf:session:<sha256 of the id>``: who, when signed in, when last seen). Every request
  checks the idle limit (``auth.session_minutes``) and the absolute one (``auth.session_max_hours``)
  against :attr:`Identity.clock`, and re-reads the user from the users file, so a removed user or a
  changed role takes effect at the next request. Logout deletes the Redis record: a copied cookie
  is worthless afterwards.
- ``token`` (wall kiosk links, any mode): the cookie holds a fingerprint of the token; the scope
  always comes from ``auth.wall_tokens``, so removing a token from the settings ends those sessions.
  Kiosks have no idle limit: a wall runs for weeks without anybody touching it.
- ``header`` mode: the user, role and scope come from headers, believed only when the request comes
  straight from one of ``auth.trusted_proxies``.
- ``open`` mode: the anonymous role over the province.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import sys
import time
from collections.abc import Callable
from urllib.parse import unquote

import redis
from flask import g, request, session

from core import keys
from core.auth import ROLES, User, anonymous, scope_prefix
from core.settings import Settings
from core.users import UserRecord, UsersFile

#: the "last seen" time of a session is written at most this often (the idle limit is in minutes)
TOUCH_MS = 30_000
#: Redis keeps an idle session a little longer than the limit; the limit itself is checked in code
GRACE_MS = 120_000
_UNSET = object()


def digest(text: str) -> str:
    """SHA-256 hex of ``text``: sessions are stored under the digest of their id, never the id itself."""
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


class Identity:
    """Who is asking, for one web app; see the module docstring for the four ways."""

    def __init__(self, settings: Settings, r: redis.Redis, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.auth = settings.auth
        self.r = r
        self.clock = clock  # seconds; tests move it to expire sessions
        self.users = UsersFile(settings.path(self.auth.users_file))
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in self.auth.trusted_proxies]
        self.tokens = {digest(token): scope for token, scope in self.auth.wall_tokens.items()}
        self.province_prefix = scope_prefix(settings.geo.province_adcode)

    # -- who is asking ------------------------------------------------------------------------------

    def user(self) -> User | None:
        """The user of the current request (worked out once per request)."""
        cached = g.get("wf_user", _UNSET)
        if cached is _UNSET:
            cached = self._resolve()
            g.wf_user = cached
        return cached  # type: ignore[return-value]

    def _resolve(self) -> User | None:
        kiosk = self._from_token()
        if kiosk is not None:
            return kiosk
        mode = self.auth.mode
        if mode == "open":
            return anonymous(self.settings)
        if mode == "header":
            return self._from_headers()
        return self._from_session()

    def _from_token(self) -> User | None:
        fingerprint = session.get("wall")
        scope = self.tokens.get(fingerprint) if isinstance(fingerprint, str) else None
        if scope is None:
            return None
        return User(name=f"wall-{scope}", role="wall", scope=scope, via="token", session=fingerprint)

    def _from_session(self) -> User | None:
        sid = session.get("sid")
        if not isinstance(sid, str):
            return None
        user = self.session_user(digest(sid), touch=True)
        if user is None:
            g.wf_expired = True  # the login page says "your session ended", not just "sign in"
        return user

    def session_user(self, key: str, touch: bool = False) -> User | None:
        """The user of the local session stored under ``key`` if it is still valid, else None.

        An expired session, or one whose user was removed from the users file, is deleted.
        """
        name, created, seen = self.r.hmget(keys.session(key), "name", "created_ms", "seen_ms")
        if name is None or created is None or seen is None:
            return None
        now_ms = int(self.clock() * 1000)
        idle_ms = int(self.auth.session_minutes * 60_000)
        record = self.users.get(name.decode())
        too_idle = now_ms - int(seen) > idle_ms
        too_old = now_ms - int(created) > int(self.auth.session_max_hours * 3_600_000)
        if record is None or too_idle or too_old:
            self.r.delete(keys.session(key))
            return None
        if touch and now_ms - int(seen) > TOUCH_MS:
            pipe = self.r.pipeline(transaction=False)
            pipe.hset(keys.session(key), "seen_ms", now_ms)
            pipe.pexpire(keys.session(key), idle_ms + GRACE_MS)
            pipe.execute()
        return User(record.name, record.role, record.scope, record.display_name, via="local", session=key)

    def trusted(self, address: str | None) -> bool:
        """Whether ``address`` (the direct peer) is one of ``auth.trusted_proxies``."""
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in net for net in self.proxies)

    def _from_headers(self) -> User | None:
        headers = request.headers
        if not self.trusted(request.remote_addr):
            if headers.get(self.auth.header_user):
                # somebody talks to us directly and claims to be someone: refuse, and say so in the log
                print(
                    f"watchfloor: refused sign-on headers from untrusted address {request.remote_addr}",
                    file=sys.stderr,
                )
            return None
        name = headers.get(self.auth.header_user, "").strip()
        role = headers.get(self.auth.header_role, "").strip().lower()
        scope = headers.get(self.auth.header_scope, "").strip()
        if not name or len(name) > 128 or not name.isprintable() or role not in ROLES:
            return None
        if not (len(scope) == 6 and scope.isdigit() and scope.startswith(self.province_prefix)):
            return None
        shown = ""
        if self.auth.header_display_name:  # percent-encoded UTF-8: HTTP headers are Latin-1
            shown = unquote(headers.get(self.auth.header_display_name, ""))[:64]
        return User(name, role, int(scope), shown if shown.isprintable() else "", via="header")

    # -- signing in and out -------------------------------------------------------------------------

    def sign_in(self, record: UserRecord) -> User:
        """Start a new local session for ``record`` (a fresh id and CSRF token: no session fixation)."""
        sid = secrets.token_urlsafe(32)
        key = digest(sid)
        now_ms = int(self.clock() * 1000)
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(keys.session(key), mapping={"name": record.name, "created_ms": now_ms, "seen_ms": now_ms})
        pipe.pexpire(keys.session(key), int(self.auth.session_minutes * 60_000) + GRACE_MS)
        pipe.execute()
        session.clear()
        session["sid"] = sid
        user = User(record.name, record.role, record.scope, record.display_name, via="local", session=key)
        g.wf_user = user
        return user

    def sign_in_kiosk(self, token: str) -> User | None:
        """Sign this browser in as the wall of ``token``'s scope; None when the token is not configured."""
        fingerprint = digest(token)
        if fingerprint not in self.tokens:
            return None
        session.clear()
        session["wall"] = fingerprint
        g.pop("wf_user", None)
        return self.user()

    def sign_out(self) -> None:
        """End the session of this browser (its Redis record first: a copied cookie dies with it)."""
        sid = session.get("sid")
        if isinstance(sid, str):
            self.r.delete(keys.session(digest(sid)))
        session.clear()
        g.wf_user = None

    def alive(self, user: User) -> bool:
        """Whether ``user``'s session still holds (checked for open Socket.IO connections)."""
        if user.via == "local":
            return self.session_user(user.session) is not None
        if user.via == "token":
            return user.session in self.tokens
        return True

    # -- rate limit of failed sign-ins ----------------------------------------------------------------

    def locked_for(self, name: str, address: str) -> int:
        """Seconds until ``name`` may try again from ``address`` (0: now)."""
        key = keys.login_failures(name.lower(), address)
        count = self.r.get(key)
        if count is None or int(count) < self.auth.login_max_failures:
            return 0
        return max(1, int(self.r.ttl(key)))

    def failed(self, name: str, address: str) -> None:
        """Count one failed sign-in; the window starts at the first failure."""
        key = keys.login_failures(name.lower(), address)
        pipe = self.r.pipeline(transaction=True)  # the counter never exists without its expiry
        pipe.set(key, 0, ex=self.auth.login_lockout_seconds, nx=True)
        pipe.incr(key)
        pipe.execute()

    def succeeded(self, name: str, address: str) -> None:
        """Forget the failures of ``name`` from ``address``."""
        self.r.delete(keys.login_failures(name.lower(), address))
