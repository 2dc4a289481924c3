"""The report archive: files kept per template, area, period and format, read in scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.errors import NotFoundError
from zhian.reports.models import ArchivedReport
from zhian.reports.repository import ReportRepository

ARCHIVE_ROWS = 100


@dataclass(frozen=True)
class ArchivedReportRead:
    id: int
    kind: str
    jurisdiction_id: str
    period: str
    format: str
    lang: str
    size_bytes: int
    created_at: datetime


def _read(row: ArchivedReport) -> ArchivedReportRead:
    return ArchivedReportRead(
        row.id,
        row.kind,
        row.jurisdiction_id,
        row.period,
        row.format,
        row.lang,
        row.size_bytes,
        row.created_at,
    )


class ReportArchiveService:
    def __init__(self, session: Session) -> None:
        self.repository = ReportRepository(session)

    def has(self, kind: str, jurisdiction_id: str, period: str, fmt: str, lang: str) -> bool:
        return self.repository.exists(kind, jurisdiction_id, period, fmt, lang)

    def keep(
        self,
        *,
        kind: str,
        jurisdiction_id: str,
        period: str,
        period_start: datetime,
        fmt: str,
        lang: str,
        content: bytes,
        now: datetime,
        user_id: int | None,
    ) -> ArchivedReportRead:
        row = ArchivedReport(
            kind=kind,
            jurisdiction_id=jurisdiction_id,
            period=period,
            period_start=period_start,
            format=fmt,
            lang=lang,
            content=content,
            size_bytes=len(content),
            created_at=now,
            created_by=user_id,
        )
        self.repository.add(row)
        return _read(row)

    def listing(self, *, scope: JurisdictionScope) -> list[ArchivedReportRead]:
        """The newest archived reports of the user's jurisdiction."""
        return [_read(r) for r in self.repository.listing(scope=scope, limit=ARCHIVE_ROWS)]

    def content(
        self, report_id: int, *, scope: JurisdictionScope
    ) -> tuple[ArchivedReportRead, bytes]:
        row = self.repository.get(report_id, scope=scope)
        if row is None:
            raise NotFoundError(f"no archived report {report_id} in your jurisdiction", field="id")
        return _read(row), row.content
