"""Bulk import of a licence registry export: ``python -m streams.importer licences FILE``.

Reads a CSV (UTF-8 with or without BOM, UTF-16 with BOM, else GB18030; comma or tab separated) or an
Excel workbook (.xlsx, first sheet) whose headers are ``settings.importer.columns``. Each row becomes a
``licence.issued`` envelope, validated with :func:`streams.schema.parse_entry` and XADDed to
``wf:in:licence`` in pipelined batches; the consumer applies them like any other event.

- id ``import-<sha1 of the row's normalised data>``: re-importing a file (renamed, re-sorted, or a later
  export still holding the row) is a no-op for every unchanged row; a changed row is a new event.
- occurred_at = ``valid_from`` at 00:00+08:00 (when the licence was issued), so a registry snapshot
  never overrides a later suspension or revocation that already arrived as a live event.
- rejected rows go to a CSV report (row as numbered in the file, the header being its row; the
  Chinese column; the reason), by default ``<FILE>.rejects.csv``; nothing of them reaches Redis.

Exit codes: 0 the file was read (even with rejects), 1 Redis failed, 2 missing file or columns, or an
unreadable file. See docs/ingest.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import redis

from core import keys
from core.settings import Settings
from streams.registry_file import ImportFileError, Table, open_table
from streams.schema import InvalidEvent, parse_entry

CST = dt.timezone(dt.timedelta(hours=8))
FIELDS = "licence_no holder shop_name address lon lat crs business_type credit_grade valid_from valid_to"
REQUIRED = [f for f in FIELDS.split() if f != "crs"]  # no crs column: importer.default_crs


def _names(table: dict[str, str]) -> dict[str, str]:
    return {name: code for code, names in table.items() for name in names.split()}


#: Business types as registry exports write them (Chinese), and the codes themselves.
BUSINESS_TYPES = _names(
    {
        "grocery": "grocery 食杂店 食杂",
        "convenience": "convenience 便利店",
        "supermarket": "supermarket 超市 商场",
        "tobacco_liquor": "tobacco_liquor 烟酒商店 烟酒店 烟酒商行",
        "kiosk": "kiosk 报刊亭",
        "other": "other 其他 其它",
    }
)
#: Credit grades given as words of a four-level scale (letters: A, a, Ａ, A级, A类).
CREDIT_WORDS = _names({"A": "优秀 优", "B": "良好 良", "C": "中等 一般 中", "D": "较差 差"})
#: Coordinate systems by the start of their (folded) name.
CRS_NAMES = _names({"wgs84": "wgs84 gps", "gcj02": "gcj02 国测局 火星 高德 腾讯", "bd09": "bd09 百度"})
EXCEL_EPOCH = dt.date(1899, 12, 30)


# -- cell values -> payload values ---------------------------------------------------------------


def text(value: Any) -> str | None:
    """A cell as text; None when empty. Whole floats lose their ``.0`` (numbers from Excel)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def number(value: Any) -> float | str | None:
    """A coordinate: a float when it is one, else the text (so validation says what is wrong)."""
    if isinstance(value, (int, float)):
        return float(value)
    raw = text(value)
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return raw


def day(value: Any) -> str | None:
    """A date as ISO text from YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日 or an Excel date/serial."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)) and 1 <= value < 2_958_466:  # an Excel serial day number
        return (EXCEL_EPOCH + dt.timedelta(days=int(value))).isoformat()
    raw = text(value)
    if raw is None:
        return None
    cleaned = raw.split(" ")[0].split("T")[0]  # "2024-01-01 00:00:00" after a spreadsheet round trip
    for sep in "/.年月":
        cleaned = cleaned.replace(sep, "-")
    parts = cleaned.rstrip("日").split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        try:
            return dt.date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
        except ValueError:
            pass
    return raw  # validation names the field and what is wrong


def fold(raw: str) -> str:
    """Full-width ASCII to half-width, lower case, no separators: "ＧＣＪ-02" -> "gcj02"."""
    half = "".join(chr(ord(c) - 0xFEE0) if "！" <= c <= "～" else c for c in raw)
    return half.lower().replace("-", "").replace("_", "").replace(" ", "")


def business_type(value: Any) -> str | None:
    """The business type code of a Chinese name or a code; anything else is kept as given."""
    raw = text(value)
    return None if raw is None else BUSINESS_TYPES.get(raw) or BUSINESS_TYPES.get(fold(raw)) or raw


def credit_grade(value: Any) -> str | None:
    """A credit grade A–D from "A", "a", "Ａ", "A级", "A类" or 优秀/良好/中等/较差."""
    raw = text(value)
    if raw is None:
        return None
    letter = fold(raw).removesuffix("级").removesuffix("类").upper()
    return letter if letter in ("A", "B", "C", "D") else CREDIT_WORDS.get(raw, raw)


def crs(value: Any, default: str) -> str:
    """A coordinate system code; an empty cell (or no such column) means ``default``."""
    raw = text(value)
    if raw is None:
        return default
    folded = fold(raw)
    return next((code for name, code in CRS_NAMES.items() if folded.startswith(name)), raw)


def row_entry(values: dict[str, Any], default_crs: str, now: str) -> dict[str, str]:
    """The stream entry of one row (field -> cell); empty cells are left out ("Field required")."""
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
    point = {"lon": number(values.get("lon")), "lat": number(values.get("lat"))}
    data = {k: v for k, v in data.items() if v is not None}
    data["point"] = {k: v for k, v in point.items() if v is not None} | {
        "crs": crs(values.get("crs"), default_crs)
    }
    body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    try:
        occurred = dt.date.fromisoformat(data.get("valid_from", "")).isoformat() + "T00:00:00+08:00"
    except ValueError:
        occurred = now  # the row is rejected for its valid_from anyway; keep that the reason
    return {
        "id": "import-" + hashlib.sha1(body).hexdigest(),
        "type": "licence.issued",
        "occurred_at": occurred,
        "data": body.decode(),
    }


# -- reading the file ----------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on ``stream``, redrawn at most every 0.2 s; silent when not a terminal."""

    def __init__(self, total: int | None, stream: IO[str], enabled: bool | None = None) -> None:
        self.total, self.stream, self.done = total, stream, 0
        self.enabled = stream.isatty() if enabled is None else enabled
        self.start = self.last = time.monotonic()

    def update(self, rows: int) -> None:
        """Count ``rows`` more rows and redraw when due."""
        self.done += rows
        if self.enabled and time.monotonic() - self.last >= 0.2:
            self.draw()

    def draw(self) -> None:
        """Draw the bar now."""
        self.last = time.monotonic()
        rate = self.done / max(self.last - self.start, 1e-9)
        line = f"{self.done:,} rows"
        if self.total:
            share = min(self.done / self.total, 1.0)
            line = f"[{'#' * int(share * 30):<30}] {share:4.0%} {self.done:,}/{self.total:,} rows"
        self.stream.write(f"\r{line}  {rate:,.0f} rows/s ")
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled:
            self.draw()
            self.stream.write("\n")


