"""What one spreadsheet may cost: a bomb, a DTD and a vast sheet are refused, quickly and
in little memory, with a message naming the limit; a normal file still reads."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from tests.kit.workbooks import (
    dtd_workbook,
    inflating_workbook,
    plain_workbook,
    vast_range_workbook,
)
from zhian.kit import tables
from zhian.kit.tables import ImportFileError, open_sheets
from zhian.watchlists.importer import read_rows
from zhian.watchlists.service import WITHDRAW_COLUMNS


def read_all(path: Path) -> int:
    return sum(1 for sheet in open_sheets(path, every_sheet=True) for _ in sheet.rows())


def test_a_workbook_that_inflates_past_the_limit_is_refused_without_inflating_it(
    tmp_path: Path,
) -> None:
    bomb = inflating_workbook(tmp_path / "bomb.xlsx", inflated_mib=300)
    assert bomb.stat().st_size < 2 * 1024 * 1024  # 300 MiB of sheet in a small file
    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError) as caught:
            read_all(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024  # the zip directory is read, not the sheet
    assert caught.value.field == "size"
    assert "inflates to 300 MiB, over the limit of 64 MiB" in caught.value.message


def test_a_workbook_with_a_dtd_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = dtd_workbook(tmp_path / "dtd.xlsx")
    with pytest.raises(ImportFileError) as caught:
        read_all(path)
    assert caught.value.field == "dtd"
    assert caught.value.message == (
        f"{path}: the workbook part xl/worksheets/sheet1.xml declares a DTD or entities, "
        "which a workbook never needs; save it again from Excel"
    )


def test_a_sheet_past_the_cell_limit_is_stopped_while_reading(tmp_path: Path) -> None:
    # A few hundred bytes declaring the whole grid: openpyxl would yield 17 billion cells.
    path = vast_range_workbook(tmp_path / "vast.xlsx")
    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError) as caught:
            list(read_rows(path, WITHDRAW_COLUMNS))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024
    assert caught.value.field == "size"
    assert "more than 2,000,000 cells (rows × columns)" in caught.value.message


def test_a_csv_past_the_cell_or_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "long.csv"
    path.write_text("plate,reason\n" + "浙A11111,x\n" * 6, encoding="utf-8")
    assert len(list(read_rows(path, WITHDRAW_COLUMNS))) == 6
    monkeypatch.setattr(tables, "MAX_CELLS", 12)  # header and five rows of two cells
    with pytest.raises(ImportFileError, match="more than 12 cells"):
        list(read_rows(path, WITHDRAW_COLUMNS))
    monkeypatch.setattr(tables, "MAX_INFLATED_BYTES", 50)
    with pytest.raises(ImportFileError, match="larger than the limit"):
        list(read_rows(path, WITHDRAW_COLUMNS))


def test_a_normal_workbook_still_reads_every_row(tmp_path: Path) -> None:
    path = tmp_path / "normal.xlsx"
    rows = [[f"浙A{n:05d}", "找回"] for n in range(2000)]
    path.write_bytes(plain_workbook(["plate", "reason"], rows))
    read = list(read_rows(path, WITHDRAW_COLUMNS))
    assert len(read) == 2000 and read[-1] == {"plate": "浙A01999", "reason": "找回"}
