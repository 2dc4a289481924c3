"""Tables of the report centre."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class ArchivedReport(Base):
    """A generated report file kept in the archive (figures only, no personal data): one
    per template, area, period, format and language."""

    __tablename__ = "report_archive"
    __table_args__ = (UniqueConstraint("kind", "jurisdiction_id", "period", "format", "lang"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    jurisdiction_id: Mapped[str] = mapped_column(String(64), index=True)
    period: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    format: Mapped[str] = mapped_column(String(8))
    lang: Mapped[str] = mapped_column(String(4))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(Integer)  # None: the schedule


class ReportJob(Base):
    """A report generated on demand in the background (docs/reports.md): who asked, what,
    how far it has got, and the file once done. Kept `reports.job_keep_hours`, then
    pruned. Only the user who asked may read it."""

    __tablename__ = "report_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(8))
    jurisdiction_id: Mapped[str | None] = mapped_column(String(64))
    day: Mapped[str | None] = mapped_column(String(10))
    lang: Mapped[str] = mapped_column(String(4))
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    error: Mapped[str | None] = mapped_column(String(500))
    file_name: Mapped[str | None] = mapped_column(String(128))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
