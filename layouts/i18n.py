"""Message catalogues: every piece of text a screen shows, in Chinese (default) and English.

The texts live in ``layouts/messages/<screen>.py`` (``ZH`` and ``EN`` dictionaries, keys prefixed
by the screen); this module merges them and looks them up. A key defined twice is a bug.
"""

from __future__ import annotations

from types import ModuleType

from layouts.messages import duty, login, meeting, ops, wall

#: every message module; a new screen adds its own here
MODULES: tuple[ModuleType, ...] = (wall, ops, duty, login, meeting)


def _merge(attr: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for module in MODULES:
        texts: dict[str, str] = getattr(module, attr)
        clash = merged.keys() & texts.keys()
        if clash:
            raise ValueError(f"message keys defined twice: {sorted(clash)}")
        merged |= texts
    return merged


CATALOGUES: dict[str, dict[str, str]] = {"zh": _merge("ZH"), "en": _merge("EN")}


def t(lang: str, key: str) -> str:
    """The text of ``key`` in ``lang``; a missing key is a bug, so it raises KeyError."""
    return CATALOGUES[lang][key]


def catalogue(lang: str, prefix: str = "") -> dict[str, str]:
    """All texts of ``lang`` whose key starts with ``prefix`` (sent to clientside callbacks)."""
    return {k: v for k, v in CATALOGUES[lang].items() if k.startswith(prefix)}
