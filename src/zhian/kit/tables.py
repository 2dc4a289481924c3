"""Spreadsheet files (CSV, Excel .xlsx): the one reader behind every bulk import.

Registry, watchlist and utility-reading imports read their files here, so they agree on
what a file is: a CSV in UTF-8 (with or without BOM) or GB18030/GBK (what Chinese Excel
saves), or the sheets of a workbook; a header row of names, stripped and lower-cased; and
data rows numbered as the spreadsheet numbers them. Which columns a table may hold is the
importer's business, not the reader's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

from zhian.errors import BadRequestError

Row = dict[str, object]

CSV_SUFFIXES = frozenset({".csv"})
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})


class ImportFileError(BadRequestError):
    """A whole file cannot be imported: unreadable text or workbook, or a bad header."""

    code = "import_file_error"


@dataclass(frozen=True)
class Sheet:
    """One table of a file: a CSV file, or one sheet of a workbook.

    `header` holds the normalised names of the header row ("" for a nameless column).
    `rows()` reads the data afresh each time; blank rows are yielded too, so the n-th row
    is spreadsheet row n + 1.
    """

    name: str | None  # the sheet's name; None for a CSV file
    source: str  # the path, and the sheet for a workbook: "data/master.xlsx[houses]"
    header: list[str]
    _read_cells: Callable[[], Iterator[Iterable[object]]]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(column for column in self.header if column)

    def rows(self) -> Iterator[Row]:
        for cells in self._read_cells():
            yield row_dict(self.header, cells)


def normalise_header(cells: Iterable[object]) -> list[str]:
    return ["" if cell is None else str(cell).strip().lower() for cell in cells]


def row_dict(header: list[str], cells: Iterable[object]) -> Row:
    """Map cells to header columns, every column present (None for a missing cell).

    A value beyond the header or under a nameless column keeps a placeholder name,
    "(column 7)", so the importer rejects the row rather than losing the value.
    """
    row: Row = {column: None for column in header if column}
    for index, value in enumerate(cells):
        column = header[index] if index < len(header) else ""
        if column:
            row[column] = value
        elif value is not None and (not isinstance(value, str) or value.strip()):
            row[f"(column {index + 1})"] = value
    return row


def decode_text(path: Path) -> str:
    """The text of a CSV file; ImportFileError naming the first bad byte when it is in
    neither UTF-8 nor GB18030/GBK (a UTF-16 export, say, or a binary file)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        pass
    bad = raw[utf8_error.start : utf8_error.start + 1]
    raise ImportFileError(
        f"{path}: the text is neither UTF-8 nor GB18030/GBK (byte 0x{bad.hex()} at offset "
        f"{utf8_error.start} is not valid UTF-8); save the file as CSV UTF-8",
        field="encoding",
    )


def open_sheets(path: Path, *, every_sheet: bool = False) -> list[Sheet]:
    """The tables of a CSV or .xlsx file, each with its header read.

    A workbook gives its first sheet, or every sheet with `every_sheet`. Raises
    ImportFileError for a file that cannot be read at all.
    """
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file", field="path")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return [_csv_sheet(path)]
    if suffix in EXCEL_SUFFIXES:
        return _workbook_sheets(path, every_sheet=every_sheet)
    raise ImportFileError(
        f"{path}: cannot read '{suffix or path.name}' files; save it as .csv or .xlsx",
        field="path",
    )


def _csv_sheet(path: Path) -> Sheet:
    text = decode_text(path)
    try:
        header = normalise_header(next(csv.reader(io.StringIO(text, newline="")), []))
    except csv.Error as exc:
        raise ImportFileError(f"{path}: the header row is not valid CSV: {exc}") from None

    def read_cells() -> Iterator[list[str]]:
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            next(reader, None)
            yield from reader
        except csv.Error as exc:
            raise ImportFileError(
                f"{path}: line {reader.line_num} is not valid CSV: {exc}"
            ) from None

    return Sheet(name=None, source=str(path), header=header, _read_cells=read_cells)


def _open_workbook(path: Path) -> Any:
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and XML errors alike
        raise ImportFileError(f"{path}: not a readable .xlsx workbook ({exc})") from None


def _workbook_sheets(path: Path, *, every_sheet: bool) -> list[Sheet]:
    workbook = _open_workbook(path)
    try:
        names: list[str] = list(workbook.sheetnames)
        chosen = names if every_sheet else names[:1]
        headers = {
            name: normalise_header(next(workbook[name].iter_rows(max_row=1, values_only=True), ()))
            for name in chosen
        }
    finally:
        workbook.close()

    def reader(name: str) -> Callable[[], Iterator[Iterable[object]]]:
        def read_cells() -> Iterator[Iterable[object]]:
            book = _open_workbook(path)
            try:
                # Read-only sheets yield blank rows too, so numbering matches the sheet's.
                yield from book[name].iter_rows(min_row=2, values_only=True)
            finally:
                book.close()

        return read_cells

    return [
        Sheet(name=name, source=f"{path}[{name}]", header=header, _read_cells=reader(name))
        for name, header in headers.items()
    ]
