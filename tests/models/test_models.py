"""Model behaviour on hand-made passages: opt-in only, per-community parameters, alerts
that explain themselves, and the feedback loop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete

from zhian.access.scope import JurisdictionScope
from zhian.devices.models import Device
from zhian.governance.masking import mask_plate
from zhian.ingest.events import AccessEvent, Event, Subject, VehicleEvent
from zhian.kit.clock import ManualClock
from zhian.models.feedback import collect_feedback
from zhian.models.orm import WelfareOptin
from zhian.models.parameters import ParameterService
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.sim import TZ, District, build_district

START = datetime(2026, 11, 1, 8, 0, tzinfo=TZ)


@pytest.fixture
def district() -> District:
    return build_district(seed=5, scale=0.2)


@pytest.fixture(params=["duckdb", "parquet"])
def node(request: pytest.FixtureRequest, tmp_path: Path, district: District) -> Iterator[Node]:
    """A node on either event store: the models read it through the same named queries."""
    from zhian.config import load_settings

    settings = load_settings(tmp_path / "ws", log={"fsync": False}, store={"type": request.param})
    clock = ManualClock(START)
    with Node.open(settings, clock, feed=False) as opened:
        district.write_csv(tmp_path / "csv")
        reports = import_paths(
            opened.db,
            sorted((tmp_path / "csv").glob("*.csv")),
            identity=opened.governance.require_sealer(),
        )
        assert all(report.rejected == 0 for report in reports)
        opened.refresh_directory()
        yield opened


def _submit(node: Node, events: list[Event]) -> None:
    result = node.intake.submit_events(events, source="test")
    assert result.accepted == len(events)
    while node.feeder.feed_once():
        pass


def _retiree_door(district: District) -> tuple[str, str, Subject]:
    person = next(p for p in district.people if p.unit_door is not None)
    assert person.unit_door is not None
    return person.id, person.unit_door, person.access_subject


def _at(node: Node, moment: datetime) -> None:
    assert isinstance(node.clock, ManualClock)
    node.clock.set(moment)


def test_welfare_check_only_for_opted_in_residents_last_seen_coming_home(
    node: Node, district: District
) -> None:
    resident, door, subject = _retiree_door(district)
    _submit(node, [AccessEvent(id="w1", device_id=door, time=START, subject=subject,
                               direction="in", method="card", result="granted")])  # fmt: skip
    _at(node, START + timedelta(hours=80))
    assert node.models.run_once() == []  # not opted in: nothing, however long
    with node.db.session() as session:
        session.add(WelfareOptin(resident_id=resident, requested_by="guardian", since=START))
    (alert_id,) = node.models.run_once()
    with node.alerts() as alerts:
        detail = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    assert detail.rule == "model.welfare_check"
    assert detail.place_id == next(p.house_id for p in district.people if p.id == resident)
    assert "小时未见出入" in detail.evidence.explanation_zh
    assert detail.evidence.figures["param.welfare_silent_hours"] == 72
    assert detail.evidence.figures["requested_by"] == "guardian"
    assert detail.evidence.figures["parameters_url"] == f"/models/communities/{detail.community_id}"
    assert [e.id for e in detail.evidence.events] == ["w1"]


def test_a_resident_who_went_out_is_away_not_a_welfare_case(node: Node, district: District) -> None:
    resident, door, subject = _retiree_door(district)
    _submit(node, [AccessEvent(id="o1", device_id=door, time=START, subject=subject,
                               direction="out", method="card", result="granted")])  # fmt: skip
    with node.db.session() as session:
        session.add(WelfareOptin(resident_id=resident, requested_by="self", since=START))
    _at(node, START + timedelta(days=5))
    assert node.models.run_once() == []


def _muck_truck(district: District) -> tuple[str, str, VehicleEvent]:
    site = next(s for s in district.sites if s.vehicle_gates)
    truck = district.muck_trucks[0]
    event = VehicleEvent(
        id="m1",
        device_id=site.vehicle_gates[0],
        time=START.replace(hour=14),
        plate=truck.plate,
        plate_color=truck.plate_color,
        vehicle_class=truck.vehicle_class,
        direction="in",
    )
    return site.community_id, truck.plate, event


def test_community_parameters_change_what_fires_and_are_shown(
    node: Node, district: District
) -> None:
    community, plate, event = _muck_truck(district)
    _at(node, START.replace(hour=15))
    _submit(node, [event])
    with node.db.session() as session:
        ParameterService(session).set_values(
            community,
            {"muck_allowed_from_hour": 9, "muck_allowed_until_hour": 17},
            defaults=node.settings.models,
            user_id=None,
            now=node.clock.now(),
        )
    assert node.models.run_once() == []  # this community permits muck trucks by day
    with node.db.session() as session:
        ParameterService(session).set_values(
            community,
            {"muck_allowed_from_hour": 22, "muck_allowed_until_hour": 5},
            defaults=node.settings.models,
            user_id=None,
            now=node.clock.now(),
        )
        assert ParameterService(session).overrides() == {}  # back at the defaults
    (alert_id,) = node.models.run_once()
    with node.alerts() as alerts:
        detail = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    # The store holds the plate only as a token: the sentence shows its masked form.
    assert f"渣土车{mask_plate(plate)}" in detail.evidence.explanation_zh
    assert plate not in detail.evidence.explanation_zh + detail.evidence.explanation_en
    assert detail.evidence.figures["param.muck_allowed_from_hour"] == 22
    # The place rule it broke, and which part of it.
    assert detail.evidence.figures["place_rule"] == "muck_truck"
    assert detail.evidence.figures["rule_broken"] == "hours"


def test_parameters_are_checked_by_name_and_bounds(node: Node) -> None:
    from zhian.errors import BadRequestError

    with node.db.session() as session, pytest.raises(BadRequestError) as caught:
        ParameterService(session).set_values(
            "C01", {"muck_allowed_from_hour": 30}, defaults=node.settings.models,
            user_id=None, now=node.clock.now(),
        )  # fmt: skip
    assert caught.value.field == "muck_allowed_from_hour"
    with node.db.session() as session, pytest.raises(BadRequestError) as unknown:
        ParameterService(session).set_values(
            "C01", {"ethnicity": 1}, defaults=node.settings.models, user_id=None,
            now=node.clock.now(),
        )  # fmt: skip
    assert unknown.value.field == "ethnicity"


def test_false_alarm_feedback_lowers_running_precision(node: Node, district: District) -> None:
    community, _, event = _muck_truck(district)
    _at(node, START.replace(hour=15))
    _submit(node, [event])
    (alert_id,) = node.models.run_once()
    with node.alerts() as alerts:
        before = collect_feedback(alerts, scope=JurisdictionScope.unscoped())[
            ("model.restricted_vehicle", None)
        ]
        assert before.precision is None
        alerts.close(
            alert_id,
            scope=JurisdictionScope.unscoped(),
            user_id=1,
            outcome="false_alarm",
            note="permit shown",
        )
    with node.alerts() as alerts:
        feedback = collect_feedback(alerts, scope=JurisdictionScope.unscoped())
    assert feedback[("model.restricted_vehicle", community)].false_alarms == 1
    assert feedback[("model.restricted_vehicle", None)].precision == 0.0


def _car_at_gate(
    district: District, event_id: str, gate: str, at: datetime, direction: str, *, trade: bool
) -> VehicleEvent:
    car = district.trade_plates[0] if trade else district.passing_plates[0]
    return VehicleEvent(
        id=event_id, device_id=gate, time=at, plate=car.plate, plate_color=car.plate_color,
        vehicle_class=car.vehicle_class, direction="in" if direction == "in" else "out",
    )  # fmt: skip


def _zombies(node: Node, moment: datetime) -> list[dict[str, object]]:
    _at(node, moment)
    found = []
    with node.alerts() as alerts:
        for alert_id in node.models.run_once():
            detail = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
            if detail.rule == "model.zombie_vehicle":
                found.append(dict(detail.evidence.figures))
    return found


def _parked_read(
    district: District, event_id: str, camera: str, at: datetime, *, trade: bool = False
) -> VehicleEvent:
    """A car-park camera's read of the car standing parked (its direction means nothing)."""
    return _car_at_gate(district, event_id, camera, at, "in", trade=trade)


