"""The one spreadsheet reader: the registry, watchlist and utility imports read alike."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from zhian.kit.tables import ImportFileError, Row, open_sheets
from zhian.models.utilities import read_readings
from zhian.registry.importer import read_table
from zhian.watchlists.importer import read_rows
from zhian.watchlists.service import WITHDRAW_COLUMNS

# Each importer's reader, and a header with a text column it accepts.
READERS: dict[str, tuple[Callable[[Path], list[Row]], str]] = {
    "registry": (lambda path: list(read_table(path, "jurisdictions")[1]), "id,level,name"),
    "watchlist": (lambda path: list(read_rows(path, WITHDRAW_COLUMNS)), "plate,reason"),
    "utilities": (read_readings, "house_id,day,water_m3"),
}


@pytest.mark.parametrize("importer", READERS)
def test_every_importer_reads_gb18030_and_names_an_undecodable_encoding(
    importer: str, tmp_path: Path
) -> None:
    read, header = READERS[importer]
    text = f"{header}\n浙A12345,测试,1\n"
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(text.encode("gb18030"))
    [row] = read(gbk)
    assert "浙A12345" in row.values()

    utf16 = tmp_path / "utf16.csv"
    utf16.write_text(text, encoding="utf-16")
    with pytest.raises(ImportFileError) as caught:
        read(utf16)
    assert caught.value.field == "encoding"
    assert caught.value.message == (
        f"{utf16}: the text is neither UTF-8 nor GB18030/GBK (byte 0xff at offset 0 is not "
        "valid UTF-8); save the file as CSV UTF-8"
    )


@pytest.mark.parametrize("importer", READERS)
def test_every_importer_keeps_a_value_beyond_the_header_and_refuses_other_formats(
    importer: str, tmp_path: Path
) -> None:
    read, header = READERS[importer]
    extra = tmp_path / "extra.csv"
    extra.write_text(f"{header}\n\na,b,1,stray\n", encoding="utf-8")
    blank, row = read(extra)
    assert set(blank.values()) == {None}  # blank rows are kept: rows keep their numbers
    assert row["(column 4)"] == "stray"
    text = tmp_path / "list.txt"
    text.write_text(header, encoding="utf-8")
    with pytest.raises(ImportFileError, match=r"save it as \.csv or \.xlsx"):
        read(text)


def test_a_workbook_gives_its_first_sheet_or_every_sheet(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "Houses"
    first.append([" ID ", "Name", None])
    first.append(["H1", "一号", "stray"])
    book.create_sheet("zones").append(["id"])
    book.save(path)

    [only] = open_sheets(path)
    assert (only.name, only.source, only.columns) == ("Houses", f"{path}[Houses]", ("id", "name"))
    assert list(only.rows()) == [{"id": "H1", "name": "一号", "(column 3)": "stray"}]
    assert [sheet.name for sheet in open_sheets(path, every_sheet=True)] == ["Houses", "zones"]

    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ImportFileError, match=r"not a readable \.xlsx workbook"):
        open_sheets(broken)


def test_json_records_are_flattened_rows_where_an_importer_asks_for_them(tmp_path: Path) -> None:
    listed = tmp_path / "crimes.json"
    listed.write_text(
        '[{"ID": 1, "Place": {"lat": "30.1", "tags": ["a", "b"]}, "Empty": {}},'
        ' {"ID": 2, "Arrest": true, "Place": null}]',
        encoding="utf-8",
    )
    [sheet] = open_sheets(listed, json_records=True)
    # Every name any record has, in the order first seen; nested names joined by dots.
    assert sheet.header == ["id", "place.lat", "place.tags.0", "place.tags.1", "empty", "arrest",
                            "place"]  # fmt: skip
    assert sheet.first_row == 1
    rows = list(sheet.rows())
    assert rows[0]["place.lat"] == "30.1" and rows[0]["empty"] is None
    assert rows[1] == {"id": 2, "place.lat": None, "place.tags.0": None, "place.tags.1": None,
                       "empty": None, "arrest": True, "place": None}  # fmt: skip
    lines = tmp_path / "crimes.jsonl"
    lines.write_text('{"id": 1}\n\n{"id": 2, "x": 3}\n', encoding="utf-8")
    [sheet] = open_sheets(lines, json_records=True)
    assert [row["id"] for row in sheet.rows()] == [1, 2] and sheet.columns == ("id", "x")
    # The other imports still take spreadsheets only.
    with pytest.raises(ImportFileError, match=r"save it as \.csv or \.xlsx"):
        open_sheets(listed)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"id": 1}, {"id": 2,}]', "not valid JSON at line 1, column 22"),
        ('{"id": 1}', "must be a list of records, a GeoJSON FeatureCollection"),
        ('[{"id": 1}, [1, 2]]', "record 2 is not an object"),
        ("[" * 30 + "{}" + "]" * 30, "record 1 is not an object"),
        ("[" + '{"a": ' * 12 + "1" + "}" * 12 + "]", "record 1 is nested deeper than 8 levels"),
    ],
)
def test_a_json_file_that_is_no_list_of_records_is_refused_by_name(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "cases.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFileError, match=message):
        open_sheets(path, json_records=True)
