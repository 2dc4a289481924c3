"""Restricted places from the master data: a gate that only its community's vehicles may
pass by day raises an alert for each passage that breaks the rule, naming the rule and
the part broken, on either event store."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from zhian.access.scope import JurisdictionScope
from zhian.config import load_settings
from zhian.governance.masking import mask_plate
from zhian.ingest.events import VehicleEvent
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.sim import TZ, District, build_district

START = datetime(2026, 11, 2, 0, 0, tzinfo=TZ)
RULE = "护林通道仅限本社区车辆白天通行"
RANGERS = "浙A·F0001，苏E 99999"


@pytest.fixture
def district() -> District:
    return build_district(seed=5, scale=0.1)


@pytest.fixture(params=["duckdb", "parquet"])
def node(request: pytest.FixtureRequest, tmp_path: Path, district: District) -> Iterator[Node]:
    settings = load_settings(tmp_path / "ws", log={"fsync": False}, store={"type": request.param})
    with Node.open(settings, ManualClock(START), feed=False) as opened:
        district.write_csv(tmp_path / "csv")
        gate = _gate(district)
        with (tmp_path / "csv" / "place_restrictions.csv").open("w", encoding="utf-8") as file:
            writer = csv.writer(file)
            header = (
                "id,device_id,name,allowed_owners,allowed_from_hour,allowed_until_hour,"
                "allowed_plates"
            )
            writer.writerow(header.split(","))
            # The rangers' own trucks, registered nowhere, written as people write plates.
            writer.writerow(["G1", gate, RULE, "community", "6", "20", RANGERS])
        reports = import_paths(
            opened.db,
            sorted((tmp_path / "csv").glob("*.csv")),
            identity=opened.governance.require_sealer(),
        )
        assert all(report.rejected == 0 for report in reports), reports
        opened.refresh_directory()
        yield opened


def _gate(district: District) -> str:
    return next(
        str(d["id"])
        for d in district.tables["devices"]
        if d["kind"] == "vehicle_gate" and d["community_id"] == "C01"
    )


def _own_plate(district: District) -> str:
    return next(str(v["plate"]) for v in district.tables["vehicles"] if v["community_id"] == "C01")


def _pass(node: Node, district: District, event_id: str, plate: str, hour: int) -> None:
    passage = VehicleEvent(
        id=event_id, device_id=_gate(district), time=START + timedelta(hours=hour), plate=plate,
        plate_color="yellow", vehicle_class="truck", direction="in",
    )  # fmt: skip
    assert node.intake.submit_events([passage], source="test").accepted == 1


def test_passages_breaking_a_restricted_gates_rule_alert_with_the_rule_and_the_part(
    node: Node, district: District
) -> None:
    own = _own_plate(district)
    assert isinstance(node.clock, ManualClock)
    node.clock.set(START + timedelta(hours=23, minutes=30))
    _pass(node, district, "stranger-night", "苏E12345", 2)  # not the forest's vehicle
    _pass(node, district, "own-day", own, 12)  # keeps the rule
    _pass(node, district, "own-night", own, 23)  # the forest's own vehicle, at night
    while node.feeder.feed_once():
        pass
    with node.alerts() as alerts:
        details = [
            alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
            for alert_id in node.models.run_once()
        ]
    found = {
        d.evidence.events[0].id: d for d in details if d.evidence.figures.get("place_rule") == "G1"
    }
    assert set(found) == {"stranger-night", "own-night"}
    stranger, night = found["stranger-night"], found["own-night"]
    assert stranger.evidence.figures["rule_broken"] == "vehicle"
    assert night.evidence.figures["rule_broken"] == "hours"
    assert f"违反限行规则“{RULE}”：车辆不在许可之列" in stranger.evidence.explanation_zh
    assert "非许可时段（许可时段6:00–20:00）" in night.evidence.explanation_zh
    # Rarity, a second signal on the alert: the stranger was never seen here before, the
    # forest's own vehicle once, by day.
    assert stranger.evidence.figures["seen_here_before"] == 0
    assert night.evidence.figures["seen_here_before"] == 1
    assert night.evidence.figures["seen_here_at_hour_before"] == 0
    assert night.evidence.figures["rarity"] == 1.0
    # Plates appear masked only.
    assert mask_plate("苏E12345") in stranger.evidence.explanation_zh
    assert "苏E12345" not in stranger.evidence.explanation_zh + stranger.evidence.explanation_en


def test_a_plate_on_the_rules_list_is_allowed_and_held_only_as_a_token(
    node: Node, district: District
) -> None:
    from sqlalchemy import select

    from zhian.registry.models import PlaceRestriction

    with node.db.session() as session:
        row = session.scalars(select(PlaceRestriction)).one()
        assert row.allowed_plates_masked == f"{mask_plate('浙AF0001')},{mask_plate('苏E99999')}"
        assert row.allowed_plates_token is not None and "F0001" not in row.allowed_plates_token
        assert row.allowed_plates_enc is not None
    assert isinstance(node.clock, ManualClock)
    node.clock.set(START + timedelta(hours=23, minutes=30))
    _pass(node, district, "ranger-day", "浙AF0001", 10)  # on the list, by day: allowed
    _pass(node, district, "ranger-night", "苏E99999", 22)  # on the list, at night
    _pass(node, district, "other-day", "苏E99998", 11)  # not on the list
    while node.feeder.feed_once():
        pass
    with node.alerts() as alerts:
        details = [
            alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
            for alert_id in node.models.run_once()
        ]
    found = {
        d.evidence.events[0].id: d.evidence.figures["rule_broken"]
        for d in details
        if d.evidence.figures.get("place_rule") == "G1"
    }
    assert found == {"ranger-night": "hours", "other-day": "vehicle"}


def test_an_unreadable_allowed_plate_is_refused_naming_the_column(
    tmp_path: Path, district: District
) -> None:
    settings = load_settings(tmp_path / "ws2", log={"fsync": False})
    with Node.open(settings, ManualClock(START), feed=False) as opened:
        district.write_csv(tmp_path / "csv2")
        path = tmp_path / "csv2" / "place_restrictions.csv"
        path.write_text(
            f'id,device_id,name,allowed_plates\nG2,{_gate(district)},{RULE},"浙AF0001,浙A<F2>"\n',
            encoding="utf-8",
        )
        reports = import_paths(
            opened.db, sorted((tmp_path / "csv2").glob("*.csv")),
            identity=opened.governance.require_sealer(),
        )  # fmt: skip
    [report] = [r for r in reports if r.entity == "place_restrictions"]
    [error] = report.errors
    assert report.rejected == 1 and error.column == "allowed_plates"
    assert "浙A<F2>" in error.reason
