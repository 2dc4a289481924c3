"""Reports generated on demand in the background (docs/reports.md): the request creates a
job and returns at once; the page polls its progress and offers the download when done.

The job's row (zhian.reports.jobs) holds its state, progress and file, so any web process
answers the polling; this process's pool generates the file, in the user's scope as it
was when they asked."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.errors import BadRequestError, ZhianError
from zhian.metrics.periods import parse_period
from zhian.metrics.service import MetricsService
from zhian.node import Node
from zhian.reports.assessment import assessment_pdf, assessment_workbook
from zhian.reports.excel import workbook_bytes
from zhian.reports.jobs import JobState, ReportJobRead, ReportJobService
from zhian.reports.pdf import pdf_bytes
from zhian.web.auth import current_user
from zhian.web.deps import Context
from zhian.web.i18n import add_texts
from zhian.web.layout import PageDep, display_zone
from zhian.web.openapi_errors import error_responses
from zhian.web.report_views import (
    ASSESSMENT,
    XLSX_MEDIA,
    assessment_report,
    report_kind,
    situation_report,
)

logger = logging.getLogger(__name__)

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])
api = APIRouter(
    prefix="/api/v1",
    tags=["reports"],
    dependencies=[Depends(current_user)],
    responses=error_responses(401, 403),
)

JOB_TEXT: dict[str, tuple[str, str]] = {
    "report_job_title": ("报表生成", "Report generation"),
    "report_job_queued": ("排队中", "Queued"),
    "report_job_running": ("生成中", "Generating"),
    "report_job_done": ("已生成", "Ready"),
    "report_job_failed": ("生成失败", "Failed"),
    "report_job_back": ("返回报表中心", "Back to the reports"),
}
add_texts(JOB_TEXT)

JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]
FORMATS = ("xlsx", "pdf")
# How far the figures take a job; writing the file takes it to 95, done is 100.
_FIGURES_SHARE = 85


class ReportJobCreate(BaseModel):
    """What to generate: a template, a format, an area and a date in its period."""

    kind: str = Field(max_length=16, description="daily, weekly, monthly or assessment")
    format: Literal["xlsx", "pdf"] = Field(description="xlsx or pdf")
    jurisdiction: str | None = Field(default=None, max_length=64)
    day: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD")
    lang: Literal["zh", "en"] = "zh"


class ReportJobStatus(BaseModel):
    id: int
    kind: str
    format: str
    state: str
    progress: int
    error: str | None
    status_url: str
    download_url: str | None
    created_at: datetime
    finished_at: datetime | None


def job_status(job: ReportJobRead) -> ReportJobStatus:
    return ReportJobStatus(
        id=job.id,
        kind=job.kind,
        format=job.format,
        state=job.state,
        progress=job.progress,
        error=job.error,
        status_url=f"/api/v1/reports/jobs/{job.id}",
        download_url=f"/reports/jobs/{job.id}/download" if job.state == JobState.DONE else None,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


@dataclass(frozen=True)
class JobRequest:
    job_id: int
    kind: str
    fmt: str
    jurisdiction: str | None
    day: str | None
    lang: str
    scope: JurisdictionScope
    now: datetime


def validate(
    node: Node, session: Session, scope: JurisdictionScope, asked: ReportJobCreate, now: datetime
) -> None:
    """Refuse bad input before a job exists: 400 naming `kind`, `jurisdiction` or `day`."""
    if asked.kind != ASSESSMENT:
        report_kind(asked.kind)
    MetricsService(session).area(scope, asked.jurisdiction)
    parse_period("day", asked.day, now=now, zone=display_zone(node))


ProgressFn = Callable[[float], None]


def render(
    node: Node, session: Session, request: JobRequest, progress: ProgressFn
) -> tuple[bytes, str]:
    """The file a job asks for and its name (ASCII: a header carries it). `progress`
    hears percent done."""
    zone = display_zone(node)
    settings = node.settings.reports

    def figures(done: float) -> None:
        progress(done * _FIGURES_SHARE)

    if request.kind == ASSESSMENT:
        scored = assessment_report(
            node,
            session,
            request.scope,
            request.jurisdiction,
            request.day,
            lang=request.lang,
            now=request.now,
            progress=figures,
        )
        if request.fmt == "xlsx":
            body = assessment_workbook(scored)
        else:
            body = assessment_pdf(scored, settings)
        return body, f"zhian-assessment-{scored.period}.{request.fmt}"
    report = situation_report(
        node,
        session,
        request.scope,
        request.kind,
        request.jurisdiction,
        request.day,
        lang=request.lang,
        now=request.now,
        progress=figures,
    )
    if request.fmt == "xlsx":
        body = workbook_bytes(report, zone)
    else:
        body = pdf_bytes(report, zone, settings)
    return body, f"zhian-{report.kind.value}-{report.period}.{request.fmt}"


def run_job(node: Node, request: JobRequest) -> None:
    """Generate a job's file, committing its progress as it goes; a failure is kept on
    the job (the user reads it), never raised into the pool."""

    def progress(percent: float) -> None:
        with node.db.session() as session:
            ReportJobService(session).progress(request.job_id, int(percent))

    try:
        progress(1)
        with node.db.session() as session:
            body, name = render(node, session, request, progress)
        progress(95)
        with node.db.session() as session:
            ReportJobService(session).finish(request.job_id, body, name, node.clock.now())
    except Exception as error:  # a job's failure is its own, reported on the job
        logger.exception("report job %s failed", request.job_id)
        reason = error.message if isinstance(error, ZhianError) else type(error).__name__
        with node.db.session() as session:
            ReportJobService(session).fail(request.job_id, str(reason), node.clock.now())


def job_pool(app: FastAPI) -> ThreadPoolExecutor:
    """This process's pool of report generators (`reports.job_workers` threads)."""
    pool: ThreadPoolExecutor | None = getattr(app.state, "report_jobs", None)
    if pool is None:
        node: Node = app.state.node
        pool = ThreadPoolExecutor(
            max_workers=node.settings.reports.job_workers, thread_name_prefix="report-job"
        )
        app.state.report_jobs = pool
    return pool


