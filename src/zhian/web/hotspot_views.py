"""Hotspots (热力图): the ranked cells per station as JSON and as a page, and the map layer.

Place-based only (DESIGN.md, responsible use): cells, counts and expected cases, never a
person. Every route needs `cases.view` (zhian.web.permissions) and reads the cases of the
user's jurisdiction only.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

import shapely.wkt
from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response

from zhian.alerts.schemas import AlertFilter, Outcome, Tier
from zhian.cases.hotspot_service import (
    HotspotService,
    PatrolPlan,
    StationHotspots,
    parse_method,
)
from zhian.cases.patrol import plan_csv, plan_rows, plan_xlsx
from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, ZhianError
from zhian.maps import layers
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.deps import Context, RequestContext
from zhian.web.i18n import add_texts
from zhian.web.layout import PageDep
from zhian.web.openapi_errors import error_responses

router = APIRouter(tags=["hotspots"], dependencies=[Depends(current_user)])

StationId = Annotated[str | None, Query(max_length=64)]
Method = Annotated[str | None, Query(max_length=32)]
Limit = Annotated[int, Query(ge=1, le=500)]
CellM = Annotated[float | None, Query(ge=10, le=5000)]
# The map shows this many cells per station: the top of the ranking, not the whole grid.
MAP_CELLS_PER_STATION = 50
Officers = Annotated[int | None, Query(ge=1, le=200)]
PlanFormat = Annotated[str, Query(alias="format", max_length=8)]
# Alerts weigh in the patrol plan by tier (a major alert is rarer and matters more).
TIER_WEIGHT = {Tier.MINOR: 0.5, Tier.GENERAL: 1.0, Tier.MAJOR: 2.0}
# Pages of alert history read for a plan (500 a page): enough for a station's quarter.
ALERT_PAGES = 20
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_PAIRS: dict[str, tuple[str, str]] = {
    "nav_hotspots": ("热力图", "Hotspots"),
    "hotspots_title": ("案件热点预测", "Case hotspots"),
    "hotspots_note": (
        "按地点预测未来案件（网格），不对任何个人评分；供巡逻部署参考。",
        "Forecasts where cases will happen (grid cells), never scores any person; "
        "a guide for patrols.",
    ),
    "hotspots_station": ("派出所", "Station"),
    "hotspots_method": ("方法", "Method"),
    "hotspots_method_naive": ("历史计数", "Past counts"),
    "hotspots_method_kde": ("核密度", "Kernel density"),
    "hotspots_method_self_exciting": ("自激模型（近重复）", "Self-exciting (near-repeat)"),
    "hotspots_rank": ("排名", "Rank"),
    "hotspots_cell": ("网格中心", "Cell centre"),
    "hotspots_score": ("预测值", "Forecast"),
    "hotspots_share": ("占比", "Share"),
    "hotspots_past": ("近期案件数", "Past cases"),
    "hotspots_long_term": ("其中长期", "Long-term part"),
    "hotspots_near_repeat": ("其中近重复", "Near-repeat part"),
    "hotspots_why_note": (
        "预测值 = 长期部分（该格历史案件的持续水平）+ 近重复部分（附近近期案件带来的短期风险）。",
        "Forecast = long-term part (the cell's lasting level of past cases) + near-repeat "
        "part (the short-lived risk from recent cases nearby).",
    ),
    "hotspots_summary": (
        "网格 {cell} 米 · 预测未来 {days} 天 · 共 {cells} 格 · 依据 {cases} 起案件",
        "{cell} m cells · the next {days} days · {cells} cells · from {cases} cases",
    ),
    "hotspots_empty": (
        "辖区内近期无带坐标的案件",
        "No recent cases with a place in your jurisdiction",
    ),
    "hotspots_show": ("显示", "Show"),
    "patrol_title": ("巡逻建议（排班计划）", "Patrol plan (shift plan)"),
    "patrol_note": (
        "综合案件预测、预警历史与人流预测，为每班民警推荐巡逻点位与时段。",
        "Patrol points and hours for each officer of a shift, from the case forecast, "
        "alert history and crowd forecasts.",
    ),
    "patrol_shift": ("班次", "Shift"),
    "patrol_officer": ("民警", "Officer"),
    "patrol_point": ("点位", "Point"),
    "patrol_hours": ("建议时段", "Hours"),
    "patrol_risk": ("覆盖风险（预计事件数）", "Risk covered (expected incidents)"),
    "patrol_download": ("下载排班计划", "Download the shift plan"),
}
add_texts(_PAIRS)


def hotspot_service(context: RequestContext) -> HotspotService:
    node = context.node
    return HotspotService(
        context.session, clock=node.clock, settings=node.settings.cases, scope=context.scope
    )


def _forecasts(
    context: RequestContext, station: str | None, method: str | None, limit: int,
    cell_m: float | None,
) -> list[StationHotspots]:  # fmt: skip
    chosen = parse_method(method) if method else None
    return hotspot_service(context).stations(
        method=chosen, station_id=station or None, limit=limit, cell_m=cell_m
    )


def _json(station: StationHotspots) -> dict[str, Any]:
    out = asdict(station)
    out["method"] = station.method.value
    out["forecast_from"] = station.forecast_from.isoformat()
    return out


@router.get(
    "/api/v1/hotspots",
    summary="Ranked hotspot cells per station",
    responses=error_responses(400, 401, 403, 404),
)
def list_hotspots(
    context: Context,
    station: StationId = None,
    method: Method = None,
    limit: Limit = 20,
    cell_m: CellM = None,
) -> JSONResponse:
    """For each station of the user's jurisdiction (or one), the best cells of the
    forecast, best first: where, the forecast, its share of the station's total and the
    past cases there. `method`: naive, kde or self_exciting (default: the setting)."""
    forecasts = _forecasts(context, station, method, limit, cell_m)
    return JSONResponse({"stations": [_json(f) for f in forecasts]})


def cell_features(forecasts: list[StationHotspots]) -> list[layers.Feature]:
    """Each ranked cell as a square polygon with its station, rank and figures."""
    features = []
    for forecast in forecasts:
        for cell in forecast.cells:
            ring = [[cell.west, cell.south], [cell.east, cell.south], [cell.east, cell.north],
                    [cell.west, cell.north], [cell.west, cell.south]]  # fmt: skip
            features.append({
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "station_id": forecast.station_id, "station_name": forecast.station_name,
                    "rank": cell.rank, "score": cell.score, "share": cell.share,
                    "past_cases": cell.past_cases, "long_term": cell.long_term,
                    "near_repeat": cell.near_repeat, "method": forecast.method.value,
                },
            })  # fmt: skip
    return features


@router.get(
    "/api/v1/map/hotspots",
    summary="The map's hotspot layer: the best cells of each station",
    responses=error_responses(400, 401, 403),
)
def map_hotspots(context: Context, method: Method = None) -> JSONResponse:
    forecasts = _forecasts(context, None, method, MAP_CELLS_PER_STATION, None)
    datum = context.node.settings.map.tile_datum.value
    return JSONResponse(layers.in_datum(layers.collection(cell_features(forecasts)), datum))


@router.get("/hotspots", response_class=HTMLResponse, include_in_schema=False)
def hotspots_page(
    page: PageDep, station: StationId = None, method: Method = None, limit: Limit = 20
) -> HTMLResponse:
    form_error = None
    forecasts: list[StationHotspots] = []
    plans: list[PatrolPlan] = []
    try:
        forecasts = _forecasts(page.context, station, method, limit, None)
        plans = [patrol_plan(page.context, f.station_id, None) for f in forecasts]
    except ZhianError as error:
        form_error = error
    context = {
        "forecasts": forecasts,
        "plans": plans,
        "shift_only": None,
        "methods": ["self_exciting", "kde", "naive"],
        "method": method or page.node.settings.cases.hotspot_method,
        "form_error": form_error,
    }
    status = form_error.status_code if form_error is not None else 200
    return page.render("cases/hotspots.html", context, status_code=status)


# --- patrol allocation (警力优化) ------------------------------------------------------------


def _alert_points(
    context: RequestContext, station_id: str
) -> list[tuple[float, float, float, int]]:
    """(latitude, longitude, weight, local hour) of the station's alerts of the look-back
    that were not false alarms or duplicates."""
    node = context.node
    now = node.clock.now()
    since = now - timedelta(days=node.settings.cases.patrol_alert_days)
    scope = context.scope
    devices = {d.id: d for d in DeviceService(context.session).list_devices(scope=scope)}
    registry = RegistryService(context.session)
    communities = {c.id: c for c in registry.list_communities(scope=scope)}
    wanted = AlertFilter(since=since, jurisdiction_id=station_id)
    out = []
    for page_number in range(1, ALERT_PAGES + 1):
        page = context.alerts.list_alerts(wanted, scope=scope, page=page_number, per_page=500)
        for alert in page.items:
            if alert.outcome in (Outcome.FALSE_ALARM, Outcome.DUPLICATE):
                continue
            at = layers.alert_position(alert, devices, communities)
            if at is not None:
                hour = alert.created_at.astimezone(now.tzinfo).hour
                out.append((at[0], at[1], TIER_WEIGHT.get(alert.tier, 1.0), hour))
        if page_number * 500 >= page.total:
            break
    return out


def _crowd_points(context: RequestContext) -> list[tuple[float, float, int]]:
    """(latitude, longitude, level) of the crowd zones at or forecast above a warning."""
    zones = {z.id: z for z in RegistryService(context.session).zones(scope=context.scope)}
    out = []
    for view in context.node.crowd.snapshot().zones:
        zone = zones.get(view.zone_id)
        level = max(view.level, 1 if view.forecast_warning else 0)
        if zone is None or level <= 0:
            continue
        centre = shapely.wkt.loads(zone.polygon_wkt).centroid
        out.append((float(centre.y), float(centre.x), level))
    return out


def patrol_plan(context: RequestContext, station: str, officers: int | None) -> PatrolPlan:
    return hotspot_service(context).patrol_plan(
        station, officers=officers, alerts=_alert_points(context, station),
        crowd=_crowd_points(context),
    )  # fmt: skip


@router.get(
    "/api/v1/patrols/{station_id}",
    summary="A station's patrol plan: points and hours per officer and shift",
    responses=error_responses(400, 401, 403, 404),
)
def get_patrol_plan(
    context: Context, station_id: Annotated[str, PathParam(min_length=1, max_length=64)],
    officers: Officers = None, file_format: PlanFormat = "json",
) -> Response:  # fmt: skip
    """The day's shift plan of a station: for each shift and officer, the patrol points
    covering the most forecast risk, their hours and what the risk is made of. `format`:
    json, csv or xlsx (the shift plan as a file)."""
    if file_format not in ("json", "csv", "xlsx"):
        raise BadRequestError("format is json, csv or xlsx", field="format")
    plan = patrol_plan(context, station_id, officers)
    if file_format == "json":
        body = asdict(plan)
        return JSONResponse(body)
    rows = plan_rows(plan.station_name, plan.plan_date, plan.stops)
    name = f"patrol-plan-{plan.station_id}-{plan.plan_date}.{file_format}"
    disposition = {"Content-Disposition": f'attachment; filename="{quote(name)}"'}
    if file_format == "csv":
        return Response(plan_csv(rows), media_type="text/csv; charset=utf-8", headers=disposition)
    return Response(plan_xlsx(rows), media_type=XLSX_TYPE, headers=disposition)


@router.get(
    "/api/v1/map/patrols",
    summary="The map's patrol layer: the points of the shift under way, per station",
    responses=error_responses(401, 403),
)
def map_patrols(context: Context) -> JSONResponse:
    """Every station with hotspots in the user's jurisdiction: its plan's points for the
    shift under way, as GeoJSON points."""
    now = context.node.clock.now()
    features = []
    for station in hotspot_service(context).stations(limit=1):
        plan = patrol_plan(context, station.station_id, None)
        under_way = {s.name for s in plan.shifts if now.hour in s.hours}
        for stop in plan.stops:
            if stop.shift in under_way:
                features.append(layers.point(stop.latitude, stop.longitude, {
                    "station_id": plan.station_id, "station_name": plan.station_name,
                    "shift": stop.shift, "officer": stop.officer, "order": stop.order,
                    "hours": list(stop.hours), "risk": stop.risk,
                }))  # fmt: skip
    datum = context.node.settings.map.tile_datum.value
    return JSONResponse(layers.in_datum(layers.collection(features), datum))


# The workbench shows the plans of at most this many stations (a city user sees many).
WORKBENCH_STATIONS = 3


@router.get("/workbench/_patrols", response_class=HTMLResponse, include_in_schema=False)
def workbench_patrols(page: PageDep) -> HTMLResponse:
    """The patrol points of the shift under way, for the user's stations (the workbench
    loads it after the page)."""
    now = page.node.clock.now()
    stations = hotspot_service(page.context).stations(limit=1)[:WORKBENCH_STATIONS]
    plans = [patrol_plan(page.context, s.station_id, None) for s in stations]
    under_way = {s.name for plan in plans for s in plan.shifts if now.hour in s.hours}
    return page.render("cases/_patrols.html", {"plans": plans, "shift_only": under_way})
