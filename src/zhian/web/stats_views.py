"""Statistics (专题统计): every figure of the metrics layer for an area and a period, with
环比 and 同比, a trend chart and a link to the list behind each number; and its JSON API."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from zhian.errors import BadRequestError, ZhianError
from zhian.metrics.catalogue import METRICS, METRICS_BY_NAME, Kind
from zhian.metrics.periods import Period, parse_period
from zhian.metrics.schemas import FigureRead, StatisticsRead, TrendPoint
from zhian.metrics.service import TREND_PERIODS, MetricsService
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.deps import Context
from zhian.web.i18n import TEXT, label
from zhian.web.kpi_views import jurisdiction_choices
from zhian.web.layout import Page, PageDep, display_zone
from zhian.web.openapi_errors import error_responses

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])
api = APIRouter(
    prefix="/api/v1",
    tags=["statistics"],
    dependencies=[Depends(current_user)],
    responses=error_responses(401, 403),
)

STATS_TEXT: dict[str, tuple[str, str]] = {
    "nav_stats": ("专题统计", "Statistics"),
    "stats_title": ("专题统计", "Statistics"),
    "granularity": ("统计周期", "Period type"),
    "granularity_day": ("日", "Day"),
    "granularity_week": ("周", "Week"),
    "granularity_month": ("月", "Month"),
    "stats_day": ("日期", "Date"),
    "figure_name": ("指标", "Figure"),
    "figure_value": ("数值", "Value"),
    "mom": ("环比", "vs previous"),
    "yoy": ("同比", "vs a year ago"),
    "trend": ("趋势", "Trend"),
    "list_behind": ("明细", "List"),
    "stock_note": (
        "常住类指标（人口、房屋、车辆、设备）为当前登记数，暂无历史，不计环比同比。",
        "Stock figures (population, houses, vehicles, devices) are what the registry holds "
        "now: they have no history, so no comparison.",
    ),
}
for _key, (_zh, _en) in STATS_TEXT.items():
    TEXT["zh"].setdefault(_key, _zh)
    TEXT["en"].setdefault(_key, _en)

# Breakdown -> label group of zhian.web.i18n for the key's display name.
KEY_GROUPS = {
    "tier": "tier",
    "state": "state",
    "kind": "kind",
    "rule": "rule",
    "device_kind": "device_kind",
    "registration": "registration",
    "use": "house_use",
    "category": "case_category",
    "direction": "direction",
    "passage_type": "passage_type",
}
Jurisdiction = Annotated[str | None, Query(max_length=64)]
Granularity = Annotated[str | None, Query(max_length=8)]
Day = Annotated[str | None, Query(max_length=10)]


def metric_title(lang: str, name: str) -> str:
    metric = METRICS_BY_NAME[name]
    return metric.title_en if lang == "en" else metric.title_zh


def key_label(lang: str, metric: str, key: str | None) -> str:
    if key is None:
        return ""
    group = KEY_GROUPS.get(METRICS_BY_NAME[metric].breakdown or "", "")
    return label(lang, group, key) if group else key


def list_link(
    figure: FigureRead, statistics: StatisticsRead, zone: timezone, lang: str
) -> str | None:
    """The list behind a number: the alert wall or the case list filtered to the same
    area, period and breakdown value, or the devices page; None where no list exists."""
    metric = figure.metric
    if metric.startswith("alerts"):
        query = {
            "open": "all",
            "since": _local(statistics.start, zone),
            "until": _local(statistics.end, zone),
            "jurisdiction": statistics.jurisdiction_id or "",
        }
        attribute = {"alerts_by_tier": "tier", "alerts_by_kind": "kind"}.get(metric)
        if metric == "alerts_by_state":
            attribute = "state"
        if attribute and figure.key:
            query[attribute] = figure.key
        query["lang"] = lang
        return "/alerts?" + urlencode({k: v for k, v in query.items() if v})
    if metric == "cases" and figure.key:
        return "/cases?" + urlencode({"category": figure.key, "lang": lang})
    if metric in ("devices", "device_online_rate"):
        return f"/devices?lang={lang}"
    return None


def _local(moment: datetime, zone: timezone) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def statistics_for(
    service: MetricsService, context: Context, jurisdiction: str | None, period: Period
) -> StatisticsRead:
    return service.statistics(service.area(context.scope, jurisdiction), period)


def trend_chart(points: list[TrendPoint], title: str, unit: str) -> dict[str, Any]:
    """One line over the periods; period labels are local dates, so the axis reads in the
    display zone. A trend with no value at all draws nothing (the page says "no data")."""
    values = [point.value for point in points]
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 36, "right": 12, "top": 32, "bottom": 24, "containLabel": True},
        "xAxis": {"type": "category", "data": [point.period for point in points]},
        "yAxis": {"type": "value", "name": unit, "minInterval": 1 if unit == "" else 0},
        "series": [
            {
                "name": title,
                "type": "line",
                "data": values if any(v for v in values) else [],
                "connectNulls": False,
            }
        ],
    }


def _period(page_or_context: Context | Page, granularity: str | None, day: str | None) -> Period:
    node = page_or_context.node
    return parse_period(granularity, day, now=node.clock.now(), zone=display_zone(node))


@router.get("/stats", response_class=HTMLResponse, include_in_schema=False)
def stats_page(
    page: PageDep,
    jurisdiction: Jurisdiction = None,
    granularity: Granularity = None,
    day: Day = None,
    metric: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    context = page.context
    service = MetricsService(context.session, context.node.event_reads, context.node.clock)
    error: ZhianError | None = None
    try:
        period = _period(page, granularity, day)
        statistics = statistics_for(service, context, jurisdiction, period)
        chosen = metric or "alerts"
        if METRICS_BY_NAME.get(chosen) is None or METRICS_BY_NAME[chosen].kind is not Kind.FLOW:
            raise BadRequestError("must name a figure counted over time", field="metric")
    except BadRequestError as exc:
        error = exc
        period = _period(page, None, None)
        statistics = statistics_for(service, context, None, period)
        chosen = "alerts"
    area = service.area(context.scope, statistics.jurisdiction_id)
    points = service.trend(area, period, chosen, None, TREND_PERIODS)
    unit = METRICS_BY_NAME[chosen].unit.value
    rows = [
        {
            "figure": figure,
            "title": metric_title(page.lang, figure.metric),
            "key": key_label(page.lang, figure.metric, figure.key),
            "unit": METRICS_BY_NAME[figure.metric].unit.value,
            "is_flow": METRICS_BY_NAME[figure.metric].kind is Kind.FLOW,
            "link": list_link(figure, statistics, page.zone, page.lang),
        }
        for figure in statistics.figures
    ]
    tree = RegistryService(context.session)
    return page.render(
        "stats.html",
        {
            "statistics": statistics,
            "rows": rows,
            "error": error,
            "names": tree.jurisdiction_names(),
            "choices": jurisdiction_choices(context.alerts.tree, context.scope),
            "chosen": statistics.jurisdiction_id,
            "granularity": period.granularity.value,
            "day": period.first_day.isoformat(),
            "metric": chosen,
            "flow_metrics": [
                (m.name, metric_title(page.lang, m.name)) for m in METRICS if m.kind is Kind.FLOW
            ],
            "trend": points,
            "trend_chart": trend_chart(
                points, metric_title(page.lang, chosen), "%" if unit == "percent" else ""
            ),
        },
        status_code=error.status_code if error else 200,
    )


@api.get(
    "/stats",
    summary="Every figure of your jurisdiction (or one below it) for a period",
    response_model=StatisticsRead,
    responses=error_responses(400),
)
def stats_api(
    context: Context,
    jurisdiction: Jurisdiction = None,
    granularity: Granularity = None,
    day: Day = None,
) -> Response:
    service = MetricsService(context.session, context.node.event_reads, context.node.clock)
    period = _period(context, granularity, day)
    body = statistics_for(service, context, jurisdiction, period).model_dump_json()
    return Response(body, media_type="application/json")


@api.get(
    "/stats/trend",
    summary="One figure over the periods ending with the one asked",
    response_model=list[TrendPoint],
    responses=error_responses(400),
)
def stats_trend_api(
    context: Context,
    metric: Annotated[str, Query(max_length=64)],
    key: Annotated[str | None, Query(max_length=64)] = None,
    jurisdiction: Jurisdiction = None,
    granularity: Granularity = None,
    day: Day = None,
    periods: Annotated[int, Query(ge=1, le=60)] = TREND_PERIODS,
) -> Response:
    service = MetricsService(context.session, context.node.event_reads, context.node.clock)
    period = _period(context, granularity, day)
    area = service.area(context.scope, jurisdiction)
    points = service.trend(area, period, metric, key or None, periods)
    body = "[" + ",".join(point.model_dump_json() for point in points) + "]"
    return Response(body, media_type="application/json")
