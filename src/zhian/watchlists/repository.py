"""Every query of the watchlist table, each within the caller's jurisdiction scope.

Every read takes a `JurisdictionScope` and puts it in the SQL (docs/dev/scoping.md), so an
entry outside the scope is never loaded: not listed, not found by id, not matched by plate.
System work over the whole node (the rule engine's matcher, an admin's import) passes
`JurisdictionScope.unscoped()` on purpose.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.watchlists.models import WatchlistEntry


def _active_at(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return WatchlistEntry.withdrawn_at.is_(None), WatchlistEntry.expires_at > now


class WatchlistRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: WatchlistEntry) -> None:
        self.session.add(entry)
        self.session.flush()

    def get(self, entry_id: int, *, scope: JurisdictionScope) -> WatchlistEntry | None:
        """The entry, or None when it does not exist or lies outside `scope` (alike)."""
        query = select(WatchlistEntry).where(
            WatchlistEntry.id == entry_id, scope.clause(WatchlistEntry.jurisdiction_id)
        )
        return self.session.scalars(query).first()

    def active(self, now: datetime, *, scope: JurisdictionScope) -> list[WatchlistEntry]:
        query = (
            select(WatchlistEntry)
            .where(*_active_at(now), scope.clause(WatchlistEntry.jurisdiction_id))
            .order_by(WatchlistEntry.id)
        )
        return list(self.session.scalars(query))

    def unexpired_in(
        self, now: datetime, jurisdiction_ids: Collection[str]
    ) -> list[WatchlistEntry]:
        """Entries of these jurisdictions not yet expired, withdrawn ones included, by id."""
        query = (
            select(WatchlistEntry)
            .where(
                WatchlistEntry.expires_at > now,
                WatchlistEntry.jurisdiction_id.in_(jurisdiction_ids),
            )
            .order_by(WatchlistEntry.id)
        )
        return list(self.session.scalars(query))

    def list_entries(
        self,
        *,
        scope: JurisdictionScope,
        jurisdiction_id: str | None = None,
        active_at: datetime | None = None,
    ) -> list[WatchlistEntry]:
        """Entries in `scope`, oldest first; narrowed to one jurisdiction or to the active."""
        query = (
            select(WatchlistEntry)
            .where(scope.clause(WatchlistEntry.jurisdiction_id))
            .order_by(WatchlistEntry.id)
        )
        if jurisdiction_id is not None:
            query = query.where(WatchlistEntry.jurisdiction_id == jurisdiction_id)
        if active_at is not None:
            query = query.where(*_active_at(active_at))
        return list(self.session.scalars(query))

    def find_active(
        self,
        now: datetime,
        *,
        scope: JurisdictionScope,
        plate_token: str | None,
        subject_token: str | None,
        basis_ref: str | None,
    ) -> list[WatchlistEntry]:
        query = select(WatchlistEntry).where(
            *_active_at(now), scope.clause(WatchlistEntry.jurisdiction_id)
        )
        if plate_token is not None:
            query = query.where(WatchlistEntry.plate_token == plate_token)
        if subject_token is not None:
            query = query.where(WatchlistEntry.subject_token == subject_token)
        if basis_ref is not None:
            query = query.where(WatchlistEntry.legal_basis_ref == basis_ref)
        return list(self.session.scalars(query.order_by(WatchlistEntry.id)))
