"""Who is asking, and what they may see. Every callback, route and Socket.IO handler asks here.

:func:`current_user` answers from the identity installed on the web app (``core/identity.py``): the
signed-in session (local users, wall kiosk tokens), the single sign-on headers of a trusted proxy, or
in ``open`` mode the anonymous role over the whole province. The checks below decide what a user may
see: a user's scope is an adcode, and everything inside it (its cities and counties) is visible.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_request_context

from core.settings import Settings

ROLES = ("wall", "leader", "duty", "admin")
#: the extension under which the web app keeps its :class:`core.identity.Identity`
EXTENSION = "watchfloor.identity"


@dataclass(frozen=True)
class User:
    """A signed-in user: a role and a region scope (an adcode: province, city or county).

    ``via`` says how they were recognised (``open``, ``local``, ``header`` or ``token`` for a wall
    kiosk link); ``session`` identifies a local session (for expiry checks on long-lived sockets).
    """

    name: str
    role: str
    scope: int
    display_name: str = ""
    via: str = "open"
    session: str = ""

    @property
    def kiosk(self) -> bool:
        """Signed in by a wall kiosk link: may open the wall screen only."""
        return self.via == "token"


class Forbidden(PermissionError):
    """The user may not see or do this; the message says why (safe to show)."""


def anonymous(settings: Settings) -> User:
    """The visitor of ``open`` mode: ``auth.anonymous_role`` over the whole province."""
    role = settings.auth.anonymous_role
    return User(name=role, role=role, scope=settings.geo.province_adcode)


def current_user(settings: Settings) -> User | None:
    """The user of the current request, or None when nobody (valid) is signed in."""
    if has_request_context():
        identity = current_app.extensions.get(EXTENSION)
        if identity is not None:
            return identity.user()
    # outside a web app with an identity (scripts, bare tests) only open mode knows who this is
    return anonymous(settings) if settings.auth.mode == "open" else None


def require_user(user: User | None) -> User:
    """``user`` if someone with a known role is signed in, else :class:`Forbidden`."""
    if user is None or user.role not in ROLES:
        raise Forbidden("sign in first")
    return user


def require_role(user: User | None, *roles: str) -> None:
    """Raise :class:`Forbidden` unless the user has one of ``roles``."""
    user = require_user(user)
    if user.role not in roles:
        raise Forbidden(f"user {user.name} ({user.role}) may not do this; needs {' or '.join(roles)}")


def scope_prefix(adcode: int) -> str:
    """Leading digits shared by every region inside ``adcode``: 320000 → "32", 320100 → "3201"."""
    text = f"{adcode:06d}"
    if text.endswith("0000"):
        return text[:2]
    if text.endswith("00"):
        return text[:4]
    return text


def can_view(user: User | None, adcode: int) -> bool:
    """Whether ``adcode`` lies inside the user's region scope (nobody signed in: nothing)."""
    if user is None or user.role not in ROLES:
        return False
    return f"{adcode:06d}".startswith(scope_prefix(user.scope))


def require_view(user: User | None, adcode: int) -> None:
    """Raise :class:`Forbidden` unless the user may view region ``adcode``."""
    if not can_view(user, adcode):
        who = user.name if user is not None else "nobody signed in"
        raise Forbidden(f"region {adcode} is outside the scope of user {who}")
