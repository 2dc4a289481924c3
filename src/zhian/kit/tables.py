"""Spreadsheet files (CSV, Excel .xlsx, and JSON records where asked): the one reader
behind every bulk import.

Registry, watchlist and utility-reading imports read their files here, so they agree on
what a file is: a CSV in UTF-8 (with or without BOM) or GB18030/GBK (what Chinese Excel
saves), or the sheets of a workbook; a header row of names, stripped and lower-cased; and
data rows numbered as the spreadsheet numbers them. Which columns a table may hold is the
importer's business, not the reader's. An importer that takes public data sets (cases)
also asks for JSON: a list of records, a GeoJSON FeatureCollection or JSON Lines, each
record flattened to one row (nested names joined by dots).

Files come from officers' uploads, so the reader bounds what one file may cost (a 300 KB
workbook can inflate to 300 MB): a workbook's zip is checked before openpyxl opens it
(inflated size, member count, no DTD or entity declarations), and every table stops with
a clear ImportFileError at a cell count. The limits are module constants, not settings:
they guard the node, whichever import reads the file.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

from zhian.errors import BadRequestError

Row = dict[str, object]

CSV_SUFFIXES = frozenset({".csv"})
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})
JSON_SUFFIXES = frozenset({".json", ".geojson"})
JSON_LINES_SUFFIXES = frozenset({".jsonl", ".ndjson"})
# How deep a record's nesting is flattened; deeper values are refused with the record.
MAX_JSON_DEPTH = 8

# What one file may cost. A registry of a large community (40,000 houses and residents,
# 20 columns) is under a million cells and about 30 MB of sheet XML; the limits leave room
# for that and stop a bomb within a second or two and a few MB of memory.
MAX_INFLATED_BYTES = 64 * 1024 * 1024  # a CSV's size, or a workbook's members inflated
MAX_ZIP_MEMBERS = 1000  # a workbook has a few parts per sheet
MAX_CELLS = 2_000_000  # per table, counted as read: rows × columns, blank ones included
# A DTD may declare entities ("billion laughs", external files); workbooks never need one.
# Searched in the encodings an XML part may use.
_DECLARATIONS = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)
_SCAN_CHUNK = 1024 * 1024


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
    # The number of the first data row: 2 under a header row; 1 for JSON, whose rows are
    # its records counted from the first.
    first_row: int = 2

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
    size = path.stat().st_size
    if size > MAX_INFLATED_BYTES:
        raise ImportFileError(
            f"{path}: the file is larger than the limit of {_mib(MAX_INFLATED_BYTES)}; "
            "split it into smaller files",
            field="size",
        )
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


def open_sheets(
    path: Path, *, every_sheet: bool = False, json_records: bool = False
) -> list[Sheet]:
    """The tables of a CSV or .xlsx file (and, with `json_records`, of a JSON file), each
    with its header read.

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
    if json_records and suffix in JSON_SUFFIXES | JSON_LINES_SUFFIXES:
        return [_json_sheet(path, lines=suffix in JSON_LINES_SUFFIXES)]
    kinds = ".csv, .xlsx, .json or .jsonl" if json_records else ".csv or .xlsx"
    raise ImportFileError(
        f"{path}: cannot read '{suffix or path.name}' files; save it as {kinds}",
        field="path",
    )


def _csv_sheet(path: Path) -> Sheet:
    text = decode_text(path)
    try:
        header = normalise_header(next(csv.reader(io.StringIO(text, newline="")), []))
    except csv.Error as exc:
        raise ImportFileError(f"{path}: the header row is not valid CSV: {exc}") from None

    def read_cells() -> Iterator[Sequence[object]]:
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            next(reader, None)
            yield from _counted(str(path), reader, first=len(header))
        except csv.Error as exc:
            raise ImportFileError(
                f"{path}: line {reader.line_num} is not valid CSV: {exc}"
            ) from None

    return Sheet(name=None, source=str(path), header=header, _read_cells=read_cells)


def _json_sheet(path: Path, *, lines: bool) -> Sheet:
    """A JSON file as one table: each record a row, its nested names joined by dots.

    Public data portals export a list of records (Socrata's `.json`), a GeoJSON
    FeatureCollection (each feature's `properties` become the row, its geometry
    `geometry.coordinates.0` and `.1`), or one record per line (`.jsonl`). The columns
    are every name any record has, in the order first seen.
    """
    records = _json_records(path, decode_text(path), lines=lines)
    flat: list[dict[str, object]] = []
    names: dict[str, None] = {}
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise ImportFileError(
                f"{path}: record {number} is not an object (a name: value record)",
                field="record",
            )
        if record.get("type") == "Feature":
            record = {**(record.get("properties") or {}), "geometry": record.get("geometry")}
        row: dict[str, object] = {}
        _flatten(str(path), number, "", record, row, depth=0)
        flat.append(row)
        names.update(dict.fromkeys(row))
    keys = list(names)
    header = normalise_header(keys)

    def read_cells() -> Iterator[Sequence[object]]:
        yield from _counted(
            str(path), ([row.get(key) for key in keys] for row in flat), first=len(header)
        )

    return Sheet(name=None, source=str(path), header=header, _read_cells=read_cells, first_row=1)


