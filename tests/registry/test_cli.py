"""`zhian import`: exit codes, the summary and the error report."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from zhian.cli.registry import registry_app
from zhian.db import migrate
from zhian.db.base import Base

from .conftest import BAD, district_files


@pytest.fixture(autouse=True)
def schema_without_migrations(monkeypatch: pytest.MonkeyPatch) -> None:
    # TODO(migrations): drop once the Alembic migrations of the registry exist.
    def create_all(engine: Engine, revision: str = "head", *, identity: object = None) -> None:
        Base.metadata.create_all(engine)

    monkeypatch.setattr(migrate, "upgrade", create_all)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(registry_app, list(args))
    return result.exit_code, result.output


def test_import_of_good_files_exits_zero(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    code, output = invoke(*map(str, district_files()), "--workspace", str(workspace))
    assert code == 0, output
    assert "devices" in output
    assert (workspace / "zhian.db").exists()


def test_rejected_rows_exit_one_and_go_to_the_report(tmp_path: Path) -> None:
    workspace, report = tmp_path / "ws", tmp_path / "out" / "errors.csv"
    files = [*map(str, district_files()), str(BAD / "houses.csv"), str(BAD / "zones.csv")]
    code, output = invoke(*files, "-w", str(workspace), "--report", str(report))
    assert code == 1
    assert "unknown unit 'U0909'" in output
    with report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["file", "row", "column", "reason"]
    assert [str(BAD / "houses.csv"), "4", "area_m2", "must be greater than 0"] in rows
    assert [str(BAD / "zones.csv"), "6", "community_id", "unknown community 'C09'"] in rows
    assert len(rows) == 1 + 6 + 4


def test_bad_header_exits_two(tmp_path: Path) -> None:
    path = tmp_path / "houses.csv"
    path.write_text("id,unit_id\n", encoding="utf-8")
    code, output = invoke(str(path), "-w", str(tmp_path / "ws"))
    assert code == 2
    assert "area_m2" in output
