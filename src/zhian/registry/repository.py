"""Every query of the master registry.

The bulk loader's queries are generic over the registry's tables, keyed by `id`, and read
the whole table: only the import (an admin's job) uses them. Queries that return residents
or houses to a reader take the reader's `JurisdictionScope` and put it in the SQL
(docs/dev/scoping.md): a row outside the scope is neither listed, found nor searched.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import RowMapping, Select, Table, func, insert, select, update
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.db.base import Base
from zhian.registry.models import Building, Community, House, Jurisdiction, Resident, Unit, Zone

_Row = TypeVar("_Row", bound=Base)

# Ids per IN (...) list: well under SQLite's bound-parameter limit, even on old builds.
CHUNK_SIZE = 500


def _chunks(values: Collection[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), CHUNK_SIZE):
        yield items[start : start + CHUNK_SIZE]


def table_of(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _resident_places(scope: JurisdictionScope) -> Select[*tuple[Any, ...]]:
    """Residents with house, unit, building and community, within `scope`."""
    return (
        select(
            Resident.id,
            Resident.birth_year,
            Resident.is_floating,
            Resident.card_ref_masked.label("card_ref"),
            Resident.house_id,
            House.number.label("house"),
            Unit.name.label("unit"),
            Building.name.label("building"),
            Community.id.label("community_id"),
            Community.name.label("community"),
        )
        .join(House, Resident.house_id == House.id)
        .join(Unit, House.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .join(Community, Building.community_id == Community.id)
        .where(scope.community_clause(Community.id))
    )


class RegistryRepository:
    """Reads and writes registry rows in bulk; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def existing_ids(self, model: type[Base], ids: Collection[str]) -> set[str]:
        """The subset of `ids` that exist in the model's table."""
        table = table_of(model)
        found: set[str] = set()
        for chunk in _chunks(ids):
            found.update(self.session.scalars(select(table.c.id).where(table.c.id.in_(chunk))))
        return found

    def rows_by_id(
        self, model: type[Base], ids: Collection[str], columns: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """The given columns of the rows whose id is in `ids`, keyed by id."""
        table = table_of(model)
        selected = [table.c.id, *(table.c[name] for name in columns if name != "id")]
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(ids):
            for row in self.session.execute(select(*selected).where(table.c.id.in_(chunk))):
                values = dict(row._mapping)
                found[values["id"]] = values
        return found

    def owners_of(self, model: type[Base], column: str, values: Collection[str]) -> dict[str, str]:
        """For a unique column: which id holds each of `values`."""
        table = table_of(model)
        owners: dict[str, str] = {}
        for chunk in _chunks(values):
            statement = select(table.c[column], table.c.id).where(table.c[column].in_(chunk))
            for value, owner in self.session.execute(statement):
                owners[value] = owner
        return owners

    def insert_many(self, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows in the given order (parents before children for self references)."""
        if rows:
            self.session.execute(insert(model), list(rows))

    def update_many(self, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
        """Update rows by primary key; each mapping holds `id` and the columns to change."""
        if rows:
            self.session.execute(update(model), list(rows))

    def all_rows(self, model: type[_Row]) -> list[_Row]:
        """Every row of a registry table (the node's own batch work, never a reader's)."""
        return list(self.session.scalars(select(model)))

    def count(self, model: type[Base]) -> int:
        table = table_of(model)
        return self.session.scalar(select(func.count()).select_from(table)) or 0

    def list_communities(self, *, scope: JurisdictionScope) -> list[Community]:
        statement = select(Community).where(scope.community_clause(Community.id))
        return list(self.session.scalars(statement.order_by(Community.id)))

    def resident(self, resident_id: str, *, scope: JurisdictionScope) -> Resident | None:
        """The resident row (sealed fields included), or None when absent or outside `scope`,
        alike."""
        statement = (
            select(Resident)
            .join(House, Resident.house_id == House.id)
            .join(Unit, House.unit_id == Unit.id)
            .join(Building, Unit.building_id == Building.id)
            .where(Resident.id == resident_id)
            .where(scope.community_clause(Building.community_id))
        )
        return self.session.scalars(statement).first()

    def zone_ids(self) -> list[str]:
        return list(self.session.scalars(select(Zone.id)))

    def list_jurisdictions(self) -> list[Jurisdiction]:
        return list(self.session.scalars(select(Jurisdiction).order_by(Jurisdiction.id)))

    def resident_place(self, resident_id: str, *, scope: JurisdictionScope) -> RowMapping | None:
        """One resident with its place, or None when absent or outside `scope` (alike)."""
        statement = _resident_places(scope).where(Resident.id == resident_id)
        return self.session.execute(statement).mappings().first()

    def resident_places(
        self,
        *,
        scope: JurisdictionScope,
        community_id: str | None = None,
        card_ref_token: str | None = None,
        id_number_token: str | None = None,
        name_token: str | None = None,
        limit: int | None = None,
    ) -> list[RowMapping]:
        """Residents in `scope` by id, narrowed by community, card token, ID-number token or
        name token."""
        statement = _resident_places(scope).order_by(Resident.id).limit(limit)
        if community_id is not None:
            statement = statement.where(Community.id == community_id)
        if card_ref_token is not None:
            statement = statement.where(Resident.card_ref_token == card_ref_token)
        if id_number_token is not None:
            statement = statement.where(Resident.id_number_token == id_number_token)
        if name_token is not None:
            statement = statement.where(Resident.name_token == name_token)
        return list(self.session.execute(statement).mappings())

    def houses(
        self, *, scope: JurisdictionScope, community_id: str | None = None
    ) -> list[RowMapping]:
        """Houses in `scope` with their community, by id."""
        statement = (
            select(
                House.id,
                House.unit_id,
                House.number,
                House.area_m2,
                House.registered_use,
                Building.community_id,
            )
            .join(Unit, House.unit_id == Unit.id)
            .join(Building, Unit.building_id == Building.id)
            .where(scope.community_clause(Building.community_id))
            .order_by(House.id)
        )
        if community_id is not None:
            statement = statement.where(Building.community_id == community_id)
        return list(self.session.execute(statement).mappings())

    def buildings(
        self, *, scope: JurisdictionScope, community_id: str | None = None
    ) -> list[Building]:
        """Buildings in `scope`, by id, optionally of one community."""
        statement = select(Building).where(scope.community_clause(Building.community_id))
        if community_id is not None:
            statement = statement.where(Building.community_id == community_id)
        return list(self.session.scalars(statement.order_by(Building.id)))

    def zones(self, *, scope: JurisdictionScope) -> list[Zone]:
        """Zones in `scope` (by their jurisdiction), by id."""
        statement = select(Zone).where(scope.clause(Zone.jurisdiction_id)).order_by(Zone.id)
        return list(self.session.scalars(statement))

    def community_jurisdictions(self) -> dict[str, str]:
        rows = self.session.execute(select(Community.id, Community.jurisdiction_id))
        return {community_id: jurisdiction_id for community_id, jurisdiction_id in rows}

    def building_names(self) -> list[tuple[str, str, str]]:
        """(building id, community name, building name) of every building, for matching a
        case's address text to the registry (#16)."""
        statement = select(Building.id, Community.name, Building.name).join(
            Community, Building.community_id == Community.id
        )
        return [(b, c, n) for b, c, n in self.session.execute(statement.order_by(Building.id))]

    def building_place(
        self, *, building_id: str | None = None, house_id: str | None = None
    ) -> RowMapping | None:
        """Where a building (or the building of a house) stands: its id, position, community
        and jurisdiction; None when unknown. A case placed there is matched by it (#16)."""
        statement = select(
            Building.id.label("building_id"),
            Building.name.label("building_name"),
            Building.latitude,
            Building.longitude,
            Community.id.label("community_id"),
            Community.name.label("community_name"),
            Community.jurisdiction_id,
        ).join(Community, Building.community_id == Community.id)
        if house_id is not None:
            statement = (
                statement.add_columns(House.number.label("house_number"))
                .join(Unit, Unit.building_id == Building.id)
                .join(House, House.unit_id == Unit.id)
                .where(House.id == house_id)
            )
        elif building_id is not None:
            statement = statement.where(Building.id == building_id)
        else:
            return None
        return self.session.execute(statement).mappings().first()
