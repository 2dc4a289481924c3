"""Reports (报表中心): the daily duty report and the weekly and monthly situation reports of
an area, generated on demand as Excel, PDF or a print-friendly page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.assessment.service import AssessmentService
from zhian.errors import BadRequestError, ZhianError
from zhian.metrics.periods import parse_period
from zhian.metrics.service import MetricsService
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.reports.assessment import AssessmentReport, assessment_pdf, assessment_workbook
from zhian.reports.content import (
    TITLES,
    Report,
    ReportKind,
    build_report,
    format_change,
    format_value,
)
from zhian.reports.excel import workbook_bytes
from zhian.reports.pdf import pdf_bytes
from zhian.reports.service import ReportArchiveService
from zhian.web.assessment_views import indicator_name
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts, text
from zhian.web.kpi_views import jurisdiction_choices
from zhian.web.layout import Page, PageDep, display_zone
from zhian.web.stats_views import key_label

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

REPORT_TEXT: dict[str, tuple[str, str]] = {
    "nav_reports": ("报表中心", "Reports"),
    "reports_title": ("报表中心", "Reports"),
    "report_kind": ("报表", "Report"),
    "report_print": ("打印版", "Print"),
    "report_excel": ("Excel", "Excel"),
    "report_pdf": ("PDF", "PDF"),
    "report_generated": ("生成时间", "Generated"),
    "report_notable": ("重大预警", "Major alerts"),
    "report_none": ("无", "none"),
    "report_cases": ("本期案件", "Cases"),
    "report_trends": ("趋势", "Trends"),
    "report_case_solved": ("已破案", "solved"),
    "report_archive": ("报表归档", "Report archive"),
    "report_assessment": ("考核评价报表（月）", "Assessment report (month)"),
    "report_period": ("周期", "Period"),
    "report_size": ("大小", "Size"),
    "report_download": ("下载", "Download"),
    "report_archive_none": (
        "暂无归档报表。按计划生成的报表归档于此，见配置项",
        "No archived report yet. Reports generated on schedule are kept here; see the setting",
    ),
}
add_texts(REPORT_TEXT)

Kind = Annotated[str, Path(max_length=16)]
ArchiveId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Jurisdiction = Annotated[str | None, Query(max_length=64)]
Day = Annotated[str | None, Query(max_length=10)]
ASSESSMENT = "assessment"  # the per-unit assessment report: Excel, PDF and a print page
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_kind(value: str) -> ReportKind:
    try:
        return ReportKind(value)
    except ValueError:
        raise BadRequestError("must be daily, weekly or monthly", field="kind") from None


def make_report(page: Page, kind: str, jurisdiction: str | None, day: str | None) -> Report:
    """The report of the user's area (or one below it) for the period holding `day`."""
    return situation_report(
        page.node,
        page.context.session,
        page.context.scope,
        kind,
        jurisdiction,
        day,
        lang=page.lang,
        now=page.now,
    )


def situation_report(
    node: Node,
    session: Session,
    scope: JurisdictionScope,
    kind: str,
    jurisdiction: str | None,
    day: str | None,
    *,
    lang: str,
    now: datetime,
    progress: Callable[[float], None] | None = None,
) -> Report:
    """The daily, weekly or monthly report of an area of `scope` for the period holding
    `day` (today when None). 400 naming `kind`, `jurisdiction` or `day` on bad input."""
    chosen = report_kind(kind)
    metrics = MetricsService(
        session,
        node.event_reads,
        node.clock,
        draft_due_days=node.settings.registry.draft_due_days,
    )
    area = metrics.area(scope, jurisdiction)
    zone = display_zone(node)
    period = parse_period(
        {"daily": "day", "weekly": "week", "monthly": "month"}[chosen.value],
        day,
        now=now,
        zone=zone,
    )
    names = RegistryService(session).jurisdiction_names()
    area_name = names.get(area.jurisdiction_id or "", "") or text(lang)["all"]
    return build_report(
        metrics,
        area,
        period,
        chosen,
        lang=lang,
        area_name=area_name,
        key_label=lambda metric, key: key_label(lang, metric, key),
        now=now,
        progress=progress,
    )


def make_assessment_report(
    page: Page, jurisdiction: str | None, day: str | None
) -> AssessmentReport:
    """The assessment of the units below the area over the month holding `day`."""
    return assessment_report(
        page.node,
        page.context.session,
        page.context.scope,
        jurisdiction,
        day,
        lang=page.lang,
        now=page.now,
    )


