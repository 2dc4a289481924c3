"""Every query of the master registry; generic over the registry's tables, keyed by `id`."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from zhian.db.base import Base
from zhian.registry.models import Community, Jurisdiction, Zone

# Ids per IN (...) list: well under SQLite's bound-parameter limit, even on old builds.
CHUNK_SIZE = 500


def _chunks(values: Collection[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), CHUNK_SIZE):
        yield items[start : start + CHUNK_SIZE]


def table_of(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


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

    def count(self, model: type[Base]) -> int:
        table = table_of(model)
        return self.session.scalar(select(func.count()).select_from(table)) or 0

    def list_communities(self) -> list[Community]:
        return list(self.session.scalars(select(Community).order_by(Community.id)))

    def zone_ids(self) -> list[str]:
        return list(self.session.scalars(select(Zone.id)))

    def list_jurisdictions(self) -> list[Jurisdiction]:
        return list(self.session.scalars(select(Jurisdiction).order_by(Jurisdiction.id)))

    def community_jurisdictions(self) -> dict[str, str]:
        rows = self.session.execute(select(Community.id, Community.jurisdiction_id))
        return {community_id: jurisdiction_id for community_id, jurisdiction_id in rows}
