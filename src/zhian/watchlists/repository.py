"""Every query of the watchlist table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.watchlists.models import WatchlistEntry


class WatchlistRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: WatchlistEntry) -> None:
        self.session.add(entry)
        self.session.flush()

    def get(self, entry_id: int) -> WatchlistEntry | None:
        return self.session.get(WatchlistEntry, entry_id)

    def active(self, now: datetime) -> list[WatchlistEntry]:
        return list(
            self.session.scalars(
                select(WatchlistEntry)
                .where(WatchlistEntry.withdrawn_at.is_(None), WatchlistEntry.expires_at > now)
                .order_by(WatchlistEntry.id)
            )
        )

    def list_entries(
        self, jurisdiction_id: str | None, *, active_at: datetime | None
    ) -> list[WatchlistEntry]:
        query = select(WatchlistEntry).order_by(WatchlistEntry.id)
        if jurisdiction_id is not None:
            query = query.where(WatchlistEntry.jurisdiction_id == jurisdiction_id)
        if active_at is not None:
            query = query.where(
                WatchlistEntry.withdrawn_at.is_(None), WatchlistEntry.expires_at > active_at
            )
        return list(self.session.scalars(query))

    def find_active(
        self, now: datetime, *, plate: str | None, subject_ref: str | None, basis_ref: str | None
    ) -> list[WatchlistEntry]:
        query = select(WatchlistEntry).where(
            WatchlistEntry.withdrawn_at.is_(None), WatchlistEntry.expires_at > now
        )
        if plate is not None:
            query = query.where(WatchlistEntry.plate == plate)
        if subject_ref is not None:
            query = query.where(WatchlistEntry.subject_ref == subject_ref)
        if basis_ref is not None:
            query = query.where(WatchlistEntry.legal_basis_ref == basis_ref)
        return list(self.session.scalars(query.order_by(WatchlistEntry.id)))