def assessment_report(
    node: Node,
    session: Session,
    scope: JurisdictionScope,
    jurisdiction: str | None,
    day: str | None,
    *,
    lang: str,
    now: datetime,
    progress: Callable[[float], None] | None = None,
) -> AssessmentReport:
    """The assessment of the units below an area of `scope` over the month holding `day`."""
    period = parse_period("month", day, now=now, zone=display_zone(node))
    service = AssessmentService(session, node.settings.assessment)
    metrics = MetricsService(
        session,
        node.event_reads,
        node.clock,
        draft_due_days=node.settings.registry.draft_due_days,
    )
    units = service.scores(metrics, scope, jurisdiction, period, progress)
    names = RegistryService(session).jurisdiction_names()
    area = jurisdiction or scope.root
    return AssessmentReport(
        lang=lang,
        area_name=names.get(area or "", "") or text(lang)["all"],
        period=period.label(),
        indicators=service.indicators(),
        indicator_names={i.name: indicator_name(lang, i.name) for i in service.indicators()},
        unit_names=names,
        units=units,
    )


def _download(body: bytes, media_type: str, name: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _file_name(report: Report, extension: str) -> str:
    # ASCII only: the header carries no encoding; the document's own title is Chinese.
    return f"zhian-{report.kind.value}-{report.period}.{extension}"


@router.get("/reports", response_class=HTMLResponse, include_in_schema=False)
def reports_page(page: PageDep, jurisdiction: Jurisdiction = None, day: Day = None) -> HTMLResponse:
    context = page.context
    error: ZhianError | None = None
    try:
        MetricsService(context.session).area(context.scope, jurisdiction)
        parse_period("day", day, now=page.now, zone=page.zone)
    except BadRequestError as exc:
        error, jurisdiction, day = exc, None, None
    return page.render(
        "reports.html",
        {
            "kinds": [
                (kind.value, TITLES[kind][1 if page.lang == "en" else 0]) for kind in ReportKind
            ],
            "choices": jurisdiction_choices(context.alerts.tree, context.scope),
            "names": RegistryService(context.session).jurisdiction_names(),
            "chosen": jurisdiction or context.scope.root,
            "day": day or page.now.astimezone(page.zone).date().isoformat(),
            "error": error,
            "archive": ReportArchiveService(context.session).listing(scope=context.scope),
        },
        status_code=error.status_code if error else 200,
    )


@router.get("/reports/archive/{report_id}", include_in_schema=False)
def archived_report(page: PageDep, report_id: ArchiveId) -> Response:
    """A file of the archive, when its area lies in the user's jurisdiction (404 if not)."""
    read, content = ReportArchiveService(page.context.session).content(
        report_id, scope=page.context.scope
    )
    media = XLSX_MEDIA if read.format == "xlsx" else "application/pdf"
    name = f"zhian-{read.kind}-{read.jurisdiction_id}-{read.period}.{read.format}"
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{_ascii(name)}"'},
    )


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)


@router.get("/reports/{kind}/print", response_class=HTMLResponse, include_in_schema=False)
def report_print(
    page: PageDep, kind: Kind, jurisdiction: Jurisdiction = None, day: Day = None
) -> HTMLResponse:
    if kind == ASSESSMENT:
        scored = make_assessment_report(page, jurisdiction, day)
        return page.render(
            "report_assessment_print.html",
            {
                "report": scored,
                "units": list(zip(scored.units, scored.rows(), strict=True)),
                "generated_at": page.now,
            },
        )
    report = make_report(page, kind, jurisdiction, day)
    return page.render(
        "report_print.html",
        {"report": report, "value": format_value, "change": format_change},
    )


@router.get("/reports/{kind}.xlsx", include_in_schema=False)
def report_excel(
    page: PageDep, kind: Kind, jurisdiction: Jurisdiction = None, day: Day = None
) -> Response:
    if kind == ASSESSMENT:
        scored = make_assessment_report(page, jurisdiction, day)
        return _download(
            assessment_workbook(scored), XLSX_MEDIA, f"zhian-assessment-{scored.period}.xlsx"
        )
    report = make_report(page, kind, jurisdiction, day)
    return Response(
        workbook_bytes(report, page.zone),
        media_type=XLSX_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="{_file_name(report, "xlsx")}"'},
    )


@router.get("/reports/{kind}.pdf", include_in_schema=False)
def report_pdf(
    page: PageDep, kind: Kind, jurisdiction: Jurisdiction = None, day: Day = None
) -> Response:
    if kind == ASSESSMENT:
        scored = make_assessment_report(page, jurisdiction, day)
        body = assessment_pdf(scored, page.node.settings.reports)
        return _download(body, "application/pdf", f"zhian-assessment-{scored.period}.pdf")
    report = make_report(page, kind, jurisdiction, day)
    body = pdf_bytes(report, page.zone, page.node.settings.reports)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_file_name(report, "pdf")}"'},
    )
