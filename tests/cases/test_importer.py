"""Case files through a column mapping: Chinese column names, GCJ-02 coordinates, value
tables, per-row errors naming row, column and reason; re-imports replace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cases.factories import service
from zhian.cases.geo import haversine_m, wgs84_to_gcj02
from zhian.cases.importer import CaseMapping, read_case_rows
from zhian.cases.settings import DEFAULT_MO_FEATURES
from zhian.db.engine import Database
from zhian.kit.clock import ManualClock
from zhian.kit.tables import ImportFileError

MAPPING = """
[columns]
id = "案件编号"
category = "案别"
time_from = "发案时间"
address = "地址"
longitude = "经度"
latitude = "纬度"
solved = "破案"
offender = "嫌疑人"
jurisdiction_id = "辖区"

[mo]
entry_method = "手段"

[coordinates]
crs = "GCJ02"

[values.category]
"入室盗窃" = "burglary"

[values.solved]
"是" = true
"否" = false
"""
PLACE = (30.2590, 120.1485)


def write(tmp_path: Path, rows: list[str]) -> tuple[Path, CaseMapping]:
    mapping_path = tmp_path / "mapping.toml"
    mapping_path.write_text(MAPPING, encoding="utf-8")
    path = tmp_path / "cases.csv"
    header = "案件编号,案别,发案时间,地址,经度,纬度,手段,破案,嫌疑人,辖区,备注"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path, CaseMapping.load(mapping_path, DEFAULT_MO_FEATURES)


def test_a_mapped_file_imports_with_errors_per_row(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    lat, lon = wgs84_to_gcj02(*PLACE)
    good = f"A1,入室盗窃,2026-03-01 02:10,西湖区某小区,{lon},{lat},撬锁,是,S-7,J-A,"
    path, mapping = write(tmp_path, [
        good,
        f"A2,飞檐走壁,2026-03-01 02:10,,{lon},{lat},,否,,J-A,",
        f"A3,入室盗窃,yesterday,,{lon},{lat},,否,,J-A,",
        f"A4,入室盗窃,2026-03-02 10:00,,{lon},,,否,,J-A,",
    ])  # fmt: skip
    with db.session() as session:
        cases = service(session, clock)
        report = cases.save_rows(
            read_case_rows(path, mapping), user_id=1, source="file", column_of=mapping.column_of
        )
        [case] = cases.list_cases()
    assert (report.created, report.rejected) == (1, 3)
    assert [(e.row, e.field) for e in report.errors] == [(3, "案别"), (4, "发案时间"), (5, "纬度")]
    assert "飞檐走壁" in report.errors[0].reason
    assert float(haversine_m(*PLACE, case.latitude, case.longitude)) < 0.1
    assert case.is_solved and case.has_offender and case.mo == {"entry_method": ["撬锁"]}
    assert case.time_from.utcoffset() is not None and case.time_of_day == "night"


def test_a_second_import_replaces_the_cases_it_names(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    row = "A1,入室盗窃,2026-03-01 02:10,,120.15,30.27,撬锁,否,,J-A,"
    path, mapping = write(tmp_path, [row])
    with db.session() as session:
        cases = service(session, clock)
        first = cases.save_rows(read_case_rows(path, mapping), user_id=1, source="file")
        second = cases.save_rows(read_case_rows(path, mapping), user_id=1, source="file")
    assert (first.created, second.created, second.updated) == (1, 0, 1)


def test_a_mapped_column_the_file_lacks_stops_the_file(tmp_path: Path) -> None:
    path, mapping = write(tmp_path, [])
    path.write_text("案件编号,发案时间\nA1,2026-03-01\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as error:
        list(read_case_rows(path, mapping))
    missing = {"案别", "地址", "经度", "纬度", "手段", "破案", "嫌疑人", "辖区"}
    assert error.value.field in missing and error.value.field in error.value.message


def test_a_mapping_naming_an_unknown_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[columns]\nid = "a"\ntime_from = "b"\nvictim = "c"\n', encoding="utf-8")
    with pytest.raises(ImportFileError) as error:
        CaseMapping.load(path, DEFAULT_MO_FEATURES)
    assert error.value.field == "columns.victim"


def test_without_a_mapping_the_columns_are_the_fields(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text(
        "id,category,time_from,latitude,longitude,jurisdiction_id,entry_method,colour\n"
        "A1,burglary,2026-03-01T02:00+08:00,30.27,120.15,J-A,撬锁,red\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFileError) as error:
        list(read_case_rows(path, CaseMapping.identity(DEFAULT_MO_FEATURES)))
    assert error.value.field == "colour"
