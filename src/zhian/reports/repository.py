"""Every query of the report archive."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope, require_scope
from zhian.reports.models import ArchivedReport


class ReportRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: ArchivedReport) -> None:
        self.session.add(row)
        self.session.flush()

    def exists(self, kind: str, jurisdiction_id: str, period: str, fmt: str, lang: str) -> bool:
        query = select(ArchivedReport.id).where(
            ArchivedReport.kind == kind,
            ArchivedReport.jurisdiction_id == jurisdiction_id,
            ArchivedReport.period == period,
            ArchivedReport.format == fmt,
            ArchivedReport.lang == lang,
        )
        return self.session.scalar(query) is not None

    def listing(self, *, scope: JurisdictionScope, limit: int) -> list[ArchivedReport]:
        query = (
            select(ArchivedReport)
            .where(require_scope(scope).clause(ArchivedReport.jurisdiction_id))
            .order_by(ArchivedReport.period_start.desc(), ArchivedReport.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def get(self, report_id: int, *, scope: JurisdictionScope) -> ArchivedReport | None:
        query = select(ArchivedReport).where(
            ArchivedReport.id == report_id,
            require_scope(scope).clause(ArchivedReport.jurisdiction_id),
        )
        return self.session.scalars(query).first()
