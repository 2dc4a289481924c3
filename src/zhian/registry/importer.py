"""Read master-data files (CSV, Excel .xlsx) and load them in dependency order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from zhian.db.engine import Database
from zhian.kit.clock import Clock
from zhian.kit.tables import ImportFileError, Row, Sheet, open_sheets
from zhian.registry.identity import IdentityProtector
from zhian.registry.schemas import ENTITIES, ENTITY_ORDER
from zhian.registry.service import ImportReport, RegistryService, check_header

# Called with (table source, rows read so far) while a table loads.
ProgressCallback = Callable[[str, int], None]

# How often, in rows, the progress callback hears of a loading table.
PROGRESS_EVERY_ROWS = 500


@dataclass(frozen=True)
class Table:
    """One entity's rows in a file: a CSV file or one sheet of a workbook.

    The header is read and checked when the table is opened; `rows()` reads the data
    afresh each time, every row carrying every header column (None for a missing cell).
    """

    entity: str
    sheet: Sheet

    @property
    def source(self) -> str:
        """The path as given, and the sheet for a workbook: "data/master.xlsx[houses]"."""
        return self.sheet.source

    @property
    def columns(self) -> tuple[str, ...]:
        return self.sheet.columns

    def rows(self) -> Iterator[Row]:
        return self.sheet.rows()


def _entity_from_stem(path: Path) -> str:
    entity = path.stem.strip().lower()
    if entity not in ENTITIES:
        raise ImportFileError(
            f"{path}: cannot tell which entity the file holds; name it after one of "
            f"{', '.join(ENTITY_ORDER)} (e.g. houses.csv)"
        )
    return entity


def _checked(entity: str, sheet: Sheet) -> Table:
    try:
        check_header(entity, sheet.columns)
    except ImportFileError as exc:
        raise ImportFileError(f"{sheet.source}: {exc.message}", field=exc.field) from None
    return Table(entity=entity, sheet=sheet)


def _tables_of(path: Path, sheets: list[Sheet], entity: str | None) -> list[Table]:
    """A CSV file holds the entity its name says; a workbook one table per sheet named
    like an entity, else its first sheet, the entity from the file's name."""
    if sheets[0].name is None:
        return [_checked(entity or _entity_from_stem(path), sheets[0])]
    by_entity = {(sheet.name or "").strip().lower(): sheet for sheet in sheets}
    if entity is not None:
        return [_checked(entity, by_entity.get(entity, sheets[0]))]
    named = [_checked(key, sheet) for key, sheet in by_entity.items() if key in ENTITIES]
    return named or [_checked(_entity_from_stem(path), sheets[0])]


def open_tables(path: Path, entity: str | None = None) -> list[Table]:
    """The tables of a file, headers checked. Raises ImportFileError for a file that cannot
    be imported at all (unknown entity, missing required column, unreadable file)."""
    if entity is not None and entity not in ENTITIES:
        raise ImportFileError(
            f"unknown entity '{entity}'; expected one of: {', '.join(ENTITY_ORDER)}"
        )
    return _tables_of(path, open_sheets(path, every_sheet=True), entity)


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
