"""Suspected group rental (疑似群租) on hand-made passages at houses' own smart locks:
regular occupants against floor area, visitors and parties that are not occupants, and
the device importer's house column."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from zhian.access.scope import JurisdictionScope
from zhian.config import load_settings
from zhian.devices.models import Device
from zhian.ingest.events import AccessEvent, Event, Subject
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.sim import TZ, District, build_district
from zhian.sim.scenarios_housing import locked_houses

START = datetime(2026, 11, 1, 8, 0, tzinfo=TZ)


@pytest.fixture(scope="module")
def district() -> District:
    return build_district(seed=5, scale=0.2)


@pytest.fixture
def node(tmp_path: Path, district: District) -> Iterator[Node]:
    settings = load_settings(tmp_path / "ws", log={"fsync": False})
    with Node.open(settings, ManualClock(START), feed=False) as opened:
        district.write_csv(tmp_path / "csv")
        reports = import_paths(
            opened.db,
            sorted((tmp_path / "csv").glob("*.csv")),
            identity=opened.governance.require_sealer(),
        )
        assert all(report.rejected == 0 for report in reports)
        opened.refresh_directory()
        yield opened


def _house(district: District, low: float, high: float) -> tuple[str, str, float]:
    _, house, lock, area = next(h for h in locked_houses(district) if low <= h[3] < high)
    return house, lock, area


def _evenings(lock: str, subjects: list[Subject], days: int, tag: str) -> list[Event]:
    events: list[Event] = []
    for d in range(days):
        for n, subject in enumerate(subjects):
            events.append(
                AccessEvent(
                    id=f"{tag}-{d}-{n}",
                    device_id=lock,
                    time=START + timedelta(days=d, hours=11, minutes=n),
                    subject=subject,
                    direction="in",
                    method="qr",
                    result="granted",
                )
            )
    return events


def _run(node: Node, events: list[Event], at: datetime) -> list[str]:
    assert isinstance(node.clock, ManualClock)
    node.clock.set(at)
    result = node.intake.submit_events(events, source="test")
    assert result.accepted == len(events)
    while node.feeder.feed_once():
        pass
    # The tenants are unregistered too: that model raises its own registration tasks.
    with node.alerts() as alerts:
        return [
            i
            for i in node.models.run_once()
            if alerts.get_alert(i, scope=JurisdictionScope.unscoped()).rule == "model.group_rental"
        ]


def _tenants(n: int, prefix: str = "t") -> list[Subject]:
    return [Subject("qr", f"qr-{prefix}{i}") for i in range(n)]


def test_the_rental_block_has_smart_locks_tied_to_their_houses(
    node: Node, district: District
) -> None:
    houses = locked_houses(district)
    assert len(houses) >= 10
    with node.db.session() as session:
        for _, house, lock, _ in houses:
            device = session.get(Device, lock)
            assert device is not None and device.kind == "door" and device.house_id == house


def test_more_regular_occupants_than_the_area_allows_raise_an_inspection_task(
    node: Node, district: District
) -> None:
    house, lock, area = _house(district, 12, 24)
    crowd = max(6, int(area // 5) + 2)
    (alert_id,) = _run(node, _evenings(lock, _tenants(crowd), 8, "g"), START + timedelta(days=8))
    with node.alerts() as alerts:
        detail = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    assert detail.rule == "model.group_rental"
    assert detail.place_id == house
    figures = detail.evidence.figures
    assert figures["occupants"] == crowd
    assert figures["area_m2"] == area
    assert figures["m2_per_person"] == round(area / crowd, 2)
    assert figures["param.group_rental_m2_per_person"] == 5.0
    assert figures["param.group_rental_min_days"] == 7
    assert f"近14天有{crowd}人经常出入" in detail.evidence.explanation_zh
    assert "疑似群租" in detail.evidence.explanation_zh
    assert "group rental" in detail.evidence.explanation_en
    assert detail.evidence.events
    assert all(e.device_id == lock for e in detail.evidence.events)


def test_a_large_family_with_room_enough_raises_nothing(node: Node, district: District) -> None:
    _, lock, area = _house(district, 30, 40)
    family = int(area // 5)
    assert family >= 5
    assert _run(node, _evenings(lock, _tenants(family), 10, "f"), START + timedelta(days=10)) == []


def test_too_few_days_is_a_party_not_occupants(node: Node, district: District) -> None:
    _, lock, _ = _house(district, 12, 20)
    # Ten people on six evenings: below the seven days that make a regular.
    assert _run(node, _evenings(lock, _tenants(10), 6, "p"), START + timedelta(days=7)) == []


def test_a_visiting_grandparent_counts_only_after_the_grace_period(
    node: Node, district: District
) -> None:
    house, lock, _ = _house(district, 12, 25)
    family = [*_tenants(4), Subject("visitor", "visitor-grandma")]
    events = _evenings(lock, family, 8, "v")
    assert _run(node, events, START + timedelta(days=8)) == []
    more = _evenings(lock, _tenants(1, "late"), 8, "w")
    (alert_id,) = _run(node, more, START + timedelta(days=8, hours=1))
    with node.alerts() as alerts:
        assert alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped()).place_id == house


def test_the_importer_ties_a_door_to_a_known_house_or_names_the_field(
    node: Node, tmp_path: Path, district: District
) -> None:
    site = next(s for s in district.sites if s.house_locks)
    house = next(iter(site.house_locks))
    path = tmp_path / "devices.csv"
    path.write_text(
        "id,kind,name,community_id,house_id,gateway_id,latitude,longitude\n"
        f"NEW-LOCK,door,新门锁,{site.community_id},{house},{site.gateway},30.2,120.1\n"
        f"BAD-LOCK,door,坏门锁,{site.community_id},NO-SUCH-HOUSE,{site.gateway},30.2,120.1\n",
        encoding="utf-8",
    )
    [report] = import_paths(node.db, [path])
    assert report.inserted == 1
    assert [(e.row, e.column) for e in report.errors] == [(3, "house_id")]
    with node.db.session() as session:
        device = session.get(Device, "NEW-LOCK")
        assert device is not None and device.house_id == house
