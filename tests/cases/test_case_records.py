"""Case records through the service: place matched to the registry, jurisdiction scope,
category tree and MO features checked, offender kept only as a keyed token."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from tests.cases.factories import case_input, service
from tests.registry.factories import scope_of
from zhian.access.roles import Role
from zhian.cases.schemas import CaseUpdate
from zhian.db.engine import Database
from zhian.errors import BadRequestError, ConflictError, NotFoundError
from zhian.kit.clock import ManualClock
from zhian.registry.service import RegistryService
from zhian.sim.timeline import TZ

WHEN = datetime(2026, 11, 1, 2, 0, tzinfo=TZ)


def test_a_case_at_a_house_takes_the_registry_place(db: Database, clock: ManualClock) -> None:
    with db.session() as session:
        case = service(session, clock).create(
            case_input(
                "A1", WHEN, latitude=None, longitude=None, jurisdiction_id=None, house_id="H-C-B"
            ),
            user_id=1,
            source="test",
        )
    assert (case.building_id, case.community_id, case.jurisdiction_id) == ("B-C-B", "C-B", "J-B")
    assert (case.latitude, case.longitude) == (30.27, 120.15)
    assert case.address is not None and "101" in case.address
    assert case.time_of_day == "night"


def test_a_place_outside_the_registry_needs_a_jurisdiction(
    db: Database, clock: ManualClock
) -> None:
    with db.session() as session, pytest.raises(BadRequestError) as error:
        service(session, clock).create(
            case_input("A1", WHEN, jurisdiction_id=None), user_id=1, source="test"
        )
    assert error.value.field == "jurisdiction_id"


def test_cases_are_read_and_written_within_the_scope(db: Database, clock: ManualClock) -> None:
    with db.session() as session:
        service(session, clock).create(case_input("A-1", WHEN), user_id=1, source="test")
        service(session, clock).create(
            case_input("B-1", WHEN, jurisdiction_id="J-B"), user_id=1, source="test"
        )
        tree = RegistryService(session).jurisdiction_tree()
        station_b = service(session, clock, scope_of(tree, Role.STATION_OFFICER, "J-B"))
        assert [c.id for c in station_b.list_cases()] == ["B-1"]
        with pytest.raises(NotFoundError):
            station_b.get("A-1")
        with pytest.raises(NotFoundError):
            station_b.update("A-1", CaseUpdate(status="closed"), user_id=2)
        with pytest.raises(BadRequestError) as error:
            station_b.create(case_input("A-2", WHEN), user_id=2, source="test")
        assert error.value.field == "jurisdiction_id"
        city = service(session, clock, scope_of(tree, Role.COMMAND_CENTRE, "J-CITY"))
        assert sorted(c.id for c in city.list_cases()) == ["A-1", "B-1"]


def test_a_case_number_is_taken_once(db: Database, clock: ManualClock) -> None:
    with db.session() as session:
        service(session, clock).create(case_input("A-1", WHEN), user_id=1, source="test")
        with pytest.raises(ConflictError):
            service(session, clock).create(case_input("A-1", WHEN), user_id=1, source="test")


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"category": "jaywalking"}, "category"), ({"mo": {"shoe_size": ["42"]}}, "mo.shoe_size")],
)
def test_category_and_mo_features_come_from_the_settings(
    db: Database, clock: ManualClock, fields: dict[str, object], field: str
) -> None:
    with db.session() as session, pytest.raises(BadRequestError) as error:
        service(session, clock).create(case_input("A-1", WHEN, **fields), user_id=1, source="t")
    assert error.value.field == field


def test_the_offender_is_kept_only_as_a_keyed_token(db: Database, clock: ManualClock) -> None:
    with db.session() as session:
        case = service(session, clock).create(
            case_input("A-1", WHEN, is_solved=True, offender_ref="嫌疑人-0042"),
            user_id=1,
            source="test",
        )
        assert case.has_offender
        stored = session.execute(text("SELECT offender_token FROM cases")).scalar_one()
        assert stored.startswith("tok_") and "0042" not in stored
        with pytest.raises(BadRequestError) as error:
            service(session, clock, tokens=False).create(
                case_input("A-2", WHEN, is_solved=True, offender_ref="x"), user_id=1, source="t"
            )
        assert error.value.field == "offender_ref"


def test_an_update_changes_what_it_names(db: Database, clock: ManualClock) -> None:
    with db.session() as session:
        cases = service(session, clock)
        cases.create(case_input("A-1", WHEN), user_id=1, source="test")
        later = WHEN + timedelta(hours=12)
        updated = cases.update(
            "A-1",
            CaseUpdate(
                time_from=later,
                time_to=later + timedelta(hours=1),
                status="closed",
                is_solved=True,
                offender_ref="S-1",
            ),
            user_id=2,
        )
    assert updated.time_of_day == "afternoon" and updated.status == "closed"
    assert updated.has_offender and updated.mo == {"entry_method": ["撬锁"], "target": ["住宅"]}


def test_an_address_naming_one_registry_building_places_the_case(
    db: Database, clock: ManualClock
) -> None:
    with db.session() as session:
        cases = service(session, clock)
        # Full-width digits, spaces and punctuation as a case system writes them.
        case = cases.create(
            case_input("A2", WHEN, latitude=None, longitude=None, jurisdiction_id=None,
                       address="City, Community C-B, Building C-B, unit 1, room 101"),
            user_id=1, source="test",
        )  # fmt: skip
        assert (case.building_id, case.community_id, case.jurisdiction_id) == (
            "B-C-B", "C-B", "J-B")  # fmt: skip
        assert case.address == "City, Community C-B, Building C-B, unit 1, room 101"
        # Coordinates given keep theirs; the building still names the community.
        near = cases.create(
            case_input("A3", WHEN, latitude=30.2701, longitude=120.1501, jurisdiction_id=None,
                       address="ＣＯＭＭＵＮＩＴＹ Ｃ－Ｂ ＢＵＩＬＤＩＮＧ Ｃ－Ｂ"),
            user_id=1, source="test",
        )  # fmt: skip
        assert (near.building_id, near.latitude) == ("B-C-B", 30.2701)
        # No building named, or a building name without its community: refused by field.
        for address in ("Somewhere Road 5", "Building C-B"):
            with pytest.raises(BadRequestError) as refused:
                cases.create(
                    case_input("A4", WHEN, latitude=None, longitude=None, jurisdiction_id=None,
                               address=address),
                    user_id=1, source="test",
                )  # fmt: skip
            assert refused.value.field == "address"
