"""Who is asking, and what they may see. Every callback, route and Socket.IO handler asks here.

Issue 6 adds the login page and the duty/leader/admin users. Until then the only identity is the
read-only wall kiosk, scoped to the configured province; the checks below are already enforced so
that adding users changes who is asking, not where the checks are.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings

ROLES = ("wall", "leader", "duty", "admin")


@dataclass(frozen=True)
class User:
    """A signed-in user: a role and a region scope (an adcode: province, city or county)."""

    name: str
    role: str
    scope: int


class Forbidden(PermissionError):
    """The user may not see or do this; the message says why (safe to show)."""


def current_user(settings: Settings) -> User:
    """The user of the current request: until login exists, the anonymous role over the province."""
    role = settings.auth.anonymous_role
    return User(name=role, role=role, scope=settings.geo.province_adcode)


def require_role(user: User, *roles: str) -> None:
    """Raise :class:`Forbidden` unless the user has one of ``roles``."""
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


def can_view(user: User, adcode: int) -> bool:
    """Whether ``adcode`` lies inside the user's region scope."""
    return f"{adcode:06d}".startswith(scope_prefix(user.scope))


def require_view(user: User, adcode: int) -> None:
    """Raise :class:`Forbidden` unless the user may view region ``adcode``."""
    if user.role not in ROLES or not can_view(user, adcode):
        raise Forbidden(f"region {adcode} is outside the scope of user {user.name}")
