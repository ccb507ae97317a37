"""Bulk import of a licence registry export: ``python -m streams.importer licences FILE``.

Reads a CSV (UTF-8 with or without BOM, UTF-16, else GB18030; comma or tab separated) or an Excel
workbook (.xlsx, first sheet) whose columns carry the Chinese headers of ``settings.importer.columns``.
Each row becomes a ``licence.issued`` envelope, validated with :func:`streams.schema.parse_entry` and
XADDed to ``wf:in:licence`` in pipelined batches; the consumer applies them like any other event.

- id: ``import-<sha1 of the row's normalised data>``: re-importing a file (renamed, re-sorted, or a
  later export still holding the row) is a no-op for every unchanged row; a changed row is new.
- occurred_at: ``valid_from`` at 00:00+08:00 (the licence was issued then), so a registry snapshot
  never overrides a later suspension or revocation that already arrived as a live event.
- rejected rows go to a CSV report (row as numbered in the file, header = its row, the Chinese
  column, the reason), default ``<FILE>.rejects.csv``; nothing is written for them to Redis.

Exit codes: 0 the file was read (even with rejects), 1 Redis failed, 2 missing file/columns or an
unreadable file. See docs/ingest.md.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import itertools
import datetime as dt
import hashlib
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import redis

from core import keys
from core.settings import Settings
from streams.schema import InvalidEvent, parse_entry

CST = dt.timezone(dt.timedelta(hours=8))
EVENT_TYPE = "licence.issued"
FIELDS = tuple(
    "licence_no holder shop_name address lon lat crs business_type credit_grade valid_from valid_to".split()
)
OPTIONAL = frozenset({"crs"})

#: Business types as registry exports write them (Chinese), plus the English codes themselves.
BUSINESS_TYPES = {
    "食杂店": "grocery",
    "食杂": "grocery",
    "便利店": "convenience",
    "超市": "supermarket",
    "商场": "supermarket",
    "烟酒商店": "tobacco_liquor",
    "烟酒店": "tobacco_liquor",
    "烟酒商行": "tobacco_liquor",
    "报刊亭": "kiosk",
    "其他": "other",
    "其它": "other",
    **{code: code for code in ("grocery", "convenience", "supermarket", "tobacco_liquor", "kiosk", "other")},
}
#: Credit grades: A–D, also written "A级"/"A类", full-width, or as the words of a 4-level scale.
CREDIT_WORDS = {"优秀": "A", "优": "A", "良好": "B", "良": "B", "中等": "C", "一般": "C", "中": "C", "较差": "D"}
CRS_NAMES = {
    "wgs84": "wgs84",
    "gps": "wgs84",
    "gcj02": "gcj02",
    "国测局": "gcj02",
    "火星坐标": "gcj02",
    "高德": "gcj02",
    "腾讯": "gcj02",
    "bd09": "bd09",
    "百度": "bd09",
}
EXCEL_EPOCH = dt.date(1899, 12, 30)


# -- cell values -> payload values ----------------------------------------------------------------


def text(value: Any) -> str | None:
    """A cell as text; None for an empty cell. Whole floats lose their ``.0`` (Excel numbers)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    out = str(value).strip()
    return out or None


def number(value: Any) -> float | str | None:
    """A coordinate: a float when it is one, else the text (so validation explains what is wrong)."""
    if isinstance(value, (int, float)):
        return float(value)
    raw = text(value)
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return raw


