"""Licence indicators: pure functions, data and ``now`` in, values out."""

from __future__ import annotations

import datetime as dt
from typing import TypedDict


class LicenceIndicator(TypedDict):
    """Indicators of one region."""

    active: int
    population: int
    per_1000: float | None


def licence_density(
    active: dict[int, int], population: dict[int, int], now: dt.datetime
) -> dict[str, object]:
    """Active licences and licences per 1,000 residents (2020 census) for every region with a population.

    A region with no population figure gets ``per_1000 = None`` rather than a made-up number; a
    region with no licences counts 0. ``now`` is stamped on the result as ``computed_at``.
    """
    regions: dict[str, LicenceIndicator] = {}
    for adcode in sorted(set(active) | set(population)):
        pop = population.get(adcode, 0)
        n = active.get(adcode, 0)
        regions[str(adcode)] = {
            "active": n,
            "population": pop,
            "per_1000": round(n * 1000 / pop, 3) if pop > 0 else None,
        }
    return {"computed_at": now.isoformat(), "regions": regions}
