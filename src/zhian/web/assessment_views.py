"""Assessment (考核评价): units' scores and ranks on the indicators, the drill-down to the
figures behind each score, audited edits of weights and targets; and its JSON API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict

from zhian.assessment.service import ON_TIME_RATE, AssessmentService, UnitScore
from zhian.audit.service import Actor
from zhian.errors import BadRequestError, ZhianError
from zhian.metrics.periods import Period, parse_period
from zhian.metrics.service import MetricsService
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.deps import Context
from zhian.web.i18n import TEXT, add_texts
from zhian.web.kpi_views import jurisdiction_choices
from zhian.web.layout import Page, PageDep, display_zone
from zhian.web.openapi_errors import error_responses
from zhian.web.stats_views import metric_title

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])
api = APIRouter(
    prefix="/api/v1",
    tags=["assessment"],
    dependencies=[Depends(current_user)],
    responses=error_responses(401, 403),
)

ASSESSMENT_TEXT: dict[str, tuple[str, str]] = {
    "nav_assessment": ("考核评价", "Assessment"),
    "assessment_title": ("考核评价", "Assessment"),
    "unit": ("单位", "Unit"),
    "total_score": ("总分", "Total"),
    "rank": ("排名", "Rank"),
    "indicator": ("考核指标", "Indicator"),
    "weight": ("权重", "Weight"),
    "target": ("目标值", "Target"),
    "better": ("方向", "Better"),
    "better_higher": ("越高越好", "higher"),
    "better_lower": ("越低越好", "lower"),
    "edited": ("已修改", "edited"),
    "save": ("保存", "Save"),
    "indicator_saved": ("已保存，修改已记入审计日志。", "Saved; the change is in the audit log."),
    "ind_sign_time": ("签收用时（分钟）", "Time to sign (minutes)"),
    "ind_on_time_handling": ("按时处置率", "On-time handling rate"),
    "ind_online_rate": ("设备在线率", "Device online rate"),
    "ind_false_alarm_rate": ("误报率", "False-alarm rate"),
    "ind_data_reporting": ("数据上报率", "Data reporting rate"),
    "ind_registry_tasks": ("登记任务按时完成率", "Registry tasks done on time"),
    "ind_resident_satisfaction": ("群众满意率", "Residents' satisfaction"),
}
add_texts(ASSESSMENT_TEXT)

Jurisdiction = Annotated[str | None, Query(max_length=64)]
Granularity = Annotated[str | None, Query(max_length=8)]
Day = Annotated[str | None, Query(max_length=10)]
IndicatorName = Annotated[str, Path(max_length=64)]


class IndicatorScoreRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    indicator: str
    metric: str
    value: float | None
    score: float | None


class UnitScoreRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    jurisdiction_id: str
    total: float | None
    rank: int | None
    scores: list[IndicatorScoreRead]


def _service(page_or_context: Page | Context) -> AssessmentService:
    context = page_or_context.context if isinstance(page_or_context, Page) else page_or_context
    return AssessmentService(context.session, context.node.settings.assessment)


def _period(node_holder: Page | Context, granularity: str | None, day: str | None) -> Period:
    node = node_holder.node
    return parse_period(granularity or "month", day, now=node.clock.now(), zone=display_zone(node))


def indicator_name(lang: str, name: str) -> str:
    return TEXT["en" if lang == "en" else "zh"].get(f"ind_{name}", name)


def drill_down(unit: str, metric: str, period: Period, lang: str) -> str:
    """The statistics of the unit and period, trend on the indicator's figure, from which
    every number opens the records behind it."""
    shown = "overdue_rate" if metric == ON_TIME_RATE else metric
    query = {
        "jurisdiction": unit,
        "granularity": period.granularity.value,
        "day": period.first_day.isoformat(),
        "metric": shown,
        "lang": lang,
    }
    return "/stats?" + urlencode(query)


def _scores(page: Page, jurisdiction: str | None, period: Period) -> list[UnitScore]:
    context = page.context
    return _service(page).scores(
        MetricsService(
            context.session,
            context.node.event_reads,
            context.node.clock,
            draft_due_days=context.node.settings.registry.draft_due_days,
        ),
        context.scope,
        jurisdiction,
        period,
    )


def _render(
    page: Page,
    jurisdiction: str | None,
    granularity: str | None,
    day: str | None,
    *,
    error: ZhianError | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    context = page.context
    try:
        period = _period(page, granularity, day)
        units = _scores(page, jurisdiction, period)
    except BadRequestError as exc:
        error, jurisdiction = exc, None
        period = _period(page, None, None)
        units = _scores(page, None, period)
    indicators = _service(page).indicators()
    values: dict[str, Any] = {
        "units": units,
        "indicators": indicators,
        "indicator_name": lambda name: indicator_name(page.lang, name),
        "metric_title": lambda name: metric_title(
            page.lang, "overdue_rate" if name == ON_TIME_RATE else name
        ),
        "drill": lambda unit, metric: drill_down(unit, metric, period, page.lang),
        "names": RegistryService(context.session).jurisdiction_names(),
        "choices": jurisdiction_choices(context.alerts.tree, context.scope),
        "chosen": jurisdiction or context.scope.root,
        "granularity": period.granularity.value,
        "day": period.first_day.isoformat(),
        "period": period.label(),
        "may_manage": page.user.can("assessment.manage"),
        "error": error,
        "notice": notice,
    }
    return page.render("assessment.html", values, status_code=error.status_code if error else 200)


@router.get("/assessment", response_class=HTMLResponse, include_in_schema=False)
def assessment_page(
    page: PageDep,
    jurisdiction: Jurisdiction = None,
    granularity: Granularity = None,
    day: Day = None,
) -> HTMLResponse:
    return _render(
        page, jurisdiction, granularity, day, notice=page.request.query_params.get("saved")
    )


def _number(raw: object, field: str) -> float:
    try:
        return float(str(raw).strip())
    except ValueError:
        raise BadRequestError("must be a number", field=field) from None


@router.post("/assessment/indicators/{name}", include_in_schema=False)
async def update_indicator(page: PageDep, name: IndicatorName) -> Response:
    """Change an indicator's weight and target; the audit entry commits with the change."""
    form = await page.request.form()
    try:
        weight = _number(form.get("weight", ""), "weight")
        target = _number(form.get("target", ""), "target")
        before, after = _service(page).update_indicator(
            name, weight, target, user_id=page.user.id, now=page.now
        )
    except ZhianError as error:
        return _render(page, None, None, None, error=error)
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id),
        "assessment.indicator_update",
        record_type="assessment_indicator",
        record_ids=[name],
        ip=page.context.ip,
        details={
            "weight": [before.weight, after.weight],
            "target": [before.target, after.target],
        },
    )
    return RedirectResponse(f"/assessment?lang={page.lang}&saved=1", status_code=303)


@api.get(
    "/assessment",
    summary="Scores and ranks of the units below your jurisdiction (or one in it)",
    response_model=list[UnitScoreRead],
    responses=error_responses(400),
)
def assessment_api(
    context: Context,
    jurisdiction: Jurisdiction = None,
    granularity: Granularity = None,
    day: Day = None,
) -> Response:
    period = _period(context, granularity, day)
    units = _service(context).scores(
        MetricsService(
            context.session,
            context.node.event_reads,
            context.node.clock,
            draft_due_days=context.node.settings.registry.draft_due_days,
        ),
        context.scope,
        jurisdiction,
        period,
    )
    reads = [
        UnitScoreRead(
            jurisdiction_id=u.jurisdiction_id,
            total=u.total,
            rank=u.rank,
            scores=[IndicatorScoreRead(**s.__dict__) for s in u.scores],
        )
        for u in units
    ]
    return Response(
        "[" + ",".join(r.model_dump_json() for r in reads) + "]", media_type="application/json"
    )