def report_lines(row: int, reason: str, headers: dict[str, str]) -> Iterator[tuple[int, str, str]]:
    """One (row, Chinese column or "", reason) per problem of ``reason`` ("path: message; …")."""
    for part in reason.split("; "):
        field = part.split(":", 1)[0].rsplit(".", 1)[-1]  # data.point.lat -> lat
        hint = " (or 食杂店, 便利店, 超市, 烟酒商店, 报刊亭, 其他)" if field == "business_type" else ""
        yield row, headers.get(field, ""), part + hint


# -- the import ----------------------------------------------------------------------------------


@dataclass
class ImportResult:
    """What an import did: rows imported (XADDed, or found valid in a dry run), rejected, the report."""

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
    """``exports/licences.xlsx`` -> ``exports/licences.xlsx.rejects.csv``."""
    return path.with_name(path.name + ".rejects.csv")


def licence_table(settings: Settings, path: str | Path) -> Table:
    """Open a licence registry export with the configured headers (raises :class:`ImportFileError`)."""
    return open_table(path, settings.importer.columns.model_dump(), REQUIRED)


def import_licences(
    connect: Callable[[], redis.Redis] | redis.Redis | None,
    settings: Settings,
    path: str | Path,
    *,
    report: str | Path | None = None,
    dry_run: bool = False,
    progress: IO[str] | None = None,
) -> ImportResult:
    """Import a registry export into ``wf:in:licence``.

    ``connect`` is a client, or a function returning one (called only once the file has been found
    readable, so a bad file fails fast); unused in a dry run. The report is always written (only its
    header when nothing was rejected) so an old report never survives a clean re-run.
    """
    table = licence_table(settings, path)
    r = None if dry_run else connect() if callable(connect) else connect
    report_path = Path(report) if report else default_report(Path(path))
    started = time.monotonic()
    stream, batch_size = keys.inbound("licence"), settings.importer.batch_size
    default_crs = settings.importer.default_crs
    now = dt.datetime.now(CST).isoformat(timespec="seconds")
    bar = Progress(table.total_rows, progress or sys.stderr)
    imported = rejected = 0
    batch: list[dict[str, str]] = []

    def flush() -> None:
        nonlocal imported
        if batch and r is not None:
            pipe = r.pipeline(transaction=False)
            for fields in batch:
                pipe.xadd(stream, fields)
            pipe.execute()
        imported += len(batch)
        bar.update(len(batch))
        batch.clear()

    report_path.parent.mkdir(parents=True, exist_ok=True)
    # utf-8-sig: Excel on a Chinese Windows opens the report with its Chinese text intact
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
                    writer.writerows(report_lines(row_number, exc.reason, table.headers))
                    continue
                batch.append(fields)
                if len(batch) >= batch_size:
                    flush()
            flush()
        finally:
            bar.close()
    return ImportResult(imported, rejected, report_path, time.monotonic() - started, dry_run)


def main(argv: list[str] | None = None) -> int:
    """``python -m streams.importer licences FILE [--report REJECTS.csv] [--dry-run]``; the exit code."""
    from core.connection import RedisUnreachable, connect
    from core.settings import SettingsError, load_or_exit

    parser = argparse.ArgumentParser(prog="python -m streams.importer", description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=["licences"], help="what the file holds: a licence registry export")
    parser.add_argument("file", type=Path, help="the export, .csv or .xlsx")
    parser.add_argument("--report", type=Path, help="CSV of the rejected rows (default: FILE.rejects.csv)")
    parser.add_argument("--dry-run", action="store_true", help="validate and write the report; send nothing")
    args = parser.parse_args(argv)
    settings = load_or_exit()
    try:
        result = import_licences(
            lambda: connect(settings, wait=False),
            settings,
            args.file,
            report=args.report,
            dry_run=args.dry_run,
        )
    except (RedisUnreachable, redis.exceptions.RedisError) as exc:  # before OSError: one of its kinds
        print(
            f"watchfloor import: Redis failed ({exc}); run the same import again: "
            "rows already sent keep their ids and are not applied twice",
            file=sys.stderr,
        )
        return 1
    except (ImportFileError, SettingsError, OSError) as exc:  # OSError: e.g. the report's folder is read-only
        print(f"watchfloor import: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
