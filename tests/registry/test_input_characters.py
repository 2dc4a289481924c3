"""Master-data import refuses control and bidirectional characters in ids and names, and
formula-like text cells (CSV injection), per row naming the column; numbers and phone
numbers that start with + or - still load (docs/master-data.md, "Characters")."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from tests.registry.factories import SEALER
from zhian.db.engine import Database
from zhian.registry.importer import import_paths
from zhian.registry.models import Building, House, Unit
from zhian.registry.schemas import ResidentIdentityRow


def _import(db: Database, path: Path, text: str) -> list[tuple[int, str, str]]:
    path.write_text(text, encoding="utf-8")
    [report] = import_paths(db, [path], identity=SEALER)
    return [(error.row, error.column, error.reason) for error in report.errors]


def test_bad_characters_and_formulas_are_refused_per_row(
    district_db: Database, tmp_path: Path
) -> None:
    errors = _import(
        district_db,
        tmp_path / "units.csv",
        "id,building_id,name\n"
        "U-OK,B01,5单元\n"
        "U\x00X,B01,x\n"
        "U\u202eX,B01,x\n"
        "U-N1,B01,a\u202eb\n"
        "U-N2,B01,\x1b[2Jname\n"
        'U-F1,B01,=HYPERLINK("http://evil")\n'
        'U-F2,B01,"\t@SUM(A1)"\n'
        "+U-F3,B01,x\n"
        "U-F4,B01,-2+3\n",
    )
    assert [(row, column) for row, column, _ in errors] == [
        (3, "id"),
        (4, "id"),
        (5, "name"),
        (6, "name"),
        (7, "name"),
        (8, "name"),
        (9, "id"),
        (10, "name"),
    ]
    reasons = [reason for _, _, reason in errors]
    assert "U+0000 (NUL)" in reasons[0]
    assert "U+202E (right-to-left override)" in reasons[1]
    assert "U+202E" in reasons[2]
    assert "U+001B (escape)" in reasons[3]
    assert all("formula" in reason for reason in reasons[4:])
    assert [f"starts with '{c}'" in r for c, r in zip("=@+-", reasons[4:], strict=True)] == [
        True
    ] * 4
    with district_db.session() as session:
        assert session.get(Unit, "U-OK") is not None
        assert session.get(Unit, "U-F4") is None


def test_numbers_and_signs_in_their_place_still_load(district_db: Database, tmp_path: Path) -> None:
    # A western longitude, a basement flat numbered -1 and a dash inside a name are data.
    errors = _import(
        district_db,
        tmp_path / "buildings.csv",
        "id,community_id,name,floors,latitude,longitude\nB-W,C01,A-1 楼,3,51.5,-0.5\n",
    )
    assert errors == []
    errors = _import(
        district_db,
        tmp_path / "houses.csv",
        "id,unit_id,number,area_m2,registered_use\nH-B1,U0101,-1,40,rented\n",
    )
    assert errors == []
    with district_db.session() as session:
        building = session.get(Building, "B-W")
        house = session.get(House, "H-B1")
    assert building is not None and building.longitude == -0.5
    assert house is not None and house.number == "-1"
    # Phone numbers have their own rule, not the formula rule.
    assert ResidentIdentityRow.model_validate({"phone": "+86 138 0013 8000"}).phone


def test_formula_cells_in_a_workbook_are_refused(district_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "master.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "units"
    sheet.append(["id", "building_id", "name"])
    sheet.append(["U-X1", "B01", "@cmd"])
    sheet.append(["U-X2", "B01", "Unit\u2066 7"])
    sheet.append(["U-X3", "B01", "Unit 7"])
    workbook.save(path)
    [report] = import_paths(district_db, [path], identity=SEALER)
    assert [(e.row, e.column) for e in report.errors] == [(2, "name"), (3, "name")]
    assert report.inserted == 1
