"""Reports generated on demand in the background (docs/reports.md): a job per request,
its progress in percent, then the file. The request that asks returns at once with the
job's id; the page polls the progress and downloads the file when done.

Jobs live in the database, so any web process answers the progress and the download; the
process that took the request generates the file. Only the user who asked reads a job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from zhian.errors import ConflictError, NotFoundError
from zhian.reports.models import ArchivedReport, ReportJob

MAX_ERROR_CHARS = 500


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class ReportJobRead:
    id: int
    kind: str
    format: str
    jurisdiction_id: str | None
    day: str | None
    lang: str
    state: str
    progress: int
    error: str | None
    file_name: str | None
    size_bytes: int | None
    created_at: datetime
    finished_at: datetime | None


def _read(row: ReportJob) -> ReportJobRead:
    return ReportJobRead(
        id=row.id,
        kind=row.kind,
        format=row.format,
        jurisdiction_id=row.jurisdiction_id,
        day=row.day,
        lang=row.lang,
        state=row.state,
        progress=row.progress,
        error=row.error,
        file_name=row.file_name,
        size_bytes=None if row.content is None else len(row.content),
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


class ReportJobService:
    """The jobs' rows. Nothing commits here: each step is the caller's transaction, so the
    progress a page polls is what the generating thread committed."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        *,
        kind: str,
        fmt: str,
        jurisdiction_id: str | None,
        day: str | None,
        lang: str,
        user_id: int,
        now: datetime,
    ) -> ReportJobRead:
        row = ReportJob(
            kind=kind,
            format=fmt,
            jurisdiction_id=jurisdiction_id,
            day=day,
            lang=lang,
            user_id=user_id,
            state=JobState.QUEUED.value,
            progress=0,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return _read(row)

    def get(self, job_id: int, *, user_id: int) -> ReportJobRead:
        """The job, when this user asked for it (404 otherwise: no other user's jobs)."""
        return _read(self._row(job_id, user_id))

    def content(self, job_id: int, *, user_id: int) -> tuple[ReportJobRead, bytes]:
        """The finished file (409 while it is being generated or when it failed)."""
        row = self._row(job_id, user_id)
        if row.state != JobState.DONE.value or row.content is None:
            raise ConflictError(f"report job {job_id} is {row.state}, not done", field="job_id")
        return _read(row), row.content

    def progress(self, job_id: int, percent: int) -> None:
        row = self.session.get_one(ReportJob, job_id)
        row.state = JobState.RUNNING.value
        row.progress = max(row.progress, min(99, max(0, percent)))

    def finish(self, job_id: int, content: bytes, file_name: str, now: datetime) -> None:
        row = self.session.get_one(ReportJob, job_id)
        row.state, row.progress, row.content = JobState.DONE.value, 100, content
        row.file_name, row.finished_at = file_name, now

    def fail(self, job_id: int, error: str, now: datetime) -> None:
        row = self.session.get_one(ReportJob, job_id)
        row.state, row.error, row.finished_at = JobState.FAILED.value, error[:MAX_ERROR_CHARS], now

    def prune(self, before: datetime) -> int:
        """Forget the jobs asked before `before` (their files with them); returns how many."""
        result = self.session.execute(delete(ReportJob).where(ReportJob.created_at < before))
        return int(getattr(result, "rowcount", 0) or 0)

    def _row(self, job_id: int, user_id: int) -> ReportJob:
        row = self.session.scalars(
            select(ReportJob).where(ReportJob.id == job_id, ReportJob.user_id == user_id)
        ).first()
        if row is None:
            raise NotFoundError(f"no report job {job_id} of yours", field="job_id")
        return row


def prune_archive(session: Session, before: datetime) -> int:
    """Delete the archived report files of periods that began before `before`."""
    result = session.execute(delete(ArchivedReport).where(ArchivedReport.period_start < before))
    return int(getattr(result, "rowcount", 0) or 0)
