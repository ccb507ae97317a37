"""Reading a registry export: CSV (UTF-8, UTF-16, GB18030; comma or tab) or Excel, headers found by name.

Used by :mod:`streams.importer`; kept apart so that the import logic reads in one screen.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ImportFileError(Exception):
    """The file cannot be imported at all (missing, unreadable, columns missing): exit code 2."""


@dataclass
class Table:
    """A file's rows: ``headers`` field -> header found, ``rows`` (row number, field -> cell)."""

    headers: dict[str, str]
    rows: Iterator[tuple[int, dict[str, Any]]]
    total_rows: int | None


def decode(raw: bytes) -> str:
    """CSV bytes as text: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 (GBK/GB2312 exports)."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :].decode("utf-8")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def _csv_rows(path: Path) -> tuple[Iterator[list[Any]], int]:
    try:
        content = decode(path.read_bytes())
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: neither UTF-8 nor GB18030 text (byte {exc.start})") from None
    head = content[:4096]
    delimiter = "\t" if head.count("\t") > head.count(",") else ","
    return csv.reader(io.StringIO(content, newline=""), delimiter=delimiter), content.count("\n")


def _xlsx_rows(path: Path) -> tuple[Iterator[tuple[Any, ...]], int | None]:
    import openpyxl  # only Excel files need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a damaged or foreign file raises many kinds
        raise ImportFileError(
            f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
        ) from None
    sheet = book.worksheets[0]
    total = sheet.max_row
    sheet.reset_dimensions()  # some writers store a wrong sheet size: read every cell present

    def rows() -> Iterator[tuple[Any, ...]]:
        try:
            yield from sheet.iter_rows(values_only=True)  # empty rows come as () so numbers stay right
        finally:
            book.close()

    return rows(), total


def _header(cell: Any) -> str:
    return "" if cell is None else str(cell).replace("\ufeff", "").replace("\u3000", " ").strip()


def open_table(path: str | Path, columns: dict[str, str], required: list[str]) -> Table:
    """Open a CSV or .xlsx export; its header is the one of the first 10 rows naming the most columns
    (rows above it, e.g. a title, are skipped). Raises :class:`ImportFileError` naming missing headers.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ImportFileError(f"{path}: old .xls workbooks are not read; save it as .xlsx or CSV UTF-8")
    rows, total = _xlsx_rows(path) if suffix in (".xlsx", ".xlsm") else _csv_rows(path)
    head = list(itertools.islice(rows, 10))
    named = [[_header(c) for c in row] for row in head]
    filled = [i for i, names in enumerate(named) if any(names)]
    if not filled:
        raise ImportFileError(f"{path}: no header row (the file is empty)")
    wanted = set(columns.values())
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
            if any(c is not None and c != "" for c in row):  # a blank line is neither imported nor rejected
                size = len(row)
                yield number, {f: (row[i] if i < size else None) for f, i in index.items()}

    remaining = None if total is None else max(total - header_row, 0)
    return Table({f: columns[f] for f in index}, records(), remaining)


# -- progress and report -------------------------------------------------------------------------
