"""Scheduled reports (`reports.scheduled`): each complete period's report generated into the
archive. Runs in the web process, which holds the pages' labels the documents use."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial

from fastapi import FastAPI

from zhian.access.scope import JurisdictionScope
from zhian.errors import ZhianError
from zhian.kit.loops import BackgroundLoop
from zhian.metrics.periods import period_containing
from zhian.metrics.service import MetricsService
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.reports.content import GRANULARITY, ReportKind, build_report
from zhian.reports.excel import workbook_bytes
from zhian.reports.pdf import pdf_bytes
from zhian.reports.service import ReportArchiveService
from zhian.web.layout import display_zone
from zhian.web.stats_views import key_label

logger = logging.getLogger(__name__)


def run_due_reports(node: Node, now: datetime) -> int:
    """Generate every scheduled report of the last complete period not yet archived;
    returns how many files were added. One failing schedule does not stop the others."""
    added = 0
    zone = display_zone(node)
    for wanted in node.settings.reports.scheduled:
        kind = ReportKind(wanted.kind)
        period = period_containing(GRANULARITY[kind], now, zone).previous()
        try:
            with node.db.session() as session:
                archive = ReportArchiveService(session)
                missing = [
                    fmt
                    for fmt in wanted.formats
                    if not archive.has(
                        kind.value, wanted.jurisdiction_id, period.label(), fmt, wanted.lang
                    )
                ]
                if not missing:
                    continue
                metrics = MetricsService(session, node.event_reads)
                # System work over the node, narrowed to the schedule's jurisdiction.
                area = metrics.area(JurisdictionScope.unscoped(), wanted.jurisdiction_id)
                names = RegistryService(session).jurisdiction_names()
                report = build_report(
                    metrics,
                    area,
                    period,
                    kind,
                    lang=wanted.lang,
                    area_name=names.get(wanted.jurisdiction_id, wanted.jurisdiction_id),
                    key_label=partial(key_label, wanted.lang),
                    now=now,
                )
                for fmt in missing:
                    content = (
                        workbook_bytes(report, zone)
                        if fmt == "xlsx"
                        else pdf_bytes(report, zone, node.settings.reports)
                    )
                    archive.keep(
                        kind=kind.value,
                        jurisdiction_id=wanted.jurisdiction_id,
                        period=period.label(),
                        period_start=period.start,
                        fmt=fmt,
                        lang=wanted.lang,
                        content=content,
                        now=now,
                        user_id=None,
                    )
                    added += 1
        except ZhianError as error:
            logger.error("scheduled %s report of %s: %s", kind, wanted.jurisdiction_id, error)
    return added


@asynccontextmanager
async def report_schedule(app: FastAPI) -> AsyncIterator[None]:
    """The app's lifespan: the schedule's loop runs while the app serves, when configured."""
    node: Node = app.state.node
    loop: BackgroundLoop | None = None

    def step() -> None:
        run_due_reports(node, node.clock.now())

    if node.settings.reports.scheduled:
        loop = BackgroundLoop(
            "report-schedule", step, interval_seconds=node.settings.reports.schedule_check_seconds
        )
        loop.start()
    try:
        yield
    finally:
        if loop is not None:
            loop.stop(timeout_seconds=10)
