"""The scenario of tests/integration/test_indicator_jobs.py: events of all five sources and two
warnings at now = 2026-11-21 15:00 Beijing time, and the indicators they must give, worked out by hand.

Day T = 20261121, Y = 20261120. Licences: 320102000001 (玄武, today), 320102000002 (玄武, 11-10,
suspended Y), 320104000001 (秦淮, today), 320281000001 (江阴, 10-01). Inspections: two of the first
today (ok, issues), the 江阴 one on 11-11, the suspended one on 11-19. Cases: counterfeit 12,000 CNY
at 玄武 today, smuggled 500.4 CNY at 秦淮 on Y. Scans today: two local at 玄武, one delivered to 江阴
scanned at 玄武, one delivered to 合肥 (340100) scanned at 江阴. Complaints: 玄武 today (by address),
江阴 on 11-11. Warnings: one raised at 玄武 2 h ago; one for 江阴 (region 无锡) due 1 h ago, replied
2 h ago (within SLA).
"""

from __future__ import annotations

import datetime as dt

import orjson

from core import keys
from indicators import jobs
from indicators.compute import CST
from tests.events import case_data, complaint_data, entry, inspection_data, issued_data, scan_data

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=CST)
N = int(NOW.timestamp() * 1000)
H, D = 3_600_000, 86_400_000
XW, QH, JY = (118.797757, 32.048498), (118.79476, 32.039113), (120.286129, 31.921345)  # county seats, GCJ-02
P, NJ, WX = 320000, 320100, 320200


def at(x: tuple[float, float]) -> dict:
    return {"lon": x[0], "lat": x[1], "crs": "gcj02"}


def add(r, kind: str, data: dict, when: str) -> None:
    """XADD one event of type ``kind`` to its source's stream."""
    r.xadd(keys.inbound(kind.split(".")[0]), entry(kind, data, occurred_at=when))


def feed(r) -> None:
    """The scenario's events (day T = 20261121, Y = 20261120) into the five inbound streams."""
    lic = [
        ("320102000001", XW, "2026-11-21T09:00:00+08:00"),
        ("320102000002", XW, "2026-11-10T09:00:00+08:00"),
        ("320104000001", QH, "2026-11-21T08:00:00+08:00"),
        ("320281000001", JY, "2026-10-01T09:00:00+08:00"),
    ]
    for no, where, when in lic:
        data = issued_data(no, where[0], where[1], "gcj02")
        add(r, "licence.issued", data, when)
    add(r, "licence.suspended", {"licence_no": "320102000002", "reason": "违规"}, "2026-11-20T10:00:00+08:00")
    for iid, no, outcome, where, finished in [
        ("i1", "320102000001", "ok", XW, "2026-11-21T10:30:00+08:00"),
        ("i2", "320102000001", "issues_found", XW, "2026-11-21T11:00:00+08:00"),
        ("i3", "320281000001", "ok", JY, "2026-11-11T10:30:00+08:00"),
        ("i4", "320102000002", "ok", XW, "2026-11-19T10:30:00+08:00"),
    ]:
        data = inspection_data(iid, no, outcome, finished, point=at(where), started_at=finished)
        add(r, "inspection.completed", data, finished)
    k1 = case_data("k1", kind="counterfeit", value_cny=12000.0, point=at(XW))
    add(r, "case.opened", k1, "2026-11-21T12:00:00+08:00")
    k2 = case_data("k2", kind="smuggled", value_cny=500.4, point=at(QH), licence_no=None)
    add(r, "case.opened", k2, "2026-11-20T12:00:00+08:00")
    at13 = "2026-11-21T13:00:00+08:00"
    for carton, delivered, where in [
        ("A", 320102, XW),
        ("B", 320102, XW),
        ("C", 320281, XW),
        ("D", 340100, JY),
    ]:
        add(r, "scan.recorded", scan_data(carton * 32, delivered, point=at(where), scanned_at=at13), at13)
    for cid, category, where, when in [
        ("c1", "counterfeit", None, "2026-11-21T14:00:00+08:00"),
        ("c2", "price", JY, "2026-11-11T14:00:00+08:00"),
    ]:
        data = complaint_data(cid, category=category, **({"point": at(where)} if where else {}))
        add(r, "complaint.received", data, when)
    warnings = {
        "w1": {"state": "raised", "region": 320102, "regions": [320102], "raised_at": N - 2 * H,
               "due_at": None, "replied_at": None},
        "w2": {"state": "dispatched", "region": 320200, "regions": [320281], "raised_at": N - 3 * D,
               "due_at": N - H, "replied_at": N - 2 * H},
    }  # fmt: skip
    r.hset(keys.WARNINGS, mapping={k: orjson.dumps(v) for k, v in warnings.items()})


