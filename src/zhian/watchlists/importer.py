"""Bulk watchlist files (CSV or Excel .xlsx): import entries, or withdraw them, row by row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from zhian.kit.tables import ImportFileError, Row, open_sheets
from zhian.watchlists.service import (
    IMPORT_COLUMNS,
    WITHDRAW_COLUMNS,
    WatchlistImportReport,
    WatchlistService,
)


def read_rows(path: Path, allowed: tuple[str, ...]) -> Iterator[Row]:
    """Data rows of a CSV (UTF-8 or GB18030) or of the first sheet of a workbook.

    The header is checked first: an unknown column stops the file with its name, so no
    value is silently ignored. A file that cannot be read at all (its text in neither
    encoding, a broken workbook) raises ImportFileError naming the problem.
    """
    [sheet] = open_sheets(path)
    names = sheet.columns
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise ImportFileError(
            f"{path}: unknown column '{unknown[0]}'; columns: {', '.join(allowed)}",
            field=unknown[0],
        )
    if not names:
        raise ImportFileError(f"{path}: the header row is empty", field="header")
    return sheet.rows()


def import_file(service: WatchlistService, path: Path, *, user_id: int) -> WatchlistImportReport:
    report = service.import_rows(read_rows(path, IMPORT_COLUMNS), user_id=user_id)
    report.source = str(path)
    return report


def withdraw_file(service: WatchlistService, path: Path, *, user_id: int) -> WatchlistImportReport:
    report = service.withdraw_rows(read_rows(path, WITHDRAW_COLUMNS), user_id=user_id)
    report.source = str(path)
    return report
