"""Table exports people open in a spreadsheet: CSV and xlsx, every cell formula-safe.

A text cell whose first visible character is `=`, `+`, `-` or `@` (after blanks, tabs or
line breaks) would be run as a formula by the spreadsheet that opens it (CSV injection,
OWASP); such a cell gets a leading apostrophe, which spreadsheets show as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook

from zhian.kit.characters import FORMULA_STARTS

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: object) -> str:
    """The cell as text a spreadsheet shows and never runs."""
    text = "" if value is None else str(value)
    # A leading tab or carriage return is itself a formula trigger in some spreadsheets
    # (OWASP CSV injection), and blanks before "=" do not stop the others.
    if text.startswith(("\t", "\r")) or text.lstrip(" \t\r\n").startswith(tuple(FORMULA_STARTS)):
        return "'" + text
    return text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV with a byte-order mark (spreadsheets then read Chinese text right)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(cell) for cell in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """One worksheet, every cell a string (never a formula)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.append([safe_cell(cell) for cell in header])
    for row in rows:
        sheet.append([safe_cell(cell) for cell in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
