"""Bulk import of registry exports (CSV, GB18030, .xlsx) into wf:in:licence, on a real redis-server."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import orjson
import pytest

from core import keys
from core.settings import ROOT
from streams.importer import Progress, credit_grade, crs, day, import_licences
from streams.schema import parse_entry

HEADER = [
    "许可证号",
    "负责人",
    "企业名称",
    "经营地址",
    "经度",
    "纬度",
    "经营业态",
    "信用等级",
    "有效期起",
    "有效期止",
]


def row(no: str, kind: str = "便利店", lat: object = 32.0507, **over: object) -> list[object]:
    """A registry row; override a column by its field name."""
    values = {
        "no": no,
        "holder": "王建国",
        "shop": "王记<便利店>",
        "address": "玄武区中山路1号",
        "lon": 118.7918,
        "lat": lat,
        "kind": kind,
        "grade": "A级",
        "start": "2024/01/01",
        "end": "2029-01-01",
    }
    values.update(over)
    return list(values.values())


GOOD = [
    row("320102000001", "食杂店"),
    row("320102000002", "烟酒店", grade="b"),
    row("320102000003", "超市", start="2024-03-05", end="2028/03/04"),
]
BAD = [
    row("320102000004", lat=99),  # data.point.lat out of range
    row("32010200", "奶茶店"),  # two problems: licence number and business type
    row("320102000006", start="2024-01-01", end="2023-12-31"),  # valid_to before valid_from
]


def write_csv(path: Path, rows: list[list[object]], header=HEADER, encoding="utf-8-sig") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def stream(r) -> list[dict[str, str]]:
    return [{k.decode(): v.decode() for k, v in f.items()} for _, f in r.xrange(keys.inbound("licence"))]


def read_report(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_csv_with_chinese_headers_and_business_types(redis_client, settings, tmp_path):
    path = write_csv(tmp_path / "许可证导出.csv", [GOOD[0], BAD[0], GOOD[1], BAD[1], GOOD[2], BAD[2]])
    result = import_licences(redis_client, settings, path, progress=io.StringIO())
    assert (result.imported, result.rejected) == (3, 3)
    assert (
        result.summary() == f"imported 3 rows, rejected 3 (report: {tmp_path / '许可证导出.csv.rejects.csv'})"
    )
    entries = stream(redis_client)
    for fields in entries:
        parse_entry("licence", fields)  # the consumer will accept them
    data = [orjson.loads(e["data"]) for e in entries]
    assert [d["business_type"] for d in data] == ["grocery", "tobacco_liquor", "supermarket"]
    assert [d["credit_grade"] for d in data] == ["A", "B", "A"]
    assert data[0]["point"] == {"lon": 118.7918, "lat": 32.0507, "crs": "gcj02"}  # no crs column: default
    assert data[0]["shop_name"] == "王记<便利店>" and data[2]["valid_to"] == "2028-03-04"
    assert [e["occurred_at"] for e in entries][::2] == [
        "2024-01-01T00:00:00+08:00",
        "2024-03-05T00:00:00+08:00",
    ]
    assert all(e["id"].startswith("import-") and e["type"] == "licence.issued" for e in entries)

    report = read_report(result.report)
    # header = row 1, so the n-th data row is row n + 1
    assert [(r["row"], r["column"]) for r in report] == [
        ("3", "纬度"),
        ("5", "许可证号"),
        ("5", "经营业态"),
        ("7", "有效期止"),
    ]
    assert report[0]["reason"].startswith("data.point.lat: Input should be less than or equal to 54")
    assert "食杂店" in report[2]["reason"] and report[3]["reason"].startswith("data.valid_to: ")


def test_xlsx_with_excel_dates_numbers_blank_rows_and_a_title(redis_client, settings, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["江苏省烟草专卖局 零售许可证台账 2026-11-21"])  # a title above the header
    sheet.append([*HEADER, "坐标系"])
    sheet.append(
        row(320102000011, "便利店", start=dt.datetime(2024, 1, 1), end=dt.date(2029, 1, 1)) + ["WGS-84"]
    )
    sheet.append([])  # a blank row: skipped, and the numbering stays as Excel shows it
    sheet.append(row("320102000012", "报刊亭", lat="north", start=45292, end="2029年1月1日") + ["百度"])
    sheet.append(row("320102000013", "其他", grade="良好", start="2024.01.01") + [None])
    path = tmp_path / "licences.xlsx"
    book.save(path)

    result = import_licences(redis_client, settings, path, report=tmp_path / "out" / "rejects.csv")
    assert (result.imported, result.rejected) == (2, 1)
    data = [orjson.loads(e["data"]) for e in stream(redis_client)]
    assert data[0]["licence_no"] == "320102000011" and data[0]["valid_from"] == "2024-01-01"
    assert data[0]["point"]["crs"] == "wgs84" and data[1]["point"]["crs"] == "gcj02"
    assert (data[1]["business_type"], data[1]["credit_grade"]) == ("other", "B")
    report = read_report(tmp_path / "out" / "rejects.csv")
    assert [(r["row"], r["column"]) for r in report] == [("5", "纬度")]
    assert report[0]["reason"].startswith("data.point.lat: Input should be a valid number")


def test_a_gb18030_file_with_tabs(redis_client, settings, tmp_path):
    path = tmp_path / "gbk.txt"
    with open(path, "w", encoding="gb18030", newline="") as f:
        csv.writer(f, delimiter="\t").writerows([HEADER, GOOD[0], GOOD[1]])
    assert "食杂店".encode("gb18030") in path.read_bytes()
    result = import_licences(redis_client, settings, path)
    assert (result.imported, result.rejected) == (2, 0)
    assert orjson.loads(stream(redis_client)[0]["data"])["holder"] == "王建国"
    assert read_report(result.report) == []  # always written, just the header when nothing was rejected


def test_reimporting_the_same_rows_gives_the_same_ids(redis_client, settings, tmp_path):
    first = write_csv(tmp_path / "a.csv", GOOD)
    import_licences(redis_client, settings, first)
    ids = [e["id"] for e in stream(redis_client)]
    # the same export again, renamed, re-sorted and in GB18030: the same events
    again = write_csv(tmp_path / "b.csv", list(reversed(GOOD)), encoding="gb18030")
    import_licences(redis_client, settings, again)
    assert [e["id"] for e in stream(redis_client)] == ids + list(reversed(ids))
    assert len(set(ids)) == 3
    # a changed row is a new event
    write_csv(first, [row("320102000001", "食杂店", holder="李四")])
    import_licences(redis_client, settings, first)
    assert stream(redis_client)[-1]["id"] not in ids


def test_dry_run_sends_nothing(redis_client, settings, tmp_path):
    path = write_csv(tmp_path / "a.csv", GOOD + BAD)
    result = import_licences(None, settings, path, dry_run=True)
    assert (result.imported, result.rejected) == (3, 3) and result.summary().startswith(
        "dry run: would import 3"
    )
    assert redis_client.exists(keys.inbound("licence")) == 0


def run_cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHFLOOR_")}
    env["WATCHFLOOR_REDIS_URL"] = settings.redis.url
    return subprocess.run(
        [sys.executable, "-m", "streams.importer", "licences", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_imports_and_prints_the_summary(redis_client, settings, tmp_path):
    path = write_csv(tmp_path / "a.csv", GOOD + BAD)
    done = run_cli(settings, str(path), "--report", str(tmp_path / "r.csv"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"imported 3 rows, rejected 3 (report: {tmp_path / 'r.csv'})"
    assert redis_client.xlen(keys.inbound("licence")) == 3


def test_cli_missing_columns_and_missing_file_exit_2(redis_client, settings, tmp_path):
    header = [h for h in HEADER if h not in ("纬度", "有效期止")]
    path = write_csv(tmp_path / "a.csv", [], header=header)
    done = run_cli(settings, str(path))
    assert done.returncode == 2
    assert "missing column(s) 纬度, 有效期止" in done.stderr
    assert redis_client.exists(keys.inbound("licence")) == 0
    done = run_cli(settings, str(tmp_path / "nope.csv"))
    assert done.returncode == 2 and "no such file" in done.stderr
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert run_cli(settings, str(empty)).returncode == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-02", "2024-01-02"),
        ("2024/1/2", "2024-01-02"),
        ("2024年1月2日", "2024-01-02"),
        ("2024-01-02 00:00:00", "2024-01-02"),
        (45293, "2024-01-02"),
        (dt.datetime(2024, 1, 2, 8), "2024-01-02"),
        ("2024-02-30", "2024-02-30"),  # left as given: validation names it
        (None, None),
    ],
)
def test_dates(value, expected):
    assert day(value) == expected


def test_grades_and_coordinate_systems():
    assert [credit_grade(v) for v in ("A", "b", "Ｃ", "D级", "优秀", "E")] == ["A", "B", "C", "D", "A", "E"]
    assert [crs(v, "gcj02") for v in ("WGS-84", "GCJ02", "bd09ll", "百度坐标", None, "utm")] == [
        "wgs84",
        "gcj02",
        "bd09",
        "bd09",
        "gcj02",
        "utm",
    ]


def test_progress_bar_draws_on_a_terminal_only():
    out = io.StringIO()
    bar = Progress(200, out, enabled=True)
    bar.update(50)
    bar.close()
    assert out.getvalue().startswith("\r[#######") and " 25% 50/200 rows" in out.getvalue()
    assert out.getvalue().endswith("\n")
    quiet = io.StringIO()
    Progress(200, quiet).close()  # a StringIO is no terminal
    assert quiet.getvalue() == ""