def _json_records(path: Path, text: str, *, lines: bool) -> list[object]:
    try:
        if lines:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            field="json",
        ) from None
    except RecursionError:
        raise ImportFileError(f"{path}: the JSON is nested too deeply", field="json") from None
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("features"), list):
        return list(document["features"])
    raise ImportFileError(
        f"{path}: the JSON must be a list of records, a GeoJSON FeatureCollection or, in a "
        ".jsonl file, one record per line",
        field="json",
    )


def _flatten(
    source: str, number: int, prefix: str, value: object, row: dict[str, object], *, depth: int
) -> None:
    """Put a record's values into `row` under dotted names ("location.latitude",
    "geometry.coordinates.0"); an empty object or list is a blank cell."""
    if depth > MAX_JSON_DEPTH:
        raise ImportFileError(
            f"{source}: record {number} is nested deeper than {MAX_JSON_DEPTH} levels at "
            f"'{prefix}'",
            field=prefix or "record",
        )
    items: Iterable[tuple[object, object]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        row[prefix] = value
        return
    empty = True
    for key, item in items:
        empty = False
        name = f"{prefix}.{key}" if prefix else str(key)
        _flatten(source, number, name, item, row, depth=depth + 1)
    if empty and prefix:
        row[prefix] = None


def _mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB"


def _counted(
    source: str, rows: Iterable[Sequence[object]], *, first: int
) -> Iterator[Sequence[object]]:
    """The rows, stopping with ImportFileError once the table passes MAX_CELLS.

    Counted as yielded, so a sheet that declares a vast range (openpyxl pads every row to
    the declared width and yields every blank row) is stopped as surely as a long one.
    `first` is the header row's cells.
    """
    cells = first
    for row in rows:
        cells += max(len(row), 1)
        if cells > MAX_CELLS:
            raise ImportFileError(
                f"{source}: the table has more than {MAX_CELLS:,} cells (rows × columns); "
                "split it into smaller files",
                field="size",
            )
        yield row


def check_workbook_archive(path: Path) -> None:
    """Refuse a workbook whose zip would cost too much to open, or that declares a DTD.

    The sizes are the ones the zip directory declares; Python's zipfile never inflates a
    member past its declared size (a member that lies fails its CRC check), so the
    declared total bounds what openpyxl can inflate.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise ImportFileError(
                    f"{path}: the workbook has more than {MAX_ZIP_MEMBERS} parts",
                    field="size",
                )
            inflated = sum(member.file_size for member in members)
            if inflated > MAX_INFLATED_BYTES:
                raise ImportFileError(
                    f"{path}: the workbook inflates to {_mib(inflated)}, over the limit of "
                    f"{_mib(MAX_INFLATED_BYTES)}; split it into smaller files",
                    field="size",
                )
            for member in members:
                if _declares_dtd(archive, member):
                    raise ImportFileError(
                        f"{path}: the workbook part {member.filename[:80]} declares a DTD "
                        "or entities, which a workbook never needs; save it again from Excel",
                        field="dtd",
                    )
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        OSError,
        EOFError,  # a compressed part cut short
        zlib.error,  # a compressed part damaged (found by tests/fuzz/test_tables.py)
    ) as exc:
        raise ImportFileError(f"{path}: not a readable .xlsx workbook ({exc})") from None


def _declares_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    overlap = max(len(marker) for marker in _DECLARATIONS) - 1
    tail = b""
    with archive.open(member) as part:
        while chunk := part.read(_SCAN_CHUNK):
            window = tail + chunk
            if any(marker in window for marker in _DECLARATIONS):
                return True
            tail = window[-overlap:]
    return False


def _open_workbook(path: Path) -> Any:
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and XML errors alike
        raise ImportFileError(f"{path}: not a readable .xlsx workbook ({exc})") from None


def _sheet_cells(
    source: str, rows: Iterable[Sequence[object]], *, first: int
) -> Iterator[Sequence[object]]:
    """`_counted` over a sheet's rows; a damaged sheet part is an ImportFileError.

    openpyxl parses a read-only sheet lazily, so a part cut short or altered fails only
    here, with XML, zip or value errors alike (found by tests/fuzz/test_tables.py).
    """
    try:
        yield from _counted(source, rows, first=first)
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(f"{source}: the sheet is damaged ({exc})") from None


def _workbook_sheets(path: Path, *, every_sheet: bool) -> list[Sheet]:
    check_workbook_archive(path)
    workbook = _open_workbook(path)
    try:
        names: list[str] = list(workbook.sheetnames)
        chosen = names if every_sheet else names[:1]
        headers = {
            name: normalise_header(
                next(
                    _sheet_cells(
                        f"{path}[{name}]",
                        workbook[name].iter_rows(max_row=1, values_only=True),
                        first=0,
                    ),
                    (),
                )
            )
            for name in chosen
        }
    finally:
        workbook.close()

    def reader(name: str) -> Callable[[], Iterator[Iterable[object]]]:
        def read_cells() -> Iterator[Iterable[object]]:
            book = _open_workbook(path)
            # Read-only sheets yield blank rows too, so numbering matches the sheet's.
            rows = book[name].iter_rows(min_row=2, values_only=True)
            try:
                yield from _sheet_cells(f"{path}[{name}]", rows, first=len(headers[name]))
            finally:
                rows.close()  # its sheet part first: a part left open keeps the file open
                book.close()

        return read_cells

    return [
        Sheet(name=name, source=f"{path}[{name}]", header=header, _read_cells=reader(name))
        for name, header in headers.items()
    ]
