"""Utility readings: the importer's row errors, and how readings sway the vacant-house model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from zhian.access.scope import JurisdictionScope
from zhian.ingest.events import AccessEvent
from zhian.kit.clock import ManualClock
from zhian.models.utilities import UtilityService, read_readings
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.registry.service import ImportFileError
from zhian.sim import TZ, District, build_district

START = datetime(2026, 11, 1, 8, 0, tzinfo=TZ)
ABSENT_DAYS = 20  # past vacant_absent_days (14), short of moved_out_absent_days (21)


@pytest.fixture
def district() -> District:
    return build_district(seed=5, scale=0.2)


@pytest.fixture
def node(tmp_path: Path, district: District) -> Iterator[Node]:
    from zhian.config import load_settings

    settings = load_settings(tmp_path / "ws", log={"fsync": False})
    with Node.open(settings, ManualClock(START), feed=False) as opened:
        district.write_csv(tmp_path / "csv")
        # Cards and plates are sealed on import (issue #12): the node's key ring seals them.
        reports = import_paths(
            opened.db,
            sorted((tmp_path / "csv").glob("*.csv")),
            identity=opened.governance.require_sealer(),
        )
        assert all(report.rejected == 0 for report in reports)
        opened.refresh_directory()
        yield opened


def _house(district: District) -> tuple[str, list[str]]:
    """A house whose residents all pass a unit door, and those residents."""
    houses: dict[str, list[str]] = {}
    for person in district.people:
        houses.setdefault(person.house_id, []).append(person.id)
    for house, members in houses.items():
        people = [p for p in district.people if p.house_id == house]
        if all(p.unit_door is not None for p in people):
            return house, members
    raise AssertionError("no house with unit doors in the district")


def _last_seen_then_absent(node: Node, district: District, house: str) -> None:
    """Every resident of the house passes their door at START, then nothing for 20 days."""
    events = [
        AccessEvent(id=f"p{i}", device_id=p.unit_door or "", time=START, subject=p.access_subject,
                    direction="out", method="card", result="granted")
        for i, p in enumerate(p for p in district.people if p.house_id == house)
    ]  # fmt: skip
    assert node.intake.submit_events(list(events), source="test").accepted == len(events)
    while node.feeder.feed_once():
        pass
    assert isinstance(node.clock, ManualClock)
    node.clock.set(START + timedelta(days=ABSENT_DAYS))


def _readings(node: Node, house: str, water_m3: float, electricity_kwh: float) -> None:
    rows = [
        {"house_id": house, "day": (START.date() + timedelta(days=d)).isoformat(),
         "water_m3": water_m3, "electricity_kwh": electricity_kwh}
        for d in range(1, ABSENT_DAYS)
    ]  # fmt: skip
    with node.db.session() as session:
        report = UtilityService(session).load_rows(rows, source="test")
    assert report.inserted == ABSENT_DAYS - 1 and report.rejected == 0


def _vacant_alerts(node: Node) -> list[str]:
    ids = node.models.run_once()
    with node.alerts() as alerts:
        return [
            i
            for i in ids
            if alerts.get_alert(i, scope=JurisdictionScope.unscoped()).rule == "model.vacant_house"
        ]


def test_importer_names_row_column_and_reason(
    tmp_path: Path, node: Node, district: District
) -> None:
    house, _ = _house(district)
    path = tmp_path / "readings.csv"
    path.write_text(
        "house_id,day,water_m3,electricity_kwh\n"
        f"{house},2026-11-02,0.01,0.4\n"  # row 2: good
        "H-NOPE,2026-11-02,0.01,0.4\n"  # row 3: unknown house
        f"{house},2026-11-03,-1,0.4\n"  # row 4: negative water
        f"{house},2026-13-40,0.01,0.4\n"  # row 5: bad date
        f"{house},2026/11/02,0.02,0.5\n"  # row 6: the same house and day as row 2
        f"{house},2026-11-04,,abc\n"  # row 7: electricity not a number
        ",,,\n"  # blank: skipped
        f"{house},2026-11-05,,\n",  # row 9: no reading at all
        encoding="utf-8",
    )
    with node.db.session() as session:
        report = UtilityService(session).load_rows(read_readings(path), source=str(path))
        held = UtilityService(session).readings_since(date(2026, 11, 1))
    errors = {(e.row, e.column): e.reason for e in report.errors}
    assert errors[(3, "house_id")] == "unknown house 'H-NOPE'"
    assert "negative" in errors[(4, "water_m3")]
    assert "bad date" in errors[(5, "day")]
    assert errors[(6, "day")].startswith("duplicate") and "row 2" in errors[(6, "day")]
    assert "not a number" in errors[(7, "electricity_kwh")]
    assert "no reading" in errors[(9, "water_m3")]
    assert (report.total, report.inserted, report.rejected) == (7, 1, 6)
    assert [(r.day, r.water_m3, r.electricity_kwh) for r in held[house]] == [
        (date(2026, 11, 2), 0.01, 0.4)
    ]

    # A corrected reading replaces the one held; the same one again changes nothing.
    with node.db.session() as session:
        again = UtilityService(session).load_rows(
            [{"house_id": house, "day": "2026-11-02", "water_m3": 0.3, "electricity_kwh": 0.4},
             {"house_id": house, "day": "2026-11-03", "water_m3": 0.3, "electricity_kwh": None}]
        )  # fmt: skip
    assert (again.inserted, again.updated, again.unchanged) == (1, 1, 0)


def test_a_file_without_the_needed_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "readings.csv"
    path.write_text("house_id,water_m3\nH1,0.1\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="missing column day"):
        read_readings(path)
    path.write_text("house_id,day,water_m3,gas_m3\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="unknown column gas_m3"):
        read_readings(path)


def test_vacant_house_with_zero_readings_is_flagged_with_them_in_evidence(
    node: Node, district: District
) -> None:
    house, members = _house(district)
    _last_seen_then_absent(node, district, house)
    _readings(node, house, water_m3=0.0, electricity_kwh=0.3)
    (alert_id,) = _vacant_alerts(node)
    with node.alerts() as alerts:
        detail = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    assert detail.place_id == house
    figures = detail.evidence.figures
    assert figures["utility_days"] == ABSENT_DAYS - 1
    assert figures["utility_consuming_days"] == 0
    assert figures["water_m3_per_day"] == 0.0
    assert figures["electricity_kwh_per_day"] == 0.3
    assert figures["param.utility_water_baseline_m3"] == 0.05
    assert figures["registered_residents"] == len(members)
    assert "日均用水0.00m³" in detail.evidence.explanation_zh
    assert "日均用电0.3kWh" in detail.evidence.explanation_zh
    assert detail.evidence.explanation_zh.endswith("疑似空置")


def test_absent_but_consuming_house_is_not_flagged(node: Node, district: District) -> None:
    house, _ = _house(district)
    _last_seen_then_absent(node, district, house)
    _readings(node, house, water_m3=0.25, electricity_kwh=6.0)
    assert _vacant_alerts(node) == []


def test_without_readings_the_model_judges_passages_alone(node: Node, district: District) -> None:
    house, _ = _house(district)
    _last_seen_then_absent(node, district, house)
    (alert_id,) = _vacant_alerts(node)
    with node.alerts() as alerts:
        detail = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    assert detail.place_id == house
    assert "utility_days" not in detail.evidence.figures
    assert "param.utility_water_baseline_m3" not in detail.evidence.figures
    assert "水电" not in detail.evidence.explanation_zh
