"""Bulk watchlist files (CSV or Excel .xlsx): import entries, or withdraw them, row by row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl

from zhian.errors import BadRequestError
from zhian.watchlists.service import (
    IMPORT_COLUMNS,
    WITHDRAW_COLUMNS,
    WatchlistImportReport,
    WatchlistService,
)

Row = dict[str, object]


def _rows_of(
    header: list[object], body: Iterator[tuple[object, ...]] | Iterator[list[str]]
) -> Iterator[Row]:
    names = ["" if cell is None else str(cell).strip().lower() for cell in header]
    for cells in body:
        yield {name: value for name, value in zip(names, cells, strict=False) if name}


def read_rows(path: Path, allowed: tuple[str, ...]) -> Iterator[Row]:
    """Data rows of a CSV (UTF-8 or GB18030) or of the first sheet of a workbook.

    The header is checked first: an unknown column stops the file with its name, so no
    value is silently ignored. (The registry's `read_table` knows only registry entities.)
    """
    suffix = path.suffix.lower()
    if not path.is_file():
        raise BadRequestError(f"{path}: no such file", field="path")
    if suffix == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030", errors="strict")
        reader = csv.reader(io.StringIO(text, newline=""))
        header: list[object] = list(next(reader, []))
        _check(path, header, allowed)
        return _rows_of(header, reader)
    if suffix in (".xlsx", ".xlsm"):
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises zipfile, KeyError and XML errors alike
            raise BadRequestError(
                f"{path}: not a readable .xlsx workbook ({exc})", field="path"
            ) from None
        rows = list(book.worksheets[0].iter_rows(values_only=True))
        book.close()
        header = list(rows[0]) if rows else []
        _check(path, header, allowed)
        return _rows_of(header, iter(rows[1:]))
    raise BadRequestError(
        f"{path}: cannot read '{suffix}' files; save it as .csv or .xlsx", field="path"
    )


def _check(path: Path, header: list[object], allowed: tuple[str, ...]) -> None:
    names = [str(c).strip().lower() for c in header if c is not None and str(c).strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise BadRequestError(
            f"{path}: unknown column '{unknown[0]}'; columns: {', '.join(allowed)}",
            field=unknown[0],
        )
    if not names:
        raise BadRequestError(f"{path}: the header row is empty", field="header")


def import_file(service: WatchlistService, path: Path, *, user_id: int) -> WatchlistImportReport:
    report = service.import_rows(read_rows(path, IMPORT_COLUMNS), user_id=user_id)
    report.source = str(path)
    return report


def withdraw_file(service: WatchlistService, path: Path, *, user_id: int) -> WatchlistImportReport:
    report = service.withdraw_rows(read_rows(path, WITHDRAW_COLUMNS), user_id=user_id)
    report.source = str(path)
    return report
