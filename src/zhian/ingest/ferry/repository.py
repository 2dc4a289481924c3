"""Every query on the ferry import ledger."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.ingest.ferry.models import FerryImport


class FerryImportRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, package_id: str) -> FerryImport | None:
        return self._session.get(FerryImport, package_id)

    def add(self, row: FerryImport) -> None:
        self._session.add(row)

    def recent(self, limit: int = 50) -> list[FerryImport]:
        query = select(FerryImport).order_by(FerryImport.imported_at.desc()).limit(limit)
        return list(self._session.scalars(query))
