"""Imported emergency-call records (110 警情): `zhian incidents import` raises one alert per
record at its place and time, correlated with a smoke alarm at the same building, once per
record id, refusing bad rows by row, column and reason."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from tests.web.conftest import alarm_event, submit, wait_for_alert
from tests.web.test_tip_incidents import add_smoke_sensor
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter, AlertSummary
from zhian.cli.main import app
from zhian.kit.clock import ManualClock
from zhian.node import Node

MAPPING = """\
[columns]
id = "接警编号"
time = "报警时间"
category = "警情类别"
summary = "简要警情"
building_id = "楼栋"
longitude = "经度"
latitude = "纬度"
tier = "等级"

[values.category]
"火灾" = "fire"
"冒烟" = "smoke"
"盗窃" = "theft"

[values.tier]
"一般" = "general"
"重大" = "major"
"""
HEADER = "接警编号,报警时间,警情类别,简要警情,楼栋,经度,纬度,等级\n"


def run_import(node: Node, tmp_path: Path, rows: str, *, user: str = "station") -> Result:
    calls, mapping = tmp_path / "calls.csv", tmp_path / "mapping.toml"
    calls.write_text(HEADER + rows, encoding="utf-8")
    mapping.write_text(MAPPING, encoding="utf-8")
    workspace = str(node.settings.workspace)
    args = ["incidents", "import", str(calls), "--mapping", str(mapping), "--user", user,
            "--workspace", workspace]  # fmt: skip
    return CliRunner().invoke(app, args, env={"COLUMNS": "200"})


def call_alerts(node: Node) -> list[AlertSummary]:
    with node.alerts() as alerts:
        page = alerts.list_alerts(
            AlertFilter(), page=1, per_page=50, scope=JurisdictionScope.unscoped()
        )
    return [alert for alert in page.items if alert.rule == "call110"]


def record_id(alert: AlertSummary) -> str:
    """The call record's id, as the alert's title names it ("110警情 JJ-7：…")."""
    return alert.title_en.removeprefix("Emergency call ").split(":")[0]


def test_a_call_about_smoke_joins_the_smoke_alarm_of_its_building_in_one_incident(
    node: Node, clock: ManualClock, tmp_path: Path
) -> None:
    add_smoke_sensor(node, clock)
    submit(node, alarm_event("smoke-1", clock.now(), kind="smoke", device_id="SMOKE1"))
    alarm = wait_for_alert(node, "alarm_smoke")

    called_at = clock.now().strftime("%Y-%m-%d %H:%M:%S")
    result = run_import(node, tmp_path, f"JJ-001,{called_at},冒烟,1号楼冒烟,C1-B1,,,重大\n")
    assert result.exit_code == 0, result.output
    assert "1 alerts raised, 0 already imported, 0 refused" in result.output

    [call] = call_alerts(node)
    assert (call.kind, call.tier, call.place_id) == ("call_smoke", "major", "C1-B1")
    with node.alerts() as alerts:
        everywhere = JurisdictionScope.unscoped()
        from_call = alerts.get_alert(call.id, scope=everywhere)
        from_alarm = alerts.get_alert(alarm.id, scope=everywhere)
    assert from_call.incident_id is not None
    assert from_call.incident_id == from_alarm.incident_id
    # The smoke procedure, then the command centre's steps of a major alert.
    assert [step.key for step in from_call.procedure] == [
        "confirm",
        "contact",
        "command_take",
        "command_reinforce",
        "command_report",
    ]


def test_a_record_is_imported_once_by_its_own_id(
    node: Node, clock: ManualClock, tmp_path: Path
) -> None:
    called_at = clock.now().strftime("%Y-%m-%d %H:%M")
    rows = (
        f"JJ-7,{called_at},盗窃,电动车被盗,,120.15,30.27,一般\n"
        f"JJ-8,{called_at},盗窃,又一辆电动车被盗,,120.15,30.27,\n"
    )
    first = run_import(node, tmp_path, rows)
    assert "2 alerts raised, 0 already imported" in first.output, first.output
    again = run_import(node, tmp_path, rows)
    assert again.exit_code == 0, again.output
    assert "0 alerts raised, 2 already imported" in again.output
    alerts = call_alerts(node)
    assert sorted(record_id(a) for a in alerts) == ["JJ-7", "JJ-8"]
    # Placed at the building nearest its coordinates; no tier given: general.
    assert {(a.place_id, a.tier) for a in alerts} == {("C1-B1", "general")}


def test_bad_rows_are_refused_by_row_column_and_reason(
    node: Node, clock: ManualClock, tmp_path: Path
) -> None:
    called_at = clock.now().strftime("%Y-%m-%d %H:%M")
    rows = (
        f"JJ-1,{called_at},火灾,<script>x</script>,C1-B1,,,一般\n"  # row 2: markup
        f"JJ-2,yesterday,火灾,着火,C1-B1,,,一般\n"  # row 3: time
        f"JJ-3,{called_at},爆炸,巨响,C1-B1,,,一般\n"  # row 4: untranslated category
        f"JJ-4,{called_at},火灾,着火,NOPE,,,一般\n"  # row 5: unknown building
        f"JJ-5,{called_at},火灾,着火,,,,一般\n"  # row 6: no place
        f"JJ-6,{called_at},火灾,着火,,120.15,,一般\n"  # row 7: half a coordinate
        f"JJ-9,{called_at},火灾,着火,C1-B1,,,紧急\n"  # row 8: tier
        f"JJ-10,{called_at},火灾,厨房着火,C1-B1,,,重大\n"  # row 9: good
    )
    result = run_import(node, tmp_path, rows)
    assert result.exit_code == 1
    output = result.output
    for row, column, reason in (
        ("2", "简要警情", "must be plain text"),
        ("3", "报警时间", "'yesterday' is not a date and time"),
        ("4", "警情类别", "is not a short lower-case name"),
        ("5", "楼栋", "no building 'NOPE' in the registry"),
        ("6", "楼栋", "give the building or the coordinates"),
        ("7", "纬度", "give both coordinates"),
        ("8", "等级", "is not minor, general or major"),
    ):
        line = next((ln for ln in output.splitlines() if f"│ {row} " in ln), "")
        assert column in line and reason in line, (row, output)
    assert "1 alerts raised, 0 already imported, 7 refused" in output
    assert [record_id(a) for a in call_alerts(node)] == ["JJ-10"]


def test_a_call_outside_the_users_jurisdiction_is_refused(
    node: Node, clock: ManualClock, tmp_path: Path
) -> None:
    called_at = clock.now().strftime("%Y-%m-%d %H:%M")
    result = run_import(node, tmp_path, f"JJ-1,{called_at},火灾,着火,C1-B1,,,一般\n",
                        user="outsider")  # fmt: skip
    assert result.exit_code == 1
    assert "outside your jurisdiction" in result.output
    assert call_alerts(node) == []


def test_a_user_without_the_permission_is_refused(
    node: Node, clock: ManualClock, tmp_path: Path
) -> None:
    called_at = clock.now().strftime("%Y-%m-%d %H:%M")
    result = run_import(node, tmp_path, f"JJ-1,{called_at},火灾,着火,C1-B1,,,一般\n",
                        user="grid")  # fmt: skip
    assert result.exit_code == 2
    assert "does not hold 'cases.manage'" in result.output
    assert call_alerts(node) == []