def day(value: Any) -> str | None:
    """A date as ISO text: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日 or an Excel date/serial."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)) and 1 <= value < 2_958_466:  # Excel serial day numbers
        return (EXCEL_EPOCH + dt.timedelta(days=int(value))).isoformat()
    raw = text(value)
    if raw is None:
        return None
    cleaned = raw.split(" ")[0].split("T")[0]  # "2024-01-01 00:00:00" from a spreadsheet round trip
    for sep in ("/", ".", "年", "月"):
        cleaned = cleaned.replace(sep, "-")
    cleaned = cleaned.rstrip("日")
    parts = cleaned.split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        try:
            return dt.date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
        except ValueError:
            pass
    return raw


def _fold(raw: str) -> str:
    """Full-width ASCII to half-width, lower case, no separators: "ＧＣＪ-02" -> "gcj02"."""
    half = "".join(chr(ord(c) - 0xFEE0) if "！" <= c <= "～" else c for c in raw)
    return half.lower().replace("-", "").replace("_", "").replace(" ", "")


def business_type(value: Any) -> str | None:
    """A business type code from its Chinese name or its code; unknown values are kept as given."""
    raw = text(value)
    if raw is None:
        return None
    return BUSINESS_TYPES.get(raw) or BUSINESS_TYPES.get(_fold(raw)) or raw


def credit_grade(value: Any) -> str | None:
    """A credit grade A–D from "A", "a", "Ａ", "A级", "A类" or 优秀/良好/中等/较差."""
    raw = text(value)
    if raw is None:
        return None
    folded = _fold(raw).removesuffix("级").removesuffix("类").upper()
    return folded if folded in ("A", "B", "C", "D") else CREDIT_WORDS.get(raw, raw)


def crs(value: Any, default: str) -> str:
    """A coordinate system code; an empty cell (or no column) means ``default``."""
    raw = text(value)
    if raw is None:
        return default
    folded = _fold(raw)
    for name, code in CRS_NAMES.items():
        if folded.startswith(name):
            return code
    return raw


def row_entry(values: dict[str, Any], default_crs: str, now: str) -> dict[str, str]:
    """The stream entry of one row (field -> cell value); empty cells are left out of ``data``."""
    data: dict[str, Any] = {
        "licence_no": text(values.get("licence_no")),
        "holder": text(values.get("holder")),
        "shop_name": text(values.get("shop_name")),
        "address": text(values.get("address")),
        "business_type": business_type(values.get("business_type")),
        "credit_grade": credit_grade(values.get("credit_grade")),
        "valid_from": day(values.get("valid_from")),
        "valid_to": day(values.get("valid_to")),
    }
    point = {
        "lon": number(values.get("lon")),
        "lat": number(values.get("lat")),
        "crs": crs(values.get("crs"), default_crs),
    }
    data = {k: v for k, v in data.items() if v is not None}  # missing -> "Field required"
    data["point"] = {k: v for k, v in point.items() if v is not None}
    body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    start = data.get("valid_from")
    valid_start = isinstance(start, str) and len(start) == 10 and start[4] == "-" and start[7] == "-"
    return {
        "id": "import-" + hashlib.sha1(body).hexdigest(),
        "type": EVENT_TYPE,
        "occurred_at": f"{start}T00:00:00+08:00" if valid_start else now,
        "data": body.decode(),
    }


# -- reading the file -----------------------------------------------------------------------------


class ImportFileError(Exception):
    """The file cannot be imported at all (missing, unreadable, columns missing); exit code 2."""


@dataclass
class Table:
    """Rows of a file: ``headers`` field -> Chinese header found, ``rows`` (row number, field -> value)."""

    headers: dict[str, str]
    rows: Iterator[tuple[int, dict[str, Any]]]
    total_rows: int | None


def decode(raw: bytes) -> str:
    """CSV bytes as text: UTF-8 (BOM or not), UTF-16 with BOM, else GB18030 (GBK/GB2312 exports)."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"not UTF-8 nor GB18030 text (byte {exc.start}); save it as CSV UTF-8") from None


def _csv_rows(path: Path) -> tuple[Iterator[list[Any]], int]:
    try:
        text_ = decode(path.read_bytes())
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not valid UTF-8 after its BOM (byte {exc.start})") from None
    head = text_[:4096]
    delimiter = "\t" if head.count("\t") > head.count(",") else ","
    return csv.reader(io.StringIO(text_, newline=""), delimiter=delimiter), text_.count("\n")


def _xlsx_rows(path: Path) -> tuple[Iterator[Any], int | None]:
    import openpyxl  # only needed for Excel files

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise ImportFileError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    sheet = book.worksheets[0]
    total = sheet.max_row
    sheet.reset_dimensions()  # some writers store a wrong sheet size; read every cell present
    return sheet.iter_rows(values_only=True), total


