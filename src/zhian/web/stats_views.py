"""Statistics (专题统计): every figure of the metrics layer for an area and a period, with
环比 and 同比, a trend chart and a link to the list behind each number; and its JSON API."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, ZhianError
from zhian.metrics.catalogue import METRICS, METRICS_BY_NAME, Kind
from zhian.metrics.periods import Period, parse_period
from zhian.metrics.schemas import FigureRead, StatisticsRead, TrendPoint
from zhian.metrics.service import TREND_PERIODS, MetricsService
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.deps import Context
from zhian.web.i18n import add_texts, label
from zhian.web.kpi_views import jurisdiction_choices
from zhian.web.layout import Page, PageDep, display_zone
from zhian.web.openapi_errors import error_responses
from zhian.web.permissions import ROUTES, SELF_AUTHENTICATED

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
    "visiting_title": ("来访车辆明细", "Visiting vehicles"),
    "visiting_plate": ("车牌（脱敏）", "Plate (masked)"),
    "visiting_first": ("首次通行", "First seen"),
    "visiting_last": ("末次通行", "Last seen"),
    "visiting_gates": ("卡口", "Gates"),
    "visiting_passages": ("通行次数", "Passages"),
    "visiting_none": ("本期没有来访车辆", "No visiting vehicle in this period"),
    "visiting_note": (
        "在本辖区车辆卡口出现、且未登记在本辖区的车牌；车牌仅以脱敏形式显示，查看留痕审计。",
        "Plates seen at the area's vehicle gates and not registered to the area; plates are "
        "shown masked only, and every view is audited.",
    ),
    "back_to_stats": ("返回专题统计", "Back to statistics"),
    "registry_list_population": ("实有人口明细", "Registered population"),
    "registry_list_houses": ("实有房屋明细", "Houses"),
    "registry_list_vehicles": ("登记车辆明细", "Registered vehicles"),
    "registry_none": ("没有符合条件的登记记录", "No registry record matches"),
    "registry_first_rows": ("仅显示前 {n} 条", "The first {n} rows are shown"),
    "registry_note": (
        "当前登记数（一标三实，不含历史）；仅显示编号与脱敏信息，查看留痕审计。",
        "What the registry holds now; ids and masked values only, and every view is audited.",
    ),
    "col_resident": ("人员编号", "Resident"),
    "col_house": ("房屋编号", "House"),
    "col_house_number": ("门牌", "Number"),
    "col_community": ("社区", "Community"),
    "col_registration": ("登记类型", "Registration"),
    "col_use": ("房屋用途", "Use"),
    "col_vehicle": ("车辆编号", "Vehicle"),
    "col_plate": ("车牌（脱敏）", "Plate (masked)"),
    "col_vehicle_class": ("车型", "Class"),
    "stock_note": (
        "常住类指标（人口、房屋、车辆、设备）为当前登记数，暂无历史，不计环比同比。",
        "Stock figures (population, houses, vehicles, devices) are what the registry holds "
        "now: they have no history, so no comparison.",
    ),
}
add_texts(STATS_TEXT)

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


# Figures whose list is the alert wall of the same area and period (the alerts raised
# then: their handling times, deadlines, closings and the registry models' findings).
_WALL_FIGURES = frozenset(
    {
        "alerts",
        "alerts_by_tier",
        "alerts_by_kind",
        "alerts_by_state",
        "median_sign_minutes",
        "median_close_minutes",
        "overdue_rate",
        "false_alarm_rate",
        "registry_tasks_completed",
    }
)
_WALL_FILTER = {"alerts_by_tier": "tier", "alerts_by_kind": "kind", "alerts_by_state": "state"}
_PASSAGE_FIGURES = frozenset(
    {"passages", "passages_by_direction", "passages_by_type", "passages_by_hour"}
)
_REGISTRY_FIGURES = frozenset({"population", "houses", "vehicles"})


def list_link(
    figure: FigureRead, statistics: StatisticsRead, zone: timezone, lang: str
) -> str | None:
    """The list behind a number, for the same area and period: the alert wall filtered
    by tier, type or state; the case list of a category; the passages of the window; the
    visiting vehicles; the registry's list of residents, houses or vehicles; the devices
    page; the tip queue. None where no list exists."""
    metric = figure.metric
    if metric in _WALL_FIGURES:
        query = {
            "open": "all",
            "since": _local(statistics.start, zone),
            "until": _local(statistics.end, zone),
            "jurisdiction": statistics.jurisdiction_id or "",
        }
        attribute = _WALL_FILTER.get(metric)
        if attribute and figure.key:
            query[attribute] = figure.key
        query["lang"] = lang
        return "/alerts?" + urlencode({k: v for k, v in query.items() if v})
    if metric == "cases":
        return "/cases?" + urlencode({"category": figure.key or "", "lang": lang})
    if metric in ("devices", "device_online_rate", "data_reporting_rate"):
        return f"/devices?lang={lang}"
    if metric in _PASSAGE_FIGURES:
        return "/passages?" + urlencode(_passage_query(figure, statistics, zone, lang), doseq=True)
    if metric == "visiting_vehicles":
        return "/stats/visiting-vehicles?" + urlencode(_area_query(statistics, zone, lang))
    if metric in _REGISTRY_FIGURES:
        query = {"figure": metric, "key": figure.key or "", **_area_query(statistics, zone, lang)}
        return "/stats/registry?" + urlencode(query)
    if metric == "resident_satisfaction":
        return f"/tips?lang={lang}"
    return None


def _area_query(statistics: StatisticsRead, zone: timezone, lang: str) -> dict[str, str]:
    return {
        "jurisdiction": statistics.jurisdiction_id or "",
        "granularity": statistics.granularity,
        "day": statistics.start.astimezone(zone).date().isoformat(),
        "lang": lang,
    }


def _passage_query(
    figure: FigureRead, statistics: StatisticsRead, zone: timezone, lang: str
) -> dict[str, Any]:
    """The passages page's window: the period (for one day and an hour, that hour), the
    types the figure counts (doors and vehicle gates) and its direction."""
    since, until = statistics.start, statistics.end
    if (
        figure.metric == "passages_by_hour"
        and figure.key
        and statistics.granularity == "day"
        and figure.key.isdigit()
    ):
        since = since + timedelta(hours=int(figure.key))
        until = since + timedelta(hours=1)
    types = ["access", "vehicle"]
    if figure.metric == "passages_by_type" and figure.key in types:
        types = [figure.key]
    query: dict[str, Any] = {"since": _local(since, zone), "until": _local(until, zone)}
    if figure.metric == "passages_by_direction" and figure.key in ("in", "out"):
        query["direction"] = figure.key
    return {**query, "types": types, "lang": lang}


def _allowed(page: Page, link: str | None) -> str | None:
    """The link where the user may open it (the route map's permission), else None."""
    if link is None:
        return None
    needed = ROUTES.get(("GET", link.split("?", 1)[0]))
    if isinstance(needed, str) and needed not in SELF_AUTHENTICATED and not page.user.can(needed):
        return None
    return link


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


def _back_to_stats(page: Page, jurisdiction: str | None, period: Period) -> str:
    """The statistics page of the same area and period, for a list's back link."""
    query = {
        "jurisdiction": jurisdiction or "",
        "granularity": period.granularity.value,
        "day": period.first_day.isoformat(),
        "lang": page.lang,
    }
    return f"/stats?{urlencode(query)}"


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
    service = MetricsService(
        context.session,
        context.node.event_reads,
        context.node.clock,
        draft_due_days=context.node.settings.registry.draft_due_days,
    )
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
            "link": _allowed(page, list_link(figure, statistics, page.zone, page.lang)),
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


VISITING_ACTION = "stats.visiting_vehicles"
VISITING_ROWS = 500


@router.get("/stats/visiting-vehicles", response_class=HTMLResponse, include_in_schema=False)
def visiting_vehicles_page(
    page: PageDep,
    jurisdiction: Jurisdiction = None,
    granularity: Granularity = None,
    day: Day = None,
) -> HTMLResponse:
    """The list behind `visiting_vehicles`: the plates (masked, as the passages page shows
    them), first and last seen, gates and passages, for the same area and period. A read of
    passage data about people: audited, with the area, the period and the rows shown."""
    context = page.context
    service = MetricsService(
        context.session,
        context.node.event_reads,
        context.node.clock,
        draft_due_days=context.node.settings.registry.draft_due_days,
    )
    period = _period(page, granularity, day)
    area = service.area(context.scope, jurisdiction)
    vehicles = service.visiting_vehicles(area, period)
    shown = vehicles[:VISITING_ROWS]
    context.reveal.record_read(
        context.user,
        context.read(
            VISITING_ACTION,
            "vehicle",
            jurisdiction=area.jurisdiction_id,
            granularity=period.granularity.value,
            period=period.first_day.isoformat(),
            rows=len(shown),
        ),
    )
    gates = {
        device.id: device.name
        for device in DeviceService(context.session).list_devices(scope=context.scope)
    }
    names = RegistryService(context.session).jurisdiction_names()
    response = page.render(
        "stats_visiting.html",
        {
            "vehicles": shown,
            "total": len(vehicles),
            "gates": gates,
            "area_name": names.get(area.jurisdiction_id or "", area.jurisdiction_id or ""),
            "period": period,
            "back": _back_to_stats(page, jurisdiction, period),
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response


REGISTRY_ACTION = "stats.registry_list"
REGISTRY_ROWS = 500
_REGISTRY_RECORD = {"population": "resident", "houses": "house", "vehicles": "vehicle"}


@router.get("/stats/registry", response_class=HTMLResponse, include_in_schema=False)
def registry_list_page(
    page: PageDep,
    figure: Annotated[str, Query(max_length=16)] = "population",
    key: Annotated[str | None, Query(max_length=32)] = None,
    jurisdiction: Jurisdiction = None,
    granularity: Granularity = None,
    day: Day = None,
) -> HTMLResponse:
    """The list behind a stock figure (population, houses, vehicles) of an area: ids,
    codes and masked plates, each row opening its archive; audited."""
    context = page.context
    service = MetricsService(context.session)
    area = service.area(context.scope, jurisdiction)
    rows = service.registry_rows(area, figure, key or None, REGISTRY_ROWS + 1)
    context.reveal.record_read(
        context.user,
        context.read(
            REGISTRY_ACTION,
            _REGISTRY_RECORD[figure],
            figure=figure,
            key=key or None,
            jurisdiction=area.jurisdiction_id,
            rows=len(rows[:REGISTRY_ROWS]),
        ),
    )
    period = _period(page, granularity, day)
    names = RegistryService(context.session).jurisdiction_names()
    communities = {
        c.id: c.name for c in RegistryService(context.session).list_communities(scope=context.scope)
    }
    response = page.render(
        "stats_registry.html",
        {
            "figure": figure,
            "key": key or "",
            "key_name": key_label(page.lang, figure, key or None),
            "rows": rows[:REGISTRY_ROWS],
            "more": len(rows) > REGISTRY_ROWS,
            "limit": REGISTRY_ROWS,
            "communities": communities,
            "area_name": names.get(area.jurisdiction_id or "", area.jurisdiction_id or ""),
            "back": _back_to_stats(page, jurisdiction, period),
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response


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
    service = MetricsService(
        context.session,
        context.node.event_reads,
        context.node.clock,
        draft_due_days=context.node.settings.registry.draft_due_days,
    )
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
    service = MetricsService(
        context.session,
        context.node.event_reads,
        context.node.clock,
        draft_due_days=context.node.settings.registry.draft_due_days,
    )
    period = _period(context, granularity, day)
    area = service.area(context.scope, jurisdiction)
    points = service.trend(area, period, metric, key or None, periods)
    body = "[" + ",".join(point.model_dump_json() for point in points) + "]"
    return Response(body, media_type="application/json")
