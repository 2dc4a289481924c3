"""Read master-data files (CSV, Excel .xlsx) and load them in dependency order."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import openpyxl

from zhian.db.engine import Database
from zhian.kit.clock import Clock
from zhian.registry.identity import IdentityProtector
from zhian.registry.schemas import ENTITIES, ENTITY_ORDER
from zhian.registry.service import ImportFileError, ImportReport, RegistryService, check_header

Row = dict[str, object]
# Called with (table source, rows read so far) while a table loads.
ProgressCallback = Callable[[str, int], None]

CSV_SUFFIXES = frozenset({".csv"})
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})
# How often, in rows, the progress callback hears of a loading table.
PROGRESS_EVERY_ROWS = 500


@dataclass(frozen=True)
class Table:
    """One entity's rows in a file: a CSV file or one sheet of a workbook.

    The header is read and checked when the table is opened; `rows()` reads the data
    afresh each time, every row carrying every header column (None for a missing cell).
    """

    entity: str
    source: str  # the path as given, and the sheet for a workbook: "data/master.xlsx[houses]"
    columns: tuple[str, ...]
    _read_rows: Callable[[], Iterator[Row]]

    def rows(self) -> Iterator[Row]:
        return self._read_rows()


def _normalise_header(cells: Iterable[object]) -> list[str]:
    return ["" if cell is None else str(cell).strip().lower() for cell in cells]


def _row_dict(header: list[str], cells: Iterable[object]) -> Row:
    """Map cells to header columns; a value beyond the header or under a nameless column
    keeps a placeholder name, so the row is rejected rather than the value lost."""
    row: Row = {column: None for column in header if column}
    for index, value in enumerate(cells):
        column = header[index] if index < len(header) else ""
        if column:
            row[column] = value
        elif value is not None and (not isinstance(value, str) or value.strip()):
            row[f"(column {index + 1})"] = value
    return row


def _decode(path: Path) -> str:
    """File text: UTF-8 with or without BOM, else GB18030 (what Chinese Excel saves as CSV)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise ImportFileError(f"{path}: the text is neither UTF-8 nor GB18030/GBK") from None


def _entity_from_stem(path: Path) -> str:
    entity = path.stem.strip().lower()
    if entity not in ENTITIES:
        raise ImportFileError(
            f"{path}: cannot tell which entity the file holds; name it after one of "
            f"{', '.join(ENTITY_ORDER)} (e.g. houses.csv)"
        )
    return entity


def _checked_header(source: str, entity: str, header: list[str]) -> tuple[str, ...]:
    columns = tuple(column for column in header if column)
    try:
        check_header(entity, columns)
    except ImportFileError as exc:
        raise ImportFileError(f"{source}: {exc.message}", field=exc.field) from None
    return columns


def _open_csv(path: Path, entity: str | None) -> Table:
    text = _decode(path)
    entity = entity or _entity_from_stem(path)
    try:
        header = _normalise_header(next(csv.reader(io.StringIO(text, newline="")), []))
    except csv.Error as exc:
        raise ImportFileError(f"{path}: the header row is not valid CSV: {exc}") from None
    columns = _checked_header(str(path), entity, header)

    def read_rows() -> Iterator[Row]:
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            next(reader, None)
            for cells in reader:
                yield _row_dict(header, cells)
        except csv.Error as exc:
            raise ImportFileError(
                f"{path}: line {reader.line_num} is not valid CSV: {exc}"
            ) from None

    return Table(entity=entity, source=str(path), columns=columns, _read_rows=read_rows)


def _open_workbook(path: Path) -> Any:
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and XML errors alike
        raise ImportFileError(f"{path}: not a readable .xlsx workbook ({exc})") from None


def _open_excel(path: Path, entity: str | None) -> list[Table]:
    """One table per sheet named like an entity; else the first sheet, entity from the name."""
    workbook = _open_workbook(path)
    try:
        names: list[str] = list(workbook.sheetnames)
        by_entity = {name.strip().lower(): name for name in names}
        if entity is not None:
            chosen = [(entity, by_entity.get(entity, names[0]))]
        else:
            chosen = [(key, name) for key, name in by_entity.items() if key in ENTITIES]
            if not chosen:
                chosen = [(_entity_from_stem(path), names[0])]
        headers = {}
        for sheet_entity, sheet in chosen:
            first = next(workbook[sheet].iter_rows(max_row=1, values_only=True), ())
            source = f"{path}[{sheet}]"
            header = _normalise_header(first)
            headers[sheet] = (sheet_entity, source, header)
            _checked_header(source, sheet_entity, header)
    finally:
        workbook.close()

    def reader(sheet: str, header: list[str]) -> Callable[[], Iterator[Row]]:
        def read_rows() -> Iterator[Row]:
            book = _open_workbook(path)
            try:
                # Read-only sheets yield blank rows too, so numbering matches the sheet's.
                for cells in book[sheet].iter_rows(min_row=2, values_only=True):
                    yield _row_dict(header, cells)
            finally:
                book.close()

        return read_rows

    return [
        Table(
            entity=sheet_entity,
            source=source,
            columns=tuple(column for column in header if column),
            _read_rows=reader(sheet, header),
        )
        for sheet, (sheet_entity, source, header) in headers.items()
    ]


def open_tables(path: Path, entity: str | None = None) -> list[Table]:
    """The tables of a file, headers checked. Raises ImportFileError for a file that cannot
    be imported at all (unknown entity, missing required column, unreadable file)."""
    if entity is not None and entity not in ENTITIES:
        raise ImportFileError(
            f"unknown entity '{entity}'; expected one of: {', '.join(ENTITY_ORDER)}"
        )
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    if suffix in CSV_SUFFIXES:
        return [_open_csv(path, entity)]
    if suffix in EXCEL_SUFFIXES:
        return _open_excel(path, entity)
    raise ImportFileError(
        f"{path}: cannot read '{suffix or path.name}' files; save it as .csv or .xlsx"
    )


def read_table(path: Path, entity: str | None = None) -> tuple[str, Iterator[Row]]:
    """The entity and data rows of a CSV file or of one workbook sheet (header checked).

    The entity is `entity` if given, else the sheet's name, else the file's stem.
    """
    tables = open_tables(path, entity)
    if len(tables) != 1:
        sheets = ", ".join(table.entity for table in tables)
        raise ImportFileError(
            f"{path} holds several entities ({sheets}); name one or use import_paths"
        )
    return tables[0].entity, tables[0].rows()


def _counted(rows: Iterator[Row], source: str, progress: ProgressCallback) -> Iterator[Row]:
    count = 0
    for count, row in enumerate(rows, start=1):
        if count % PROGRESS_EVERY_ROWS == 0:
            progress(source, count)
        yield row
    progress(source, count)


def import_paths(
    db: Database,
    paths: list[Path],
    *,
    clock: Clock | None = None,
    progress: ProgressCallback | None = None,
    identity: IdentityProtector | None = None,
) -> list[ImportReport]:
    """Load files in dependency order (ENTITY_ORDER), each table in its own transaction.

    Every header is checked before anything loads, so a bad header stops the import with
    nothing written. Rejected rows are reported; the good rows of the same file still load.
    """
    tables = [table for path in paths for table in open_tables(path)]
    tables.sort(key=lambda table: ENTITY_ORDER.index(table.entity))
    reports = []
    for table in tables:
        rows = table.rows()
        if progress is not None:
            rows = _counted(rows, table.source, progress)
        with db.session() as session:
            service = RegistryService(session, clock=clock, identity=identity)
            report = service.load_rows(table.entity, rows)
        reports.append(replace(report, source=table.source))
    return reports