def _header_key(cell: Any) -> str:
    return str(cell).replace("\ufeff", "").replace("\u3000", " ").strip() if cell is not None else ""


def open_table(path: Path, columns: dict[str, str], required: list[str]) -> Table:
    """Open a CSV or .xlsx export and find its header row (the first of the first 10 rows that names
    the most configured columns; rows above it, e.g. a title, are skipped).

    Raises :class:`ImportFileError` naming the missing Chinese headers.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        rows, total = _xlsx_rows(path)
    elif suffix == ".xls":
        raise ImportFileError(f"{path}: old .xls workbooks are not read; save it as .xlsx or CSV UTF-8")
    else:
        rows, total = _csv_rows(path)
    head = list(itertools.islice(rows, 10))
    wanted = set(columns.values())
    named = [[_header_key(c) for c in row] for row in head]
    filled = [i for i, names in enumerate(named) if any(names)]
    if not filled:
        raise ImportFileError(f"{path}: no header row (the file is empty)")
    # the row naming the most configured columns, the earliest on a tie (or else the first non-empty)
    best = max(filled, key=lambda i: (len(wanted.intersection(named[i])), -i))
    names, header_row = named[best], best + 1
    rows = itertools.chain(head[best + 1 :], rows)
    position = {name: i for i, name in reversed(list(enumerate(names))) if name}  # first one wins
    missing = [columns[f] for f in required if columns[f] not in position]
    if missing:
        raise ImportFileError(
            f"{path}: missing column(s) {', '.join(missing)} (header row {header_row} has: "
            f"{', '.join(n for n in names if n) or 'nothing'}); see importer.columns in config.yaml"
        )
    index = {f: position[h] for f, h in columns.items() if h in position}

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, row in enumerate(rows, start=header_row + 1):
            if not any(c is not None and c != "" for c in row):
                continue  # blank line: neither imported nor rejected
            size = len(row)
            yield number, {f: (row[i] if i < size else None) for f, i in index.items()}

    data_rows = None if total is None else max(total - header_row, 0)
    return Table({f: columns[f] for f in index}, records(), data_rows)


# -- progress and report --------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on ``stream``, redrawn at most every 0.2 s; silent when not a terminal."""

    def __init__(self, total: int | None, stream: IO[str], enabled: bool | None = None) -> None:
        self.total, self.stream, self.done = total, stream, 0
        self.enabled = stream.isatty() if enabled is None else enabled
        self.start = self.last = time.monotonic()

    def update(self, rows: int) -> None:
        """Count ``rows`` more rows; redraw when due."""
        self.done += rows
        now = time.monotonic()
        if self.enabled and now - self.last >= 0.2:
            self.last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self.start, 1e-9)
        if self.total:
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(share * 30)
            head = f"[{bar:<30}] {share:4.0%} {self.done:,}/{self.total:,}"
        else:
            head = f"{self.done:,}"
        self.stream.write(f"\r{head} rows  {rate:,.0f} rows/s ")
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()


def report_lines(row: int, reason: str, headers: dict[str, str]) -> Iterator[tuple[int, str, str]]:
    """One (row, Chinese column or "", reason) per problem in ``reason`` ("path: message; …")."""
    for part in reason.split("; "):
        path = part.split(":", 1)[0]
        field = path.rsplit(".", 1)[-1]
        message = part
        if field == "business_type":
            message += " (or 食杂店, 便利店, 超市, 烟酒商店, 报刊亭, 其他)"
        yield row, headers.get(field, ""), message


# -- the import -----------------------------------------------------------------------------------


@dataclass
class ImportResult:
    """What an import did: rows imported (XADDed, or valid in a dry run) and rejected, the report."""

    imported: int
    rejected: int
    report: Path
    seconds: float
    dry_run: bool = False

    def summary(self) -> str:
        """The closing line: ``imported N rows, rejected M (report: PATH)``."""
        verb = "dry run: would import" if self.dry_run else "imported"
        return f"{verb} {self.imported} rows, rejected {self.rejected} (report: {self.report})"