def _without_parking_cameras(node: Node, district: District) -> None:
    """The community as one without car-park cameras: gate reads only."""
    cameras = [camera for site in district.sites for camera in site.parking]
    with node.db.session() as session:
        session.execute(delete(Device).where(Device.id.in_(cameras)))
    node.refresh_directory()


def test_a_stranger_car_read_parked_is_a_zombie_one_read_elsewhere_later_left(
    node: Node, district: District
) -> None:
    site = next(s for s in district.sites if s.vehicle_gates)
    gate, [camera] = site.vehicle_gates[0], site.parking
    assert district.passing_plates[0].vehicle_class not in ("van", "truck")
    entered = _car_at_gate(district, "z1", gate, START, "in", trade=False)
    parked = [
        _parked_read(district, f"p{d}", camera, START + timedelta(days=d)) for d in range(1, 8)
    ]
    _at(node, START + timedelta(days=8))  # the reads lie in the past
    _submit(node, [entered, *parked])
    [alert] = _zombies(node, START + timedelta(days=8))
    assert alert["param.zombie_absent_days"] == 7 and alert["days_since_entry"] == 8.0
    assert alert["evidence"] == "parked_reads" and alert["days_read_parked"] == 7
    assert alert["last_parked_read"] == f"{START + timedelta(days=7):%Y-%m-%d %H:%M}"
    # Two days after it entered, the district's checkpoint read it: its way out was missed.
    checkpoint = district.public.checkpoint
    later = _car_at_gate(district, "z2", checkpoint, START + timedelta(days=2), "out", trade=False)
    _submit(node, [later])
    assert _zombies(node, START + timedelta(days=9)) == []


