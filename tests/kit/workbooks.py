"""Hostile workbooks for the reader's limits, built in the test from a real one.

A sheet of many MB of repeated cells deflates to a few hundred KB: the bomb an officer's
upload can be. Written through zipfile in chunks, so building it costs little memory.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def plain_workbook(header: list[str], rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_sheet(workbook: bytes, path: Path, sheet_parts: list[bytes], repeat: int = 1) -> Path:
    """`workbook` with its first sheet's XML replaced by the parts, the middle one
    repeated `repeat` times (the parts are head, body, tail)."""
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            if member.filename != SHEET:
                target.writestr(member, source.read(member))
                continue
            with target.open(SHEET, "w", force_zip64=True) as sheet:
                head, body, tail = sheet_parts
                sheet.write(head)
                for _ in range(repeat):
                    sheet.write(body)
                sheet.write(tail)
    return path


def inflating_workbook(path: Path, inflated_mib: int) -> Path:
    """A workbook whose sheet inflates to about `inflated_mib` MiB of the same row."""
    row = b'<row><c t="inlineStr"><is><t>A</t></is></c></row>' * 2000
    repeat = -(-inflated_mib * 1024 * 1024 // len(row))  # rounded up: at least that much
    head = f"{SHEET_HEAD}<sheetData>".encode()
    return with_sheet(
        plain_workbook(["plate"], []), path, [head, row, b"</sheetData></worksheet>"], repeat
    )


def dtd_workbook(path: Path) -> Path:
    """A workbook whose sheet declares a DTD with an entity (billion laughs starts so)."""
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE worksheet [<!ENTITY a "AAAA">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    )
    body = b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&a;</t></is></c></row>'
    return with_sheet(
        plain_workbook(["plate"], []), path, [head, body, b"</sheetData></worksheet>"]
    )


def vast_range_workbook(path: Path) -> Path:
    """A tiny sheet that declares the whole grid and has a cell in its last row: openpyxl
    yields every blank row padded to the declared width (17 billion cells)."""
    head = f'{SHEET_HEAD}<dimension ref="A1:XFD1048576"/><sheetData>'.encode()
    body = (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>plate</t></is></c></row>'
        b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    )
    return with_sheet(
        plain_workbook(["plate"], []), path, [head, body, b"</sheetData></worksheet>"]
    )
