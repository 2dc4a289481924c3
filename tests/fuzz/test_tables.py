"""Master data: CSV and .xlsx files read through `zhian.kit.tables`."""

from __future__ import annotations

import contextlib
import io
import tempfile
import zipfile
from pathlib import Path

import openpyxl
from hypothesis import example, given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from tests.fuzz.inputs import ANY_BYTES, FUZZ, ODD_TEXT
from zhian.kit.tables import ImportFileError, open_sheets


def _read_all(path: Path) -> None:
    for sheet in open_sheets(path, every_sheet=True):
        for _row in sheet.rows():
            pass


def _read_or_refuse(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        with contextlib.suppress(ImportFileError):
            _read_all(path)


CELLS = st.one_of(ODD_TEXT, st.sampled_from(["=1+1", "@SUM(A1)", '"', "\r", "\x00"]))
CSV_LIKE = st.lists(st.lists(CELLS, max_size=4).map(",".join), max_size=5).map("\n".join)
ENCODED = st.tuples(CSV_LIKE, st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"])).map(
    lambda pair: pair[0].encode(pair[1], errors="replace")
)


@FUZZ
@given(st.one_of(ANY_BYTES, ENCODED))
def test_csv_reads_or_refuses(data: bytes) -> None:
    _read_or_refuse("master.csv", data)


def _workbook(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        # openpyxl refuses to write control characters; the damage comes afterwards.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@st.composite
def damaged_workbooks(draw: st.DrawFn) -> bytes:
    """A real workbook, then one of its parts rewritten, cut short or bytes flipped.

    Positions are drawn before the workbook is built: its size varies from run to run
    (openpyxl stamps the time), and Hypothesis needs the same draws to replay a case.
    """
    rows = draw(st.lists(st.lists(ODD_TEXT, max_size=3), max_size=3))
    how = draw(st.sampled_from(["none", "truncate", "flip", "part"]))
    position = draw(st.integers(0, 2**20))
    data = _workbook(rows)
    if how == "truncate":
        return data[: position % len(data)]
    if how == "flip":
        at = position % len(data)
        return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    if how == "part":
        source = zipfile.ZipFile(io.BytesIO(data))
        victim = draw(st.sampled_from(sorted(source.namelist())))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for name in source.namelist():
                body = source.read(name)
                if name == victim:
                    body = draw(st.one_of(ANY_BYTES, st.just(body[: len(body) // 2])))
                target.writestr(name, body)
        return out.getvalue()
    return data


def _zip_with_damaged_part() -> bytes:
    """A zip whose one deflated part starts with an invalid block: zlib.error on reading."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<x/>" * 1000)
    data = bytearray(out.getvalue())
    data[30 + len("xl/workbook.xml")] = 0xFF  # first byte of the deflate stream
    return bytes(data)


@FUZZ
@given(st.one_of(ANY_BYTES, damaged_workbooks()))
@example(_zip_with_damaged_part())
def test_xlsx_reads_or_refuses(data: bytes) -> None:
    _read_or_refuse("master.xlsx", data)
