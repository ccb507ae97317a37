"""Warning detectors on observations and records: pure functions, frames and ``now`` in, candidates out.

The observations are written at ingest (docs/state.md, ``wf:obs:*``); the job turns them into
frames. Rules and thresholds: docs/warnings.md and ``warnings.*`` in config.yaml.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from core.settings import ClusterRule, HolderRule, InactiveRule, MisuseRule
from indicators.nearby import seed_groups
from indicators.warnings import Candidate, LicencePlace, level_for, point, region_of

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
Licences = Mapping[str, LicencePlace]


def _ids(frame: pd.DataFrame, column: str = "event_id") -> list[str]:
    return [str(x) for x in frame.sort_values(["t", column])[column]]


def _window(frame: pd.DataFrame, now_ms: int, width_ms: float) -> pd.DataFrame:
    """Rows with ``now - width < t <= now`` (a run judges as of ``now``, even over later data)."""
    return frame[(frame["t"] > now_ms - width_ms) & (frame["t"] <= now_ms)]


def _licence_place(licences: Licences, no: str) -> tuple[int | None, dict | None]:
    got = licences.get(no)
    return (got.county, point(got.lon, got.lat)) if got else (None, None)


def licence_misuse(
    far: pd.DataFrame, licences: Licences, now_ms: int, rule: MisuseRule, province: int
) -> list[Candidate]:
    """Licences repeatedly observed at one other place far from their registered point.

    ``far``: columns licence_no, event_id, km (distance from the registered point), county (where
    observed), t (ms). Within the last ``window_hours``, a licence needs ``min_obs`` observations whose
    distances lie within ``band_km`` of each other (one other shop, not goods scattered over a county),
    and they must be at least ``min_share`` of its far observations in the window — a dealer whose
    cartons turn up all over another county is a corridor, not a borrowed licence.
    """
    w = _window(far, now_ms, rule.window_hours * HOUR_MS)
    counts = w["licence_no"].value_counts()
    suspects = counts[counts >= rule.min_obs].index
    out = []
    for no, g in w[w["licence_no"].isin(suspects)].groupby("licence_no", sort=True):
        km = np.sort(g["km"].to_numpy(dtype=float))
        reach = np.searchsorted(km, km + rule.band_km, side="right") - np.arange(km.size)
        best = int(np.argmax(reach))
        n = int(reach[best])
        if n < rule.min_obs or n < rule.min_share * len(g):
            continue
        band = g[(g["km"] >= km[best]) & (g["km"] <= km[best] + rule.band_km)]
        home, place = _licence_place(licences, str(no))
        counties = sorted({int(c) for c in band["county"]} | ({home} if home else set()))
        out.append(
            Candidate(
                "licence_used_elsewhere",
                f"licence_used_elsewhere:{no}",
                level_for(n, rule.levels),
                home or region_of(counties, province),
                counties,
                place,
                {
                    "licence_no": str(no),
                    "observations": n,
                    "far_observations": len(g),
                    "distance_km": round(float(band["km"].median()), 2),
                    "seen_in": sorted({int(c) for c in band["county"]}),
                },
                {"events": _ids(band), "licences": [str(no)]},
            )
        )
    return out


def inactive_receiving(
    inactive: pd.DataFrame, licences: Licences, now_ms: int, rule: InactiveRule, away: Collection[str] = ()
) -> list[Candidate]:
    """Suspended or revoked licences still receiving goods: ``min_scans`` in the last ``window_hours``.

    ``inactive``: columns licence_no, event_id, t — scans of cartons delivered to a licence that was
    suspended or revoked at the time. Background: a licence suspended by the registry keeps trickling
    (≈ 0.4–1 carton a day at a busy shop), so the bar is a count that trickle does not reach.
    ``away``: event ids also observed far from the licence's shop — goods turning up elsewhere are
    evidence of a licence used elsewhere (or a corridor), not of the shop still receiving goods.
    """
    w = _window(inactive, now_ms, rule.window_hours * HOUR_MS)
    if len(away):
        w = w[~w["event_id"].isin(away)]
    counts = w["licence_no"].value_counts()
    out = []
    for no in sorted(counts[counts >= rule.min_scans].index):
        g = w[w["licence_no"] == no]
        county, place = _licence_place(licences, str(no))
        county = county or int(str(no)[:6])  # a licence number starts with its issuing county
        out.append(
            Candidate(
                "suspended_licence_receiving_goods",
                f"suspended_licence_receiving_goods:{no}",
                level_for(len(g), rule.levels),
                county,
                [county],
                place,
                {
                    "licence_no": str(no),
                    "cartons": len(g),
                    "first_at": int(g["t"].min()),
                    "last_at": int(g["t"].max()),
                },
                {"events": _ids(g), "licences": [str(no)]},
            )
        )
    return out


def holder_several(
    holders: pd.DataFrame, licences: Licences, now_ms: int, rule: HolderRule, province: int
) -> list[Candidate]:
    """One holder given ``min_licences`` licences by registry changes within ``window_days``.

    ``holders``: columns holder, licence_no, t — a ``licence.changed`` that set a new holder. Names
    collide a lot among the existing licences, so only changes count: several licences moving to one
    name within days is the pattern of a front (挂靠) holder.
    """
    w = _window(holders, now_ms, rule.window_days * DAY_MS)
    out = []
    for name, g in w.groupby("holder", sort=True):
        nos = sorted(set(g["licence_no"]))
        if len(nos) < rule.min_licences:
            continue
        counties = sorted({licences[n].county if n in licences else int(n[:6]) for n in nos})
        out.append(
            Candidate(
                "holder_with_several_licences",
                f"holder_with_several_licences:{name}",
                level_for(len(nos), rule.levels),
                region_of(counties, province),
                counties,
                None,
                {"holder": str(name), "licences": len(nos), "counties": len(counties)},
                {"licences": nos},
            )
        )
    return out


def case_clusters(cases: pd.DataFrame, now_ms: int, rule: ClusterRule, province: int) -> list[Candidate]:
    """At least ``k`` cases of the watched kinds within ``radius_km`` of one of them and ``days`` after it.

    ``cases``: columns case_id, kind, t (opened, ms), lon, lat, county, placed_by. Cases placed only
    by an address sit at the county seat and are left out. A cluster inside one county needs
    ``k_one_county`` cases; one straddling a county border needs ``k`` and is coloured more severe,
    a city border more still. A cluster is a warning while its newest case is under ``days`` old; its
    condition is its first case, so new cases update the same warning.
    """
    c = cases[
        cases["kind"].isin(rule.kinds)
        & (cases["placed_by"] == "point")
        & (cases["t"] > now_ms - 2 * rule.days * DAY_MS)
        & (cases["t"] <= now_ms)
    ].sort_values(["t", "case_id"])
    if len(c) < rule.k:
        return []
    span = rule.days * DAY_MS
    out = []
    for g in seed_groups(c["lon"], c["lat"], c["t"], rule.radius_km, span, rule.k):
        rows = c.iloc[g]
        counties = sorted({int(x) for x in rows["county"]})
        cities = {x // 100 for x in counties}
        border = "city" if len(cities) > 1 else "county" if len(counties) > 1 else None
        if len(rows) < (rule.k if border else rule.k_one_county) or rows["t"].max() <= now_ms - span:
            continue
        centre = point(rows["lon"].mean(), rows["lat"].mean())
        # a border makes it worse (two jurisdictions, each seeing only its half); one county less so
        severity = len(rows) + {"city": 2, "county": 1, None: rule.k - rule.k_one_county}[border]
        out.append(
            Candidate(
                "case_cluster",
                f"case_cluster:{rows['case_id'].iloc[0]}",
                level_for(severity, rule.levels),
                region_of(counties, province),
                counties,
                centre,
                {
                    "cases": len(rows),
                    "border": border,
                    "kinds": sorted(set(rows["kind"])),
                    "span_days": round(float(rows["t"].max() - rows["t"].min()) / DAY_MS, 2),
                    "first_at": int(rows["t"].min()),
                    "last_at": int(rows["t"].max()),
                },
                {"cases": [str(x) for x in rows["case_id"]]},
            )
        )
    return out


def corridor_evidence(seen: pd.DataFrame, homes: Licences, src: int, top: int = 10) -> dict[str, list[str]]:
    """Evidence of a corridor surge A → B: far observations in B of licences registered in A.

    ``seen``: far observations made in B in the window (columns as for :func:`licence_misuse`);
    ``homes``: the registered place of those licences. Returns the scans' event ids and the ``top``
    licences with the most of them (the likely dealers).
    """
    mine = seen[seen["licence_no"].map(lambda n: n in homes and homes[n].county == int(src))]
    ranked = mine["licence_no"].value_counts()
    licences = sorted(ranked.index[:top], key=lambda n: (-ranked[n], n))
    return {"events": _ids(mine), "licences": [str(n) for n in licences]} if len(mine) else {}
