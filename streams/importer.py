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
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import redis

from core import keys
from core.settings import Settings
from streams.registry_file import ImportFileError, Table, open_table
from streams.registry_rows import REQUIRED, credit_grade, crs, day, row_entry

__all__ = ["Progress", "credit_grade", "crs", "day", "import_licences", "main", "row_entry"]
from streams.schema import InvalidEvent, parse_entry

CST = dt.timezone(dt.timedelta(hours=8))


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
