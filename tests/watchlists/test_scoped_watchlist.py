"""The watchlist is read within the caller's jurisdiction scope, in the repository's SQL:
another jurisdiction's entries are not listed, not found by id, not matched by plate, and
cannot be withdrawn; entries cannot be added to a jurisdiction outside the scope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from tests.registry.factories import SEALER, load_two_stations, scope_of
from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope
from zhian.db import migrate
from zhian.db.engine import Database, make_engine
from zhian.errors import BadRequestError, NotFoundError
from zhian.kit.clock import ManualClock
from zhian.registry.service import RegistryService
from zhian.watchlists.repository import WatchlistRepository
from zhian.watchlists.schemas import WatchlistEntryCreate
from zhian.watchlists.service import WatchlistService

OFFICER = 7
PLATES = {"J-A": "浙A11111", "J-B": "浙B22222", "J-CITY": "浙C33333"}


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)  # via the module: tests/conftest.py copies a migrated template
    database = Database(engine)
    load_two_stations(database)
    yield database
    engine.dispose()


@pytest.fixture
def ids(db: Database, clock: ManualClock) -> dict[str, int]:
    """One active plate entry per jurisdiction, added by the system (unscoped)."""
    expires = clock.now() + timedelta(days=30)
    with db.session() as session:
        system = WatchlistService(
            session, clock=clock, scope=JurisdictionScope.unscoped(), identity=SEALER
        )
        return {
            jurisdiction: system.add(_entry(jurisdiction, plate, expires), user_id=OFFICER).id
            for jurisdiction, plate in PLATES.items()
        }


def _entry(jurisdiction_id: str, plate: str, expires: object) -> WatchlistEntryCreate:
    return WatchlistEntryCreate.model_validate(
        {
            "target": "plate",
            "plate": plate,
            "label": "被盗车辆",
            "legal_basis_kind": "stolen_vehicle",
            "legal_basis_ref": f"BD-{plate}",
            "jurisdiction_id": jurisdiction_id,
            "expires_at": expires,
        }
    )


def _scope(session: Session, role: Role, jurisdiction_id: str) -> JurisdictionScope:
    return scope_of(RegistryService(session).jurisdiction_tree(), role, jurisdiction_id)


def _service(session: Session, clock: ManualClock, jurisdiction_id: str) -> WatchlistService:
    scope = _scope(session, Role.STATION_OFFICER, jurisdiction_id)
    return WatchlistService(session, clock=clock, scope=scope, identity=SEALER)


def test_each_station_lists_only_its_own_entries(
    db: Database, clock: ManualClock, ids: dict[str, int]
) -> None:
    with db.session() as session:
        station_a = _service(session, clock, "J-A")
        assert [e.id for e in station_a.list_entries()] == [ids["J-A"]]
        assert [e.id for e in station_a.list_entries(active_only=False)] == [ids["J-A"]]
        # Naming another jurisdiction narrows within the scope; it never widens it.
        assert station_a.list_entries("J-B") == []
        assert [e.id for e in _service(session, clock, "J-B").list_entries()] == [ids["J-B"]]
        city = _service(session, clock, "J-CITY")
        assert [e.id for e in city.list_entries()] == sorted(ids.values())


def test_another_jurisdictions_entry_is_not_found_by_id_nor_withdrawn(
    db: Database, clock: ManualClock, ids: dict[str, int]
) -> None:
    with db.session() as session:
        scope_a = _scope(session, Role.STATION_OFFICER, "J-A")
        repository = WatchlistRepository(session)
        assert repository.get(ids["J-B"], scope=scope_a) is None
        found = repository.get(ids["J-A"], scope=scope_a)
        assert found is not None and found.jurisdiction_id == "J-A"
        station_a = WatchlistService(session, clock=clock, scope=scope_a, identity=SEALER)
        with pytest.raises(NotFoundError) as other:
            station_a.withdraw(ids["J-B"], user_id=OFFICER, reason="not mine")
        with pytest.raises(NotFoundError) as missing:
            station_a.withdraw(999_999, user_id=OFFICER, reason="not there")
    # Outside the scope reads exactly like absent.
    assert other.value.field == missing.value.field == "entry_id"
    assert other.value.message == missing.value.message.replace("999999", str(ids["J-B"]))
    with db.session() as session:
        system = WatchlistService(
            session, clock=clock, scope=JurisdictionScope.unscoped(), identity=SEALER
        )
        assert ids["J-B"] in [e.id for e in system.list_entries()]  # still active


def test_searching_by_plate_and_matching_stay_within_the_scope(
    db: Database, clock: ManualClock, ids: dict[str, int]
) -> None:
    with db.session() as session:
        scope_a = _scope(session, Role.STATION_OFFICER, "J-A")
        repository = WatchlistRepository(session)
        now = clock.now()
        other = repository.find_active(
            now,
            scope=scope_a,
            plate_token=SEALER.token("plate", PLATES["J-B"]),
            subject_token=None,
            basis_ref=None,
        )
        assert other == []
        [mine] = repository.find_active(
            now,
            scope=scope_a,
            plate_token=SEALER.token("plate", PLATES["J-A"]),
            subject_token=None,
            basis_ref=None,
        )
        assert mine.id == ids["J-A"]
        assert [row.id for row in repository.active(now, scope=scope_a)] == [ids["J-A"]]
        matcher = WatchlistService(session, clock=clock, scope=scope_a, identity=SEALER).matcher(
            plate_tolerance=0, face_threshold=0.9
        )
        assert matcher.match_plate(PLATES["J-B"], now) == []
        assert [m.item.entry_id for m in matcher.match_plate(PLATES["J-A"], now)] == [ids["J-A"]]


def test_bulk_withdrawal_cannot_reach_another_jurisdictions_entries(
    db: Database, clock: ManualClock, ids: dict[str, int]
) -> None:
    rows = [
        {"id": str(ids["J-B"]), "reason": "by id"},
        {"plate": PLATES["J-B"], "reason": "by plate"},
        {"plate": PLATES["J-A"], "reason": "mine"},
    ]
    with db.session() as session:
        report = _service(session, clock, "J-A").withdraw_rows(rows, user_id=OFFICER)
    assert (report.accepted, report.rejected) == (1, 2)
    assert report.entry_ids == [ids["J-A"]]
    assert [(e.row, e.field) for e in report.errors] == [(2, "id"), (3, "plate")]
    with db.session() as session:
        system = WatchlistService(
            session, clock=clock, scope=JurisdictionScope.unscoped(), identity=SEALER
        )
        active = [e.id for e in system.list_entries()]
    assert active == [ids["J-B"], ids["J-CITY"]]


def test_entries_cannot_be_added_outside_the_scope(db: Database, clock: ManualClock) -> None:
    expires = clock.now() + timedelta(days=3)
    with db.session() as session:
        station_a = _service(session, clock, "J-A")
        with pytest.raises(BadRequestError) as refused:
            station_a.add(_entry("J-B", "浙B99999", expires), user_id=OFFICER)
        assert refused.value.field == "jurisdiction_id"
        added = station_a.add(_entry("J-AX", "浙A99999", expires), user_id=OFFICER)
        assert added.jurisdiction_id == "J-AX"  # the subtree below the station is its own
        report = station_a.import_rows(
            [
                {
                    "target": "plate",
                    "label": "x",
                    "plate": "浙B88888",
                    "legal_basis_kind": "case",
                    "legal_basis_ref": "AJ-1",
                    "jurisdiction_id": "J-B",
                    "expires_at": expires.isoformat(),
                },
            ],
            user_id=OFFICER,
        )
    assert (report.accepted, report.rejected) == (0, 1)
    assert [(e.row, e.field) for e in report.errors] == [(2, "jurisdiction_id")]


def test_a_property_guard_sees_only_their_estates_entries(
    db: Database, clock: ManualClock, ids: dict[str, int]
) -> None:
    expires = clock.now() + timedelta(days=3)
    with db.session() as session:
        system = WatchlistService(
            session, clock=clock, scope=JurisdictionScope.unscoped(), identity=SEALER
        )
        estate = system.add(_entry("J-AX", "浙A77777", expires), user_id=OFFICER).id
        guard_scope = _scope(session, Role.PROPERTY_SECURITY, "J-AX")
        guard = WatchlistService(session, clock=clock, scope=guard_scope, identity=SEALER)
        assert [e.id for e in guard.list_entries()] == [estate]
        assert WatchlistRepository(session).get(ids["J-A"], scope=guard_scope) is None
