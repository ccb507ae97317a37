"""Rows per second of the registry importer: a generated export of 250,000 licences into a private Redis.

    python -m bench.importer [--rows 250000] [--xlsx-rows 20000] [--bad 0.01]

Writes a CSV (UTF-8 with BOM, the Chinese headers of ``importer.columns``, Chinese business types and
grades, ~1 % broken rows) into a temporary folder, starts an :class:`~core.redis_server.EmbeddedRedis`
there and times ``import_licences`` end to end: read, decode, map, validate, XADD in pipelined batches,
write the report. Then the same for a smaller .xlsx (openpyxl reading is the slow part there).
Goal (issue 3): 250,000 rows in under a minute on the 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import keys  # noqa: E402
from core.redis_server import EmbeddedRedis  # noqa: E402
from core.settings import load_settings  # noqa: E402
from streams.importer import import_licences  # noqa: E402

KINDS = ["食杂店", "便利店", "超市", "烟酒商店", "报刊亭", "其他", "grocery"]
GRADES = ["A", "B级", "C", "D", "优秀", "良好"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"


def rows(n: int, bad: float, seed: int = 3) -> list[list[object]]:
    """``n`` registry rows around Nanjing; a share ``bad`` of them broken in one of four ways."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        year = rng.randint(2022, 2026)
        row: list[object] = [
            f"3201{rng.randint(2, 18):02d}{i:06d}",
            rng.choice(SURNAMES) + rng.choice("建国明华伟芳敏静"),
            f"{rng.choice(SURNAMES)}记{rng.choice(KINDS)}",
            f"玄武区中山路{rng.randint(1, 999)}号",
            round(118.5 + rng.random() * 0.6, 6),
            round(31.8 + rng.random() * 0.5, 6),
            rng.choice(["GCJ-02", "WGS84", "百度", ""]),
            rng.choice(KINDS),
            rng.choice(GRADES),
            f"{year}/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}",
            f"{year + 5}-01-01",
        ]
        if rng.random() < bad:
            column, value = rng.choice([(5, 99.0), (0, "3201"), (7, "奶茶店"), (10, "not a date")])
            row[column] = value
        out.append(row)
    return out


def write_csv(path: Path, header: list[str], data: list[list[object]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(data)


def write_xlsx(path: Path, header: list[str], data: list[list[object]]) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(header)
    for row in data:
        sheet.append(row)
    book.save(path)


def run(server: EmbeddedRedis, folder: Path, path: Path, n: int) -> None:
    r = server.client()
    r.flushall()
    settings = load_settings(environ={"WATCHFLOOR_REDIS_URL": server.url})
    started = time.perf_counter()
    result = import_licences(r, settings, path, report=folder / "rejects.csv", progress=sys.stderr)
    seconds = time.perf_counter() - started
    assert r.xlen(keys.inbound("licence")) == result.imported
    size = path.stat().st_size / 1e6
    print(
        f"{path.suffix[1:]:>4}: {n:,} rows ({size:.1f} MB) in {seconds:.1f} s = {n / seconds:,.0f} rows/s; "
        f"imported {result.imported:,}, rejected {result.rejected:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--xlsx-rows", type=int, default=20_000)
    parser.add_argument("--bad", type=float, default=0.01, help="share of broken rows")
    args = parser.parse_args()
    columns = load_settings(environ={}).importer.columns.model_dump()
    header = list(columns.values())
    with tempfile.TemporaryDirectory(prefix="wf-bench-import-") as tmp:
        folder = Path(tmp)
        with EmbeddedRedis("redis-server", folder / "redis") as server:
            data = rows(args.rows, args.bad)
            path = folder / "licences.csv"
            write_csv(path, header, data)
            run(server, folder, path, args.rows)
            if args.xlsx_rows:
                path = folder / "licences.xlsx"
                write_xlsx(path, header, data[: args.xlsx_rows])
                run(server, folder, path, args.xlsx_rows)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
