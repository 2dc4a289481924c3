"""Zombie-vehicle and vacancy thresholds per place type: a campsite's campers stay for
weeks, so the campsite sets its own threshold; a community's own value still wins."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from zhian.access.scope import JurisdictionScope
from zhian.config import load_settings
from zhian.errors import BadRequestError
from zhian.ingest.events import VehicleEvent
from zhian.kit.clock import ManualClock
from zhian.models.parameters import ParameterService
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.sim import TZ, build_district

START = datetime(2026, 11, 1, 8, 0, tzinfo=TZ)
CAMP, GATE = "CAMP1", "CAMP1-VG1"


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """The simulator's district plus a campsite with a vehicle gate, imported as CSV."""
    settings = load_settings(tmp_path / "ws", log={"fsync": False})
    with Node.open(settings, ManualClock(START), feed=False) as opened:
        district = build_district(seed=5, scale=0.1)
        district.write_csv(tmp_path / "csv")
        place = district.tables["communities"][0]
        (tmp_path / "campsite").mkdir()
        _write(
            tmp_path / "campsite" / "communities.csv",
            [{**place, "id": CAMP, "name": "湖畔营地", "kind": "campsite"}],
        )
        gate = next(d for d in district.tables["devices"] if d["kind"] == "vehicle_gate")
        _write(
            tmp_path / "campsite" / "devices.csv",
            [{**gate, "id": GATE, "name": "营地车辆道闸", "community_id": CAMP}],
        )
        paths = sorted((tmp_path / "csv").glob("*.csv"))
        paths += [tmp_path / "campsite" / "communities.csv", tmp_path / "campsite" / "devices.csv"]
        reports = import_paths(opened.db, paths, identity=opened.governance.require_sealer())
        assert all(report.rejected == 0 for report in reports), reports
        opened.refresh_directory()
        yield opened


def _camper_enters(node: Node) -> None:
    passage = VehicleEvent(
        id="camper-in", device_id=GATE, time=START, plate="苏E12345", plate_color="blue",
        vehicle_class="car", direction="in",
    )  # fmt: skip
    assert node.intake.submit_events([passage], source="test").accepted == 1
    while node.feeder.feed_once():
        pass


def _zombie_alerts(node: Node, days: int) -> list[dict[str, object]]:
    assert isinstance(node.clock, ManualClock)
    node.clock.set(START + timedelta(days=days))
    found = []
    with node.alerts() as alerts:
        for alert_id in node.models.run_once():
            detail = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
            if detail.rule == "model.zombie_vehicle":
                found.append({"place": detail.place_id, **detail.evidence.figures})
    return found


def _set_campsite(node: Node, days: int) -> None:
    with node.db.session() as session:
        ParameterService(session).set_place_type_values(
            "campsite", {"zombie_absent_days": days}, defaults=node.settings.models,
            user_id=None, now=node.clock.now(),
        )  # fmt: skip


def test_a_campsite_has_its_own_zombie_threshold(node: Node) -> None:
    _camper_enters(node)
    _set_campsite(node, 30)
    assert _zombie_alerts(node, 10) == []  # ten days at a campsite is a holiday
    [alert] = _zombie_alerts(node, 31)
    assert alert["place"] == CAMP and alert["param.zombie_absent_days"] == 30


def test_without_a_place_type_value_the_default_applies_and_a_community_value_wins(
    node: Node,
) -> None:
    _camper_enters(node)
    [alert] = _zombie_alerts(node, 8)  # the node default: 7 days
    assert alert["param.zombie_absent_days"] == 7
    _set_campsite(node, 30)
    with node.db.session() as session:
        service = ParameterService(session)
        service.set_values(
            CAMP, {"zombie_absent_days": 20}, defaults=node.settings.models, user_id=None,
            now=node.clock.now(),
        )  # fmt: skip
        assert service.overrides()[CAMP] == {"zombie_absent_days": 20.0}
        effective = service.effective(node.settings.models, CAMP)
        assert (effective.zombie_absent_days, effective.vacant_absent_days) == (20, 14)


def test_place_type_values_are_checked_by_type_name_and_bounds(node: Node) -> None:
    defaults = node.settings.models
    with node.db.session() as session:
        service = ParameterService(session)
        cases = [
            ("ski_resort", {"zombie_absent_days": 30}, "place_type"),
            ("campsite", {"muck_allowed_from_hour": 9}, "muck_allowed_from_hour"),
            ("campsite", {"vacant_absent_days": 0}, "vacant_absent_days"),
        ]
        for place_type, values, field in cases:
            with pytest.raises(BadRequestError) as caught:
                service.set_place_type_values(
                    place_type, values, defaults=defaults, user_id=None, now=START
                )
            assert caught.value.field == field
