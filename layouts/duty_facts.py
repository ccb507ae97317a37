"""The facts and evidence of a warning as labelled plain text for the ``/duty`` detail pane.

Each detector writes its facts under short keys (``licence_no``, ``baseline_per_day`` …); the pane
shows their catalogue labels (``duty.fact.<key>``) and readable values: region codes as names, times
as local stamps, shares as percentages. A key with no label yet (a new detector) is shown as it is
rather than hidden. Everything stays text: never HTML.
"""

from __future__ import annotations

from layouts.i18n import CATALOGUES, t
from layouts.ops import stamp

#: facts holding region codes, times (epoch ms), and shares (0..1)
REGION_FACTS = frozenset({"from", "to", "seen_in", "region", "unit"})
TIME_FACTS = frozenset({"first_at", "last_at", "raised_at", "due_at"})
SHARE_FACTS = frozenset({"coverage", "target"})


def label(lang: str, key: str, prefix: str = "duty.fact.") -> str:
    """The catalogue label of a fact (or evidence kind); the key itself when none is catalogued."""
    return CATALOGUES[lang].get(prefix + key, key)


def _region(names: dict[int, str], value: object) -> str:
    try:
        code = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(value)
    return names.get(code, str(code))


def fact_value(lang: str, key: str, value: object, names: dict[int, str]) -> str:
    """One fact's value as text."""
    if isinstance(value, bool):
        return t(lang, "duty.yes" if value else "duty.no")
    if isinstance(value, list):
        sep = "、" if lang == "zh" else ", "
        return sep.join(fact_value(lang, key, v, names) for v in value)
    if key in REGION_FACTS:
        return _region(names, value)
    if key in TIME_FACTS and isinstance(value, int | float):
        return stamp(lang, int(value))
    if key in SHARE_FACTS and isinstance(value, int | float) and 0 <= value <= 1:
        return f"{value * 100:.1f}%"
    return str(value)


def facts_text(w: dict, lang: str, names: dict[int, str]) -> str:
    """The warning's identity, clock and facts as ``label: value`` lines (plain text)."""
    lines = [
        f"{label(lang, 'id')}: {w['id']}",
        f"{t(lang, 'duty.filter.region')}: {names.get(int(w['region']), w['region'])} ({w['region']})",
        f"{label(lang, 'raised_at')}: {stamp(lang, w['raised_at'])}",
    ]
    if w.get("unit"):
        lines.append(f"{t(lang, 'duty.unit')}: {names.get(int(w['unit']), w['unit'])} ({w['unit']})")
    if w.get("due_at"):
        lines.append(f"{label(lang, 'due_at')}: {stamp(lang, w['due_at'])}")
    if w.get("escalated_to"):
        unit = names.get(int(w["escalated_to"]), w["escalated_to"])
        lines.append(t(lang, "duty.escalated").format(unit=unit))
    if w.get("reply"):
        lines.append(f"{label(lang, 'reply')}: {w['reply']}")
    lines += [f"{label(lang, k)}: {fact_value(lang, k, v, names)}" for k, v in (w.get("facts") or {}).items()]
    return "\n".join(lines)


def evidence_text(w: dict, lang: str = "zh") -> str:
    """The evidence, one kind per line (event ids, licences, cases, complaints), under its label."""
    ev = w.get("evidence") or {}
    lines = [
        f"{label(lang, kind, 'duty.evidence.')}: {', '.join(map(str, items))}" for kind, items in ev.items()
    ]
    return "\n".join(lines) or "—"


def marker_tip(w: dict, lang: str, names: dict[int, str]) -> str:
    """The map marker's tooltip: type, region, and the shop or holder the warning is about (text)."""
    facts = w.get("facts") or {}
    parts = [t(lang, f"duty.type.{w['type']}"), names.get(int(w["region"]), str(w["region"]))]
    parts += [str(facts[k]) for k in ("holder", "licence_no") if facts.get(k)]
    return " · ".join(parts)