def test_with_car_park_cameras_a_car_not_read_parked_lately_left_unseen(
    node: Node, district: District
) -> None:
    site = next(s for s in district.sites if s.vehicle_gates)
    gate, [camera] = site.vehicle_gates[0], site.parking
    _at(node, START + timedelta(days=8))  # the reads lie in the past
    _submit(node, [_car_at_gate(district, "z1", gate, START, "in", trade=False)])
    # Never read parked since it entered: the gate missed its way out.
    assert _zombies(node, START + timedelta(days=8)) == []
    # Read parked for three days, then no more: it left on the fourth, unseen by the gate.
    _submit(
        node,
        [_parked_read(district, f"p{d}", camera, START + timedelta(days=d)) for d in (1, 2, 3)],
    )
    assert _zombies(node, START + timedelta(days=8)) == []
    # Read again the day before: it is there (the camera missed it for a few days).
    _submit(node, [_parked_read(district, "p7", camera, START + timedelta(days=7))])
    [alert] = _zombies(node, START + timedelta(days=8))
    assert alert["days_read_parked"] == 4
    # A car-park camera of another community read it: it left this one.
    other = next(s for s in district.sites if s.parking and s is not site).parking[0]
    _submit(node, [_parked_read(district, "q1", other, START + timedelta(days=7, hours=2))])
    assert _zombies(node, START + timedelta(days=8)) == []


def test_a_zombie_alert_names_its_evidence(node: Node, district: District) -> None:
    site = next(s for s in district.sites if s.vehicle_gates)
    entered = _car_at_gate(district, "z1", site.vehicle_gates[0], START, "in", trade=False)
    parked = _parked_read(district, "p1", site.parking[0], START + timedelta(days=7, hours=20))
    _at(node, START + timedelta(days=8))
    _submit(node, [entered, parked])
    with node.alerts() as alerts:
        found = [
            alerts.get_alert(i, scope=JurisdictionScope.unscoped()) for i in node.models.run_once()
        ]
    [alert] = [a for a in found if a.rule == "model.zombie_vehicle"]
    assert "the car-park camera last read it parked on 11-09 04:00" in alert.evidence.explanation_en
    assert "车位相机最近于11-09 04:00识读到其停放" in alert.evidence.explanation_zh
    assert "nor been read at any device but its car-park camera" in alert.evidence.explanation_en
    assert "gate reads only" not in alert.evidence.explanation_en


