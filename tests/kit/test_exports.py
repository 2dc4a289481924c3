"""Exports people open in a spreadsheet: formula-like cells neutralised in CSV and xlsx."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from zhian.kit.exports import csv_bytes, safe_cell, xlsx_bytes

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "  =1+1", "\t=1", "plain"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_like_cell_becomes_text(value: str) -> None:
    cell = safe_cell(value)
    if value == "plain":
        assert cell == "plain"
    else:
        assert cell == "'" + value


def test_csv_and_xlsx_hold_no_formula() -> None:
    rows = [[value, None, 3] for value in HOSTILE]
    table = list(csv.reader(io.StringIO(csv_bytes(["a", "b", "c"], rows).decode("utf-8-sig"))))
    assert table[1] == ['\'=HYPERLINK("http://x")', "", "3"]
    book = load_workbook(io.BytesIO(xlsx_bytes("t", ["a", "b", "c"], rows)))
    sheet = book.active
    assert sheet is not None
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert all(not (isinstance(v, str) and v.startswith("=")) for v in values)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
