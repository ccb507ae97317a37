"""``inspection.completed``: county inspection units visiting licensed shops in working hours.

Each county has one unit (``<county>烟草专卖局稽查大队``) with one inspector per
:data:`LICENCES_PER_INSPECTOR` licences (at least two). A licence is due every :data:`PERIOD`
working days by its credit grade (A quarterly … D weekly; its phase in that cycle is fixed by the
seed), and any licence may also be picked at random (:data:`P_RANDOM` a working day). Each
inspector's visits of the day follow one another through the two working sessions, so nobody is in
two shops at once and no visit crosses the lunch break. Worse grades find issues more often.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from streams.sims import clock
from streams.sims.world import DailyPlans, Plan, World, concat, entry, event_id, take
from streams.simulator import GIVEN, SURNAMES

SOURCE = "inspection"
#: Working days between scheduled visits by grade A, B, C, D: quarterly, monthly, fortnightly, weekly.
PERIOD = np.array([65, 21, 10, 5])
#: Chance that a licence is also picked at random on a working day (≈ 8 % of all visits).
P_RANDOM = 0.005
#: Chance that a visit finds issues, by grade A, B, C, D.
ISSUE_RATE = np.array([0.03, 0.07, 0.15, 0.30])
#: (code, meaning, weight among findings).
ISSUES = [
    ("B01", "未在显著位置悬挂许可证", 0.20),
    ("B02", "经营地址与许可证登记不符", 0.06),
    ("B03", "销售假冒卷烟", 0.07),
    ("B04", "销售走私卷烟", 0.04),
    ("B05", "销售非本地供货渠道卷烟（异地烟）", 0.10),
    ("B06", "未设置不向未成年人售烟标识", 0.22),
    ("B07", "未明码标价或超价销售", 0.18),
    ("B08", "拆条拆包零售违规", 0.05),
    ("B09", "许可证信息变更未办理", 0.08),
]
ISSUE_COUNTS = ([1, 2, 3], [0.70, 0.22, 0.08])
LICENCES_PER_INSPECTOR = 1500
GPS_NOISE_M = 5.0
_MORNING = clock.SESSIONS[0][1] - clock.SESSIONS[0][0]


class Inspections(DailyPlans):
    """The inspection stream, one :class:`Plan` per day (cached)."""

    def __init__(
        self,
        world: World,
        inject: Callable[[dt.date], dict[str, np.ndarray]],
        silent: Callable[[dt.date], set[int]],
    ) -> None:
        self.w = world
        self.inject = inject
        self.silent = silent
        rng = world.rng(10)
        self.phase = rng.integers(0, 1 << 30, size=world.n)
        self.inspectors = np.maximum(2, np.round(world.count / LICENCES_PER_INSPECTOR)).astype(np.int64)
        self.names: list[list[str]] = []
        for pos, county in enumerate(world.codes):
            r = world.rng(11, county)
            k = int(self.inspectors[pos])
            s, g = r.integers(len(SURNAMES), size=k), r.integers(len(GIVEN), size=(k, 2))
            two = r.random(k) < 0.6
            given = [GIVEN[g[i, 0]] + (GIVEN[g[i, 1]] if two[i] else "") for i in range(k)]
            self.names.append([f"{SURNAMES[s[i]]}{given[i]}（{county}{i + 1:03d}）" for i in range(k)])
        self.units = [f"{world.names[int(c)]}烟草专卖局稽查大队" for c in world.codes]
        self._weights = np.array([w for *_, w in ISSUES])
        self._weights /= self._weights.sum()
        super().__init__()

    def _baseline(self, day: dt.date, rng: np.random.Generator) -> dict[str, np.ndarray]:
        w, lic = self.w, self.w.lic
        if not clock.is_workday(day) or w.n == 0:
            return {}
        wd = clock.workday_index(day)
        due = (wd + self.phase) % PERIOD[lic.grade] == 0
        rows = np.flatnonzero(due | (rng.random(w.n) < P_RANDOM))
        cpos = w.pos(lic.county[rows])
        quiet = np.isin(cpos, list(self.silent(day)))
        rows, cpos = rows[~quiet], cpos[~quiet]
        m = rows.size
        insp = np.floor(rng.random(m) * self.inspectors[cpos]).astype(np.int64)
        order = np.lexsort((rng.random(m), insp, cpos))
        rows, cpos, insp = rows[order], cpos[order], insp[order]
        group = cpos * 10_000 + insp
        first = np.r_[True, group[1:] != group[:-1]]
        start_of = np.maximum.accumulate(np.where(first, np.arange(m), 0))
        rank = np.arange(m) - start_of
        size = np.bincount(np.cumsum(first) - 1)[np.cumsum(first) - 1]
        slot = clock.WORK_SECONDS / size
        begin = slot * rank + rng.random(m) * 0.3 * slot
        dur = np.clip(slot * (0.4 + 0.2 * rng.random(m)), 180, 2400)
        end = np.minimum(begin + dur, clock.WORK_SECONDS - 1)
        end = np.where((begin < _MORNING) & (end >= _MORNING), _MORNING - 1, end)
        base = clock.midnight(day)
        lon, lat = w.jitter(lic.lon[rows], lic.lat[rows], GPS_NOISE_M, rng, lic.county[rows])
        cols = {
            "t0": base + clock.work_offsets(begin.astype(np.int64)),
            "t": base + clock.work_offsets(end.astype(np.int64)),
            "row": rows,
            "insp": insp,
            "lon": lon,
            "lat": lat,
        }
        cols = take(cols, np.argsort(cols["t"], kind="stable"))
        ymd = day.strftime("%Y%m%d")
        cols["key"] = np.array([f"JC{ymd}-{i:05d}" for i in range(m)], dtype=object)
        return cols

    def _plan(self, day: dt.date) -> Plan:
        w = self.w
        rng = w.rng(12, day.toordinal())
        extra = dict(self.inject(day))
        if extra:
            r2 = w.rng(13, day.toordinal())
            cpos = w.pos(w.lic.county[extra["row"]])
            extra["insp"] = np.floor(r2.random(cpos.size) * self.inspectors[cpos]).astype(np.int64)
        cols = concat([self._baseline(day, rng), extra])
        if not cols:
            return Plan.empty(SOURCE)
        cols = take(cols, np.argsort(cols["t"], kind="stable"))
        m = cols["t"].size
        grade = w.lic.grade[cols["row"]]
        issues = rng.random(m) < ISSUE_RATE[grade]
        ncodes = rng.choice(ISSUE_COUNTS[0], size=m, p=ISSUE_COUNTS[1])
        codes = rng.choice(len(ISSUES), size=(m, 3), p=self._weights)
        crs = w.lic.crs[cols["row"]]
        x, y = w.sent(cols["lon"], cols["lat"], crs)
        seed = w.seed

        def make(i: int) -> dict:
            row = int(cols["row"][i])
            pos = int(np.searchsorted(w.codes, w.lic.county[row]))
            found = sorted({ISSUES[c][0] for c in codes[i, : ncodes[i]]}) if issues[i] else []
            data = {
                "inspection_id": cols["key"][i],
                "licence_no": str(w.lic.number[row]),
                "inspector": self.names[pos][int(cols["insp"][i]) % len(self.names[pos])],
                "unit": self.units[pos],
                "point": w.point(x[i], y[i], crs[i]),
                "started_at": clock.iso(cols["t0"][i]),
                "finished_at": clock.iso(cols["t"][i]),
                "outcome": "issues_found" if found else "ok",
                "issue_codes": found,
            }
            key = cols["key"][i]
            return entry(event_id(SOURCE, seed, key), "inspection.completed", data["finished_at"], data)

        return Plan(SOURCE, cols["t"].astype(np.float64), make)
