"""Warning counts per region and the composite risk index: pure numpy, ``now`` passed in.

Definitions (docs/indicators.md): a warning belongs to its ``region`` and every county in ``regions``,
and to every region containing one of those; open = ``state`` is not ``closed``; overdue = open, not
replied and ``due_at`` passed; reply-within-SLA rate = replied by ``due_at`` among warnings whose
``due_at`` fell in the window. The risk index scales each component to 0–1 across the counties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from indicators.tables import Regions

#: Components of the composite risk index, in the order of settings.indicators.weights.
RISK_COMPONENTS = (
    "violation_rate",
    "coverage_gap",
    "cases_per_1000_licences",
    "cross_region_inflow",
    "complaints_per_100k",
)


def _ms(value: object) -> float:
    """A JSON time in epoch ms, NaN when null or not a number (so comparisons with it are False)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else np.nan


@dataclass(frozen=True)
class WarningTable:
    """Warnings as arrays, plus the (warning, region) pairs saying which regions each one counts in."""

    raised: np.ndarray
    due: np.ndarray
    replied: np.ndarray
    open: np.ndarray
    pair_warning: np.ndarray
    pair_region: np.ndarray
    size: int

    @classmethod
    def build(cls, warnings: Sequence[Mapping], regions: Regions) -> WarningTable:
        """From parsed warning JSON; only ``state``, ``region``, ``regions``, ``raised_at``, ``due_at``,
        ``replied_at`` are read. A warning with no region of this province counts nowhere."""
        pos = {a: i for i, a in enumerate(regions.adcodes)}
        prefix = regions.province // 10000

        def regions_of(codes: list) -> list[int]:
            touched: set[int] = set()
            for code in codes:
                try:
                    code = int(code)
                except (TypeError, ValueError):
                    continue
                # the region itself, its city and the province: every region containing it
                for c in (code, code // 100 * 100, regions.province if code // 10000 == prefix else -1):
                    if c in pos:
                        touched.add(pos[c])
            return sorted(touched)

        memo: dict[tuple, list[int]] = {}  # warnings share few region sets: map each set once
        pw: list[int] = []
        pr: list[int] = []
        raised, due, replied, open_ = [], [], [], []
        for j, w in enumerate(warnings):
            raised.append(_ms(w.get("raised_at")))
            due.append(_ms(w.get("due_at")))
            replied.append(_ms(w.get("replied_at")))
            open_.append(w.get("state") != "closed")
            codes = [w.get("region"), *(w.get("regions") or [])]
            try:
                key = tuple(codes)
                touched = memo.get(key)
                if touched is None:
                    touched = memo[key] = regions_of(codes)
            except TypeError:  # an unhashable member: not worth a memo entry
                touched = regions_of(codes)
            pw += [j] * len(touched)
            pr += touched
        return cls(
            np.array(raised, float), np.array(due, float), np.array(replied, float), np.array(open_, bool),
            np.array(pw, np.int64), np.array(pr, np.int64), regions.size,
        )  # fmt: skip

    def count(self, flags: np.ndarray) -> np.ndarray:
        """Per region, the number of warnings with ``flags`` set (int64)."""
        if not len(self.pair_warning):
            return np.zeros(self.size, dtype=np.int64)
        weights = flags[self.pair_warning].astype(float)
        return np.bincount(self.pair_region, weights, self.size).round().astype(np.int64)

    def window(self, start_ms: int, now_ms: int) -> dict[str, np.ndarray]:
        """Open and overdue now; raised, due and met (replied by ``due_at``) in [start_ms, now_ms]."""
        with np.errstate(invalid="ignore"):
            overdue = self.open & np.isnan(self.replied) & (self.due < now_ms)
            raised = (self.raised >= start_ms) & (self.raised <= now_ms)
            due = (self.due >= start_ms) & (self.due <= now_ms)
            met = due & (self.replied <= self.due)
        return {
            "warnings_open": self.count(self.open),
            "warnings_overdue": self.count(overdue),
            "warnings_raised": self.count(raised),
            "sla_due": self.count(due),
            "sla_met": self.count(met),
        }


def ratio(num: np.ndarray, den: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """``scale * num / den`` per region, NaN where ``den`` is 0 (an empty window has no rate)."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    out = np.full(len(num), np.nan)
    np.divide(num * scale, den, out=out, where=den > 0)
    return out


def scale_across_counties(raw: np.ndarray, n_counties: int) -> np.ndarray:
    """Min–max scale to 0–1 using the counties (the last ``n_counties`` entries) as the reference.

    Counties get (x − min) / (max − min); the province and cities are placed on the same scale and
    clipped to 0–1. NaN (no data) stays NaN; when all counties are equal every value scales to 0.
    """
    counties = raw[len(raw) - n_counties :]
    known = counties[~np.isnan(counties)]
    if not len(known):
        return np.full(len(raw), np.nan)
    lo, hi = known.min(), known.max()
    if hi <= lo:
        return np.where(np.isnan(raw), np.nan, 0.0)
    return np.clip((raw - lo) / (hi - lo), 0.0, 1.0)


def risk_index(
    components: Mapping[str, np.ndarray], weights: Mapping[str, float], n_counties: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The composite risk index (0–100) per region and the scaled components behind it.

    Index = 100 × Σ wᵢ sᵢ / Σ wᵢ over the components a region has data for (sᵢ the component scaled
    across counties); NaN when it has none, or when all weights are 0.
    """
    unknown = set(weights) - set(RISK_COMPONENTS)
    if unknown:
        raise ValueError(f"unknown risk components in weights: {sorted(unknown)}")
    scaled = {name: scale_across_counties(components[name], n_counties) for name in RISK_COMPONENTS}
    size = len(next(iter(scaled.values())))
    total, weight = np.zeros(size), np.zeros(size)
    for name, s in scaled.items():
        w = float(weights.get(name, 0.0))
        have = ~np.isnan(s)
        total += np.where(have, w * np.nan_to_num(s), 0.0)
        weight += np.where(have, w, 0.0)
    index = np.full(size, np.nan)
    np.divide(100.0 * total, weight, out=index, where=weight > 0)
    return index, scaled