def default_report(path: Path) -> Path:
    """``licences.xlsx`` -> ``licences.xlsx.rejects.csv`` beside it."""
    return path.with_name(path.name + ".rejects.csv")


def import_licences(
    r: redis.Redis | None,
    settings: Settings,
    path: str | Path,
    *,
    report: str | Path | None = None,
    dry_run: bool = False,
    progress: IO[str] | None = None,
) -> ImportResult:
    """Import a registry export into ``wf:in:licence``; ``r`` may be None for a dry run.

    Raises :class:`ImportFileError` (missing file, unreadable file, missing columns) before anything
    is written. The report is always written (header only when nothing was rejected), so an old
    report never survives a clean re-run.
    """
    path = Path(path)
    columns = settings.importer.columns.model_dump()
    table = open_table(path, columns, required=[f for f in FIELDS if f not in OPTIONAL])
    report_path = Path(report) if report else default_report(path)
    if r is None and not dry_run:
        raise ValueError("a Redis client is needed unless dry_run")
    return _run(r, settings, table, report_path, dry_run, progress)


def _run(
    r: redis.Redis | None,
    settings: Settings,
    table: Table,
    report_path: Path,
    dry_run: bool,
    progress: IO[str] | None,
) -> ImportResult:
    started = time.monotonic()
    stream = keys.inbound("licence")
    default_crs = settings.importer.default_crs
    batch_size = settings.importer.batch_size
    now = dt.datetime.now(CST).isoformat(timespec="seconds")
    headers = {f: h for f, h in table.headers.items()}
    bar = Progress(table.total_rows, progress or sys.stderr)
    imported = rejected = 0
    batch: list[dict[str, str]] = []

    def flush() -> None:
        nonlocal imported
        if batch and not dry_run:
            pipe = r.pipeline(transaction=False)
            for fields in batch:
                pipe.xadd(stream, fields)
            pipe.execute()
        imported += len(batch)
        bar.update(len(batch))
        batch.clear()

    report_path.parent.mkdir(parents=True, exist_ok=True)
    # utf-8-sig: Excel on a Chinese Windows opens the report with its Chinese headers intact
    with open(report_path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "column", "reason"])
        try:
            for row_number, values in table.rows:
                fields = row_entry(values, default_crs, now)
                try:
                    parse_entry("licence", fields)
                except InvalidEvent as exc:
                    rejected += 1
                    bar.update(1)
                    writer.writerows(report_lines(row_number, exc.reason, headers))
                    continue
                batch.append(fields)
                if len(batch) >= batch_size:
                    flush()
            flush()
        finally:
            bar.close()
    return ImportResult(imported, rejected, report_path, time.monotonic() - started, dry_run)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m streams.importer licences FILE [--report CSV] [--dry-run]``."""
    from core.connection import RedisUnreachable, connect
    from core.settings import SettingsError, load_or_exit

    parser = argparse.ArgumentParser(prog="python -m streams.importer", description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=["licences"], help="what the file holds (a licence registry export)")
    parser.add_argument("file", type=Path, help="the export: .csv or .xlsx")
    parser.add_argument("--report", type=Path, help="CSV of rejected rows (default: FILE.rejects.csv)")
    parser.add_argument("--dry-run", action="store_true", help="validate and write the report; send nothing")
    args = parser.parse_args(argv)
    settings = load_or_exit()
    r = None
    try:
        if not args.dry_run:
            table_check = open_table  # fail on a bad file before waiting for Redis
            table_check(args.file, settings.importer.columns.model_dump(), [])
            r = connect(settings, wait=False)
        result = import_licences(r, settings, args.file, report=args.report, dry_run=args.dry_run)
    except ImportFileError as exc:
        print(f"watchfloor import: {exc}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"watchfloor import: bad configuration: {exc}", file=sys.stderr)
        return 2
    except (RedisUnreachable, redis.exceptions.RedisError) as exc:
        print(
            f"watchfloor import: Redis failed ({exc}); run the same import again: "
            "rows already sent have the same ids and are not applied twice",
            file=sys.stderr,
        )
        return 1
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
