"""Residents and houses are read within the reader's jurisdiction scope, in the query itself:
another jurisdiction's rows are not listed, not searchable, and not found by id."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.governance.factories import LI_ID, ZHANG_ID
from tests.registry.factories import SEALER, load_two_stations, scope_of
from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope
from zhian.db import migrate
from zhian.db.engine import Database, make_engine
from zhian.errors import NotFoundError
from zhian.registry.service import RegistryService


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)  # via the module: tests/conftest.py copies a migrated template
    database = Database(engine)
    load_two_stations(database)
    yield database
    engine.dispose()


def test_a_station_lists_only_its_own_subtrees_residents_and_houses(db: Database) -> None:
    with db.session() as session:
        registry = RegistryService(session)
        tree = registry.jurisdiction_tree()
        station_a = scope_of(tree, Role.STATION_OFFICER, "J-A")
        station_b = scope_of(tree, Role.STATION_OFFICER, "J-B")
        city = scope_of(tree, Role.COMMAND_CENTRE, "J-CITY")
        assert [r.id for r in registry.residents(scope=station_a)] == ["R-C-A", "R-C-AX"]
        assert [r.id for r in registry.residents(scope=station_b)] == ["R-C-B"]
        assert [h.id for h in registry.houses(scope=station_a)] == ["H-C-A", "H-C-AX"]
        assert [h.id for h in registry.houses(scope=station_b)] == ["H-C-B"]
        everyone = ["R-C-A", "R-C-AX", "R-C-B"]
        assert [r.id for r in registry.residents(scope=city)] == everyone
        unscoped = JurisdictionScope.unscoped()
        assert [r.id for r in registry.residents(scope=unscoped)] == everyone


def test_fetching_another_jurisdictions_resident_by_id_is_not_found(db: Database) -> None:
    with db.session() as session:
        registry = RegistryService(session)
        station_a = scope_of(registry.jurisdiction_tree(), Role.STATION_OFFICER, "J-A")
        mine = registry.resident("R-C-A", scope=station_a)
        # The card is shown masked: the registry holds it only as token and sealed copy.
        assert (mine.community_id, mine.house_id, mine.card_ref) == ("C-A", "H-C-A", "C*****-A")
        with pytest.raises(NotFoundError) as other:
            registry.resident("R-C-B", scope=station_a)
        with pytest.raises(NotFoundError) as missing:
            registry.resident("R-NOBODY", scope=station_a)
    # Outside the scope reads exactly like absent: the row's existence is not disclosed.
    assert other.value.field == missing.value.field == "resident_id"
    assert other.value.message == missing.value.message.replace("R-NOBODY", "R-C-B")
    assert "Community C-B" not in other.value.message


def test_searching_by_card_or_community_stays_within_the_scope(db: Database) -> None:
    with db.session() as session:
        registry = RegistryService(session, identity=SEALER)
        station_a = scope_of(registry.jurisdiction_tree(), Role.STATION_OFFICER, "J-A")
        assert registry.residents(scope=station_a, card_ref="CARD-C-B") == []
        assert registry.residents(scope=station_a, community_id="C-B") == []
        assert registry.houses(scope=station_a, community_id="C-B") == []
        [found] = registry.residents(scope=station_a, card_ref="CARD-C-AX")
        assert found.id == "R-C-AX"
        unscoped = JurisdictionScope.unscoped()
        assert [r.id for r in registry.residents(scope=unscoped, card_ref="CARD-C-B")] == ["R-C-B"]


class PlainProtector:
    """Stands in for the governance sealer: readable "sealing", a recognisable token."""

    def seal(self, table: str, column: str, row_id: str, value: str) -> bytes:
        return value.encode()

    def open(self, table: str, column: str, row_id: str, sealed: bytes) -> str:
        return sealed.decode()

    def token(self, kind: str, value: str) -> str:
        return f"{kind}:{value}"


def test_searching_by_id_number_token_finds_only_residents_in_the_scope(db: Database) -> None:
    protector = PlainProtector()
    with db.session() as session:
        loader = RegistryService(session, identity=protector)
        rows = [
            {"id": "R-C-A", "house_id": "H-C-A", "birth_year": 1985, "id_number": ZHANG_ID},
            {"id": "R-C-B", "house_id": "H-C-B", "birth_year": 1990, "id_number": LI_ID},
        ]
        assert loader.load_rows("residents", rows).rejected == 0
    with db.session() as session:
        registry = RegistryService(session)
        station_a = scope_of(registry.jurisdiction_tree(), Role.STATION_OFFICER, "J-A")
        theirs = protector.token("id_number", LI_ID)
        assert registry.residents(scope=station_a, id_number_token=theirs) == []
        mine = protector.token("id_number", ZHANG_ID)
        found = registry.residents(scope=station_a, id_number_token=mine)
        assert [r.id for r in found] == ["R-C-A"]


def test_a_property_guard_sees_only_their_estate(db: Database) -> None:
    with db.session() as session:
        registry = RegistryService(session, identity=SEALER)
        guard = scope_of(registry.jurisdiction_tree(), Role.PROPERTY_SECURITY, "J-AX")
        assert [r.id for r in registry.residents(scope=guard)] == ["R-C-AX"]
        assert [h.id for h in registry.houses(scope=guard)] == ["H-C-AX"]
        with pytest.raises(NotFoundError):
            registry.resident("R-C-A", scope=guard)  # the station above the estate
        assert registry.residents(scope=guard, card_ref="CARD-C-A") == []


def test_an_empty_scope_sees_nothing(db: Database) -> None:
    nobody = JurisdictionScope(
        root="J-GONE", jurisdiction_ids=frozenset(), community_ids=frozenset()
    )
    with db.session() as session:
        registry = RegistryService(session)
        assert registry.residents(scope=nobody) == []
        assert registry.houses(scope=nobody) == []
        assert registry.list_communities(scope=nobody) == []
        with pytest.raises(NotFoundError):
            registry.resident("R-C-A", scope=nobody)


def test_a_station_lists_only_the_communities_of_its_subtree(db: Database) -> None:
    with db.session() as session:
        registry = RegistryService(session)
        tree = registry.jurisdiction_tree()
        station_a = scope_of(tree, Role.STATION_OFFICER, "J-A")
        city = scope_of(tree, Role.COMMAND_CENTRE, "J-CITY")
        assert [c.id for c in registry.list_communities(scope=station_a)] == ["C-A", "C-AX"]
        every = [c.id for c in registry.list_communities(scope=JurisdictionScope.unscoped())]
        assert [c.id for c in registry.list_communities(scope=city)] == every
        assert "C-B" in every