FIELDS = ("active", "issued", "cancelled", "inspections", "inspected_licences", "cases", "case_value_cny",
          "flows_in", "flows_out", "complaints", "warnings_open", "sla_due")  # fmt: skip
# The oracle, by hand: window → region → the FIELDS above.
ORACLE = {
    1: {P: (3, 2, 0, 2, 1, 1, 12000, 1, 0, 1, 2, 1), NJ: (2, 2, 0, 2, 1, 1, 12000, 1, 0, 1, 1, 0),
        WX: (1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1), 320102: (1, 1, 0, 2, 1, 1, 12000, 1, 0, 1, 1, 0),
        320104: (1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 320281: (1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1)},
    7: {P: (3, 2, 1, 3, 1, 2, 12500, 1, 0, 1, 2, 1), NJ: (2, 2, 1, 3, 1, 2, 12500, 1, 0, 1, 1, 0),
        WX: (1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1), 320102: (1, 1, 1, 3, 1, 1, 12000, 1, 0, 1, 1, 0),
        320104: (1, 1, 0, 0, 0, 1, 500, 0, 0, 0, 0, 0), 320281: (1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1)},
    30: {P: (3, 3, 1, 4, 2, 2, 12500, 1, 0, 2, 2, 1), NJ: (2, 3, 1, 3, 1, 2, 12500, 1, 0, 1, 1, 0),
         WX: (1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1), 320102: (1, 2, 1, 3, 1, 1, 12000, 1, 0, 1, 1, 0),
         320104: (1, 1, 0, 0, 0, 1, 500, 0, 0, 0, 0, 0), 320281: (1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1)},
    90: {P: (3, 4, 1, 4, 2, 2, 12500, 1, 0, 2, 2, 1), NJ: (2, 3, 1, 3, 1, 2, 12500, 1, 0, 1, 1, 0),
         WX: (1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1), 320102: (1, 2, 1, 3, 1, 1, 12000, 1, 0, 1, 1, 0),
         320104: (1, 1, 0, 0, 0, 1, 500, 0, 0, 0, 0, 0), 320281: (1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1)},
}  # fmt: skip


def check_oracle(r) -> None:
    for window, regions in ORACLE.items():
        _, stored = jobs.read_indicators(r, window, list(regions))
        for region, expected in regions.items():
            got = tuple(stored[region][f] for f in FIELDS)
            assert got == expected, (window, region, dict(zip(FIELDS, got, strict=True)))
    _, today = jobs.read_indicators(r, 1)
    assert today[320102]["violation_rate"] == 0.5 and today[320104]["violation_rate"] is None
    assert (today[NJ]["coverage"], today[P]["coverage"], today[320281]["coverage"]) == (0.5, 0.3333, 0.0)
    assert today[320281]["corridors_out"] == [{"from": 320281, "to": 320102, "cartons": 1}]
    assert today[P]["corridors_in"] == [{"from": 340100, "to": 320281, "cartons": 1}]
    assert (today[WX]["sla_rate"], today[320102]["sla_rate"]) == (1.0, None)