def test_without_car_park_cameras_a_zombie_alert_says_it_rests_on_gate_reads_only(
    node: Node, district: District
) -> None:
    _without_parking_cameras(node, district)
    site = next(s for s in district.sites if s.vehicle_gates)
    _submit(node, [_car_at_gate(district, "z1", site.vehicle_gates[0], START, "in", trade=False)])
    _at(node, START + timedelta(days=8))
    with node.alerts() as alerts:
        found = [
            alerts.get_alert(i, scope=JurisdictionScope.unscoped()) for i in node.models.run_once()
        ]
    [alert] = [a for a in found if a.rule == "model.zombie_vehicle"]
    # What it rests on, and what that evidence cannot tell (issue #20: a missed exit).
    assert "nor been read at any other device" in alert.evidence.explanation_en
    assert "a car whose way out the gate missed reads the same" in alert.evidence.explanation_en
    assert "驶出漏读的车辆表现相同" in alert.evidence.explanation_zh
    assert alert.evidence.figures["evidence"] == "gate_reads_only"


def test_a_delivery_van_waits_for_the_commercial_threshold(node: Node, district: District) -> None:
    _without_parking_cameras(node, district)
    site = next(s for s in district.sites if s.vehicle_gates)
    van = district.trade_plates[0]
    assert van.vehicle_class in ("van", "truck")
    _submit(node, [_car_at_gate(district, "v1", site.vehicle_gates[0], START, "in", trade=True)])
    assert _zombies(node, START + timedelta(days=8)) == []  # a van's exit read was missed
    [alert] = _zombies(node, START + timedelta(days=31))
    assert alert["param.zombie_commercial_absent_days"] == 30
    assert alert["vehicle_class"] == van.vehicle_class


def _truck_passage(
    district: District, event_id: str, at: datetime, direction: str, truck: int = 0
) -> VehicleEvent:
    _, _, event = _muck_truck(district)
    car = district.muck_trucks[truck]
    return VehicleEvent(
        id=event_id, device_id=event.device_id, time=at, plate=car.plate,
        plate_color=car.plate_color, vehicle_class=car.vehicle_class,
        direction="in" if direction == "in" else "out",
    )  # fmt: skip


def _restricted(node: Node, moment: datetime) -> list[dict[str, object]]:
    _at(node, moment)
    found = []
    with node.alerts() as alerts:
        for alert_id in node.models.run_once():
            detail = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
            if detail.rule == "model.restricted_vehicle":
                found.append(
                    {"zh": detail.evidence.explanation_zh, **dict(detail.evidence.figures)}
                )
    return found


def test_a_muck_truck_whose_entry_was_not_read_is_judged_by_its_way_out(
    node: Node, district: District
) -> None:
    day = START.replace(hour=0) + timedelta(days=1)
    _at(node, day.replace(hour=6))
    # At night: in and out read, and one whose entry was missed leaving at 05:10 (it may
    # have come in before 05:00): nothing.
    _submit(node, [
        _truck_passage(district, "n1", day.replace(hour=23) - timedelta(days=1), "in"),
        _truck_passage(district, "n2", day.replace(hour=23, minute=15) - timedelta(days=1), "out"),
        _truck_passage(district, "n3", day.replace(hour=5, minute=10), "out"),
    ])  # fmt: skip
    assert _restricted(node, day.replace(hour=6)) == []
    # In the afternoon, only its way out was read, twice (a duplicated read): one alert.
    _at(node, day.replace(hour=15))
    _submit(node, [
        _truck_passage(district, "d1", day.replace(hour=14, minute=30), "out"),
        _truck_passage(district, "d2", day.replace(hour=14, minute=30, second=4), "out"),
    ])  # fmt: skip
    [alert] = _restricted(node, day.replace(hour=15))
    assert alert["entry_read"] == "missed" and alert["rule_broken"] == "hours"
    assert "驶入未被识读" in str(alert["zh"])
    # Another truck read coming in and going out: the entry raises it, the exit nothing.
    _at(node, day.replace(hour=17))
    _submit(node, [
        _truck_passage(district, "e1", day.replace(hour=16), "in", truck=1),
        _truck_passage(district, "e2", day.replace(hour=16, minute=20), "out", truck=1),
    ])  # fmt: skip
    alerts = _restricted(node, day.replace(hour=17))
    assert sorted(str(a.get("entry_read")) for a in alerts) == ["None", "missed"]