def start_job(
    app: FastAPI,
    node: Node,
    scope: JurisdictionScope,
    asked: ReportJobCreate,
    *,
    user_id: int,
    now: datetime,
) -> ReportJobRead:
    """Check the request, keep the job (committed, so the generator and the pollers see
    it) and hand it to the pool; returns the queued job."""
    with node.db.session() as session:
        validate(node, session, scope, asked, now)
        job = ReportJobService(session).create(
            kind=asked.kind,
            fmt=asked.format,
            jurisdiction_id=asked.jurisdiction,
            day=asked.day,
            lang=asked.lang,
            user_id=user_id,
            now=now,
        )
    request = JobRequest(job.id, asked.kind, asked.format, asked.jurisdiction, asked.day,
                         asked.lang, scope, now)  # fmt: skip
    job_pool(app).submit(run_job, node, request)
    return job


# --- the API ------------------------------------------------------------------------------


@api.post(
    "/reports/jobs",
    summary="Generate a report in the background; poll its status, then download it",
    status_code=202,
    response_model=ReportJobStatus,
    responses=error_responses(400),
)
def create_job_api(request: Request, context: Context, asked: ReportJobCreate) -> ReportJobStatus:
    job = start_job(request.app, context.node, context.scope, asked,
                    user_id=context.user.id, now=context.node.clock.now())  # fmt: skip
    return job_status(job)


@api.get(
    "/reports/jobs/{job_id}",
    summary="A report job of yours: its state and progress (percent)",
    response_model=ReportJobStatus,
    responses=error_responses(404),
)
def job_api(context: Context, job_id: JobId) -> ReportJobStatus:
    return job_status(ReportJobService(context.session).get(job_id, user_id=context.user.id))


# --- the pages ----------------------------------------------------------------------------


@router.post("/reports/jobs", include_in_schema=False)
async def create_job_page(page: PageDep) -> Response:
    form = await page.request.form()
    fmt = str(form.get("format") or "")
    if fmt not in FORMATS:
        raise BadRequestError("must be xlsx or pdf", field="format")
    asked = ReportJobCreate(
        kind=str(form.get("kind") or "")[:16],
        format="pdf" if fmt == "pdf" else "xlsx",
        jurisdiction=str(form.get("jurisdiction") or "")[:64] or None,
        day=str(form.get("day") or "")[:10] or None,
        lang="en" if page.lang == "en" else "zh",
    )
    job = start_job(page.request.app, page.node, page.context.scope, asked,
                    user_id=page.user.id, now=page.now)  # fmt: skip
    return RedirectResponse(f"/reports/jobs/{job.id}?lang={page.lang}", status_code=303)


@router.get("/reports/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
def job_page(page: PageDep, job_id: JobId) -> HTMLResponse:
    job = ReportJobService(page.context.session).get(job_id, user_id=page.user.id)
    return page.render("report_job.html", {"job": job_status(job)})


@router.get("/reports/jobs/{job_id}/progress", response_class=HTMLResponse, include_in_schema=False)
def job_progress(page: PageDep, job_id: JobId) -> HTMLResponse:
    """The progress fragment the job page polls (it stops polling once done or failed)."""
    job = ReportJobService(page.context.session).get(job_id, user_id=page.user.id)
    return page.render("_report_job.html", {"job": job_status(job)})


@router.get("/reports/jobs/{job_id}/download", include_in_schema=False)
def job_download(page: PageDep, job_id: JobId) -> Response:
    job, content = ReportJobService(page.context.session).content(job_id, user_id=page.user.id)
    media = XLSX_MEDIA if job.format == "xlsx" else "application/pdf"
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{job.file_name}"'},
    )
