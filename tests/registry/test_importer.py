"""Reading CSV and .xlsx files and loading them in dependency order."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from zhian.db.engine import Database
from zhian.registry.importer import import_paths, open_tables, read_table
from zhian.registry.models import Building, Community, Unit
from zhian.registry.service import ImportFileError, RegistryService

from .conftest import DISTRICT, district_files
from .factories import SEALER

UNITS_TEXT = "id,building_id,name\nU0103,B01,3单元\nU0104,B01,四单元\n"


def test_files_load_in_dependency_order(db: Database) -> None:
    reports = import_paths(db, list(reversed(district_files())), identity=SEALER)
    assert [report.entity for report in reports][:3] == [
        "jurisdictions",
        "communities",
        "buildings",
    ]
    assert reports[-1].source == str(DISTRICT / "place_restrictions.csv")
    assert all(report.rejected == 0 for report in reports)


def test_gbk_csv_from_chinese_excel(district_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(UNITS_TEXT.encode("gbk"))
    [report] = import_paths(district_db, [path], identity=SEALER)
    assert report.inserted == 2
    with district_db.session() as session:
        unit = session.get(Unit, "U0104")
    assert unit is not None and unit.name == "四单元"


def test_utf8_csv_with_bom_and_blank_padded_header(district_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("\ufeff ID , Building_ID ,name\nU0103,B01,3单元\n", encoding="utf-8")
    entity, rows = read_table(path)
    assert entity == "units"
    assert next(rows) == {"id": "U0103", "building_id": "B01", "name": "3单元"}


def test_row_numbers_count_records_not_lines(district_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text(
        'id,building_id,name\nU7,B01,"two\nlines"\nU8,B99,x\nU9,B01,x,extra\n', encoding="utf-8"
    )
    [report] = import_paths(district_db, [path], identity=SEALER)
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (3, "building_id", "unknown building 'B99'"),
        (4, "(column 4)", "is not a column of units"),
    ]


def test_workbook_with_one_sheet_per_entity(db: Database, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "说明"
    notes.append(["这个工作簿的说明"])
    communities = workbook.create_sheet("Communities")
    communities.append(["id", "jurisdiction_id", "name", "kind", "latitude", "longitude"])
    communities.append(["C7", "J1", "七号院", "open", 39.9, 116.4])
    buildings = workbook.create_sheet("buildings")
    buildings.append(["id", "community_id", "name", "floors", "latitude", "longitude", None])
    buildings.append(["B7", "C7", 7, 11, 39.9, 116.4])
    buildings.append([])
    buildings.append(["B8", "C7", "八号楼", 0, 39.9, 116.4])
    jurisdictions = workbook.create_sheet("jurisdictions")
    jurisdictions.append(["id", "parent_id", "level", "name"])
    jurisdictions.append(["J1", None, "community", "社区"])
    path = tmp_path / "master.xlsx"
    workbook.save(path)

    assert [table.source for table in open_tables(path)] == [
        f"{path}[Communities]",
        f"{path}[buildings]",
        f"{path}[jurisdictions]",
    ]
    reports = import_paths(db, [path], identity=SEALER)
    assert [(r.entity, r.inserted, r.rejected) for r in reports] == [
        ("jurisdictions", 1, 0),
        ("communities", 1, 0),
        ("buildings", 1, 1),
    ]
    assert [(e.row, e.column, e.reason) for e in reports[2].errors] == [
        (4, "floors", "must be at least 1")
    ]
    with db.session() as session:
        building = session.get(Building, "B7")
        community = session.get(Community, "C7")
    assert building is not None and building.name == "7" and building.floors == 11
    assert community is not None and community.kind == "open"


def test_workbook_first_sheet_takes_entity_from_file_name(
    district_db: Database, tmp_path: Path
) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["id", "building_id", "name"])
    sheet.append(["U0105", "B02", "5单元"])
    path = tmp_path / "units.xlsx"
    workbook.save(path)
    entity, rows = read_table(path)
    assert entity == "units"
    assert list(rows) == [{"id": "U0105", "building_id": "B02", "name": "5单元"}]


def test_missing_required_column_stops_the_whole_import(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "houses.csv"
    path.write_text("id,unit_id,number,registered_use\nH1,U1,1,idle\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="'area_m2'") as caught:
        import_paths(db, [DISTRICT / "jurisdictions.csv", path], identity=SEALER)
    assert caught.value.field == "area_m2"
    assert "houses.csv" in caught.value.message
    with db.session() as session:  # nothing loaded, not even the good file
        assert RegistryService(session).count_by_entity()["jurisdictions"] == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("people.csv", "id\n1\n", "cannot tell which entity"),
        ("units.csv", "id,building_id,name,remarks\n", "unknown column 'remarks'"),
        ("units.csv", "id,building_id,name,name\n", "column 'name' appears twice"),
        ("devices.csv", "id,kind,name,latitude,longitude,token_sha256\n", "'token_sha256'"),
        ("units.xls", "", "save it as .csv or .xlsx"),
        ("units.xlsx", "not a zip", "not a readable .xlsx"),
    ],
)
def test_whole_file_errors(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFileError, match=message):
        read_table(path)


def test_undecodable_text_is_a_whole_file_error(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(b"id,building_id,name\n\x81\x20\n")
    with pytest.raises(ImportFileError, match="neither UTF-8 nor GB18030"):
        read_table(path)
