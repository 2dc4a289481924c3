"""Scheduled reports (`reports.scheduled`): each complete period's report generated into the
archive and sent to the webhook subscriptions that name `report.archived`; old archive
files (`reports.archive_keep_days`) and report jobs (`reports.job_keep_hours`) pruned.
Runs in the web process, which holds the pages' labels the documents use."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from functools import partial

from fastapi import FastAPI
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import LiveMessage
from zhian.alerts.webhooks import WebhookService
from zhian.errors import ZhianError
from zhian.kit.loops import BackgroundLoop
from zhian.metrics.periods import Granularity, period_containing
from zhian.node import Node
from zhian.reports.assessment import assessment_pdf, assessment_workbook
from zhian.reports.content import GRANULARITY, ReportKind
from zhian.reports.excel import workbook_bytes
from zhian.reports.jobs import ReportJobService, prune_archive
from zhian.reports.pdf import pdf_bytes
from zhian.reports.service import ArchivedReportRead, ReportArchiveService
from zhian.web.layout import display_zone
from zhian.web.report_views import ASSESSMENT, assessment_report, situation_report

logger = logging.getLogger(__name__)

ARCHIVED = "report.archived"


def archived_message(read: ArchivedReportRead, content: bytes) -> LiveMessage:
    """The webhook message of an archived report: what it is and the file itself (figures
    only, no personal data), base64, with its SHA-256 to check it by."""
    return LiveMessage(
        type=ARCHIVED,
        at=read.created_at,
        data={
            "archive_id": read.id,
            "kind": read.kind,
            "jurisdiction_id": read.jurisdiction_id,
            "period": read.period,
            "format": read.format,
            "lang": read.lang,
            "size_bytes": read.size_bytes,
            "sha256": hashlib.sha256(content).hexdigest(),
            "file_name": f"zhian-{read.kind}-{read.jurisdiction_id}-{read.period}.{read.format}",
            "content_base64": base64.b64encode(content).decode("ascii"),
        },
    )


def _send(node: Node, session: Session, read: ArchivedReportRead, content: bytes) -> int:
    """Queue the file for the subscriptions naming `report.archived` (delivered, signed and
    retried by the webhook worker as every message); returns how many were queued."""
    hooks = WebhookService(
        session,
        clock=node.clock,
        settings=node.settings.alerts,
        cipher=node.governance.cipher(),
    )
    return hooks.enqueue(archived_message(read, content), named_only=True)


def prune_reports(node: Node, now: datetime) -> tuple[int, int]:
    """Delete archive files older than `reports.archive_keep_days` (0: keep all) and report
    jobs older than `reports.job_keep_hours`; returns (files, jobs) deleted."""
    settings = node.settings.reports
    with node.db.session() as session:
        files = 0
        if settings.archive_keep_days > 0:
            files = prune_archive(session, now - timedelta(days=settings.archive_keep_days))
        jobs = ReportJobService(session).prune(now - timedelta(hours=settings.job_keep_hours))
    if files or jobs:
        logger.info("pruned %d archived report files and %d report jobs", files, jobs)
    return files, jobs


def run_due_reports(node: Node, now: datetime) -> int:
    """Generate every scheduled report of the last complete period not yet archived;
    returns how many files were added. One failing schedule does not stop the others."""
    added = 0
    zone = display_zone(node)
    settings = node.settings.reports
    for wanted in settings.scheduled:
        is_assessment = wanted.kind == ASSESSMENT
        granularity = Granularity.MONTH if is_assessment else GRANULARITY[ReportKind(wanted.kind)]
        period = period_containing(granularity, now, zone).previous()
        try:
            with node.db.session() as session:
                archive = ReportArchiveService(session)
                missing = [
                    fmt
                    for fmt in wanted.formats
                    if not archive.has(
                        wanted.kind, wanted.jurisdiction_id, period.label(), fmt, wanted.lang
                    )
                ]
                if not missing:
                    continue
                # System work over the node, narrowed to the schedule's jurisdiction.
                scope = JurisdictionScope.unscoped()
                day = period.first_day.isoformat()
                files: dict[str, Callable[[], bytes]] = {}
                if is_assessment:
                    scored = assessment_report(node, session, scope, wanted.jurisdiction_id,
                                               day, lang=wanted.lang, now=now)  # fmt: skip
                    files["xlsx"] = partial(assessment_workbook, scored)
                    files["pdf"] = partial(assessment_pdf, scored, settings)
                else:
                    report = situation_report(node, session, scope, wanted.kind,
                                              wanted.jurisdiction_id, day, lang=wanted.lang,
                                              now=now)  # fmt: skip
                    files["xlsx"] = partial(workbook_bytes, report, zone)
                    files["pdf"] = partial(pdf_bytes, report, zone, settings)
                for fmt in missing:
                    content = files[fmt]()
                    kept = archive.keep(
                        kind=wanted.kind,
                        jurisdiction_id=wanted.jurisdiction_id,
                        period=period.label(),
                        period_start=period.start,
                        fmt=fmt,
                        lang=wanted.lang,
                        content=content,
                        now=now,
                        user_id=None,
                    )
                    _send(node, session, kept, content)
                    added += 1
        except ZhianError as error:
            logger.error(
                "scheduled %s report of %s: %s", wanted.kind, wanted.jurisdiction_id, error
            )
    return added


@asynccontextmanager
async def report_schedule(app: FastAPI) -> AsyncIterator[None]:
    """The app's lifespan: the schedule's loop runs while the app serves; the report jobs'
    pool is shut down with it."""
    node: Node = app.state.node

    def step() -> None:
        now = node.clock.now()
        run_due_reports(node, now)
        prune_reports(node, now)

    # Always: report jobs are pruned even where nothing is scheduled (then not at start:
    # a schedule's missed reports are made at once, pruning can wait its turn).
    loop = BackgroundLoop(
        "report-schedule",
        step,
        interval_seconds=node.settings.reports.schedule_check_seconds,
        wait_first=not node.settings.reports.scheduled,
    )
    loop.start()
    try:
        yield
    finally:
        loop.stop(timeout_seconds=10)
        pool = getattr(app.state, "report_jobs", None)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
