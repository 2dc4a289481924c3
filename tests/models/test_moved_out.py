"""Suspected moved out: an adult never seen at all while the household is seen (issue #20,
the mover whose only passages, on the way out, the readers missed)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from zhian.access.scope import JurisdictionScope
from zhian.ingest.events import AccessEvent
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.sim import TZ, District, build_district
from zhian.sim.people import REFERENCE_YEAR, Person

START = datetime(2026, 11, 1, 8, 0, tzinfo=TZ)


@pytest.fixture
def district() -> District:
    return build_district(seed=5, scale=0.2)


@pytest.fixture
def node(tmp_path: Path, district: District) -> Iterator[Node]:
    from zhian.config import load_settings

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


def _age(district: District, person: Person) -> int:
    [row] = [r for r in district.tables["residents"] if r["id"] == person.id]
    return REFERENCE_YEAR - int(str(row["birth_year"]))


def _household(district: District, *, adults: int) -> list[Person]:
    """The people of a house with at least `adults` adults, all passing a unit door."""
    houses: dict[str, list[Person]] = {}
    for person in district.people:
        houses.setdefault(person.house_id, []).append(person)
    for people in houses.values():
        grown = [p for p in people if _age(district, p) >= 18]
        if len(grown) >= adults and all(p.unit_door is not None for p in people):
            return people
    raise AssertionError(f"no house with {adults} adults behind a unit door")


def _pass_daily(node: Node, people: list[Person], days: range) -> None:
    """Each of `people` passes their unit door once on each of `days` (counted from START);
    the clock moves on to just after the last."""
    assert isinstance(node.clock, ManualClock)
    node.clock.set(START + timedelta(days=days[-1], minutes=1))
    events = [
        AccessEvent(id=f"d{day}-{p.id}", device_id=p.unit_door or "",
                    time=START + timedelta(days=day), subject=p.access_subject,
                    direction="out", method="card", result="granted")
        for day in days for p in people
    ]  # fmt: skip
    assert node.intake.submit_events(events, source="test").accepted == len(events)
    while node.feeder.feed_once():
        pass


def _moved_out(node: Node, at: datetime) -> list[str]:
    """The English explanations of the moved-out alerts of a run at `at` (they name the
    resident; an alert's summary does not carry its subject)."""
    assert isinstance(node.clock, ManualClock)
    node.clock.set(at)
    ids = node.models.run_once()
    with node.alerts() as alerts:
        found = [alerts.get_alert(i, scope=JurisdictionScope.unscoped()) for i in ids]
    return [a.evidence.explanation_en for a in found if a.rule == "model.moved_out"]


def _naming(alerts: list[str], people: list[Person]) -> list[str]:
    return [text for text in alerts if any(p.id in text for p in people)]


def test_an_adult_never_seen_while_the_household_is_seen_alerts_after_the_wait(
    node: Node, district: District
) -> None:
    people = _household(district, adults=2)
    mover = next(p for p in people if _age(district, p) >= 18)
    staying = [p for p in people if p is not mover]
    _pass_daily(node, staying, range(21))
    # Seen for 20 days: not yet (the same wait as for one last seen 20 days ago).
    assert not _naming(_moved_out(node, START + timedelta(days=20, hours=2)), people)
    _pass_daily(node, staying, range(21, 23))
    alerts = _moved_out(node, START + timedelta(days=22, hours=2))
    [alert] = _naming(alerts, people)  # the others, seen daily, and any child: nothing
    assert mover.id in alert
    assert "has not been seen once in the 22 days" in alert


def test_a_child_never_seen_raises_nothing(node: Node, district: District) -> None:
    houses: dict[str, list[Person]] = {}
    for person in district.people:
        houses.setdefault(person.house_id, []).append(person)
    people = next(
        ps
        for ps in houses.values()
        if any(_age(district, p) < 18 for p in ps)
        and any(_age(district, p) >= 18 for p in ps)
        and all(p.unit_door is not None for p in ps)
    )
    adults = [p for p in people if _age(district, p) >= 18]
    _pass_daily(node, adults, range(23))
    assert not _naming(_moved_out(node, START + timedelta(days=22, hours=2)), people)
