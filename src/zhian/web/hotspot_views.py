"""Hotspots (热力图): the ranked cells per station as JSON and as a page, and the map layer.

Place-based only (DESIGN.md, responsible use): cells, counts and expected cases, never a
person. Every route needs `cases.view` (zhian.web.permissions) and reads the cases of the
user's jurisdiction only.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse

from zhian.cases.hotspot_service import HotspotService, StationHotspots, parse_method
from zhian.errors import ZhianError
from zhian.maps import layers
from zhian.web.auth import current_user
from zhian.web.deps import Context, RequestContext
from zhian.web.i18n import TEXT
from zhian.web.layout import PageDep
from zhian.web.openapi_errors import error_responses

router = APIRouter(tags=["hotspots"], dependencies=[Depends(current_user)])

StationId = Annotated[str | None, Query(max_length=64)]
Method = Annotated[str | None, Query(max_length=32)]
Limit = Annotated[int, Query(ge=1, le=500)]
CellM = Annotated[float | None, Query(ge=10, le=5000)]
# The map shows this many cells per station: the top of the ranking, not the whole grid.
MAP_CELLS_PER_STATION = 50

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
    "hotspots_summary": (
        "网格 {cell} 米 · 预测未来 {days} 天 · 共 {cells} 格 · 依据 {cases} 起案件",
        "{cell} m cells · the next {days} days · {cells} cells · from {cases} cases",
    ),
    "hotspots_empty": (
        "辖区内近期无带坐标的案件",
        "No recent cases with a place in your jurisdiction",
    ),
    "hotspots_show": ("显示", "Show"),
}
for _key, (_zh, _en) in _PAIRS.items():
    TEXT["zh"].setdefault(_key, _zh)
    TEXT["en"].setdefault(_key, _en)


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
                    "past_cases": cell.past_cases, "method": forecast.method.value,
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
    try:
        forecasts = _forecasts(page.context, station, method, limit, None)
    except ZhianError as error:
        form_error = error
    context = {
        "forecasts": forecasts,
        "methods": ["self_exciting", "kde", "naive"],
        "method": method or page.node.settings.cases.hotspot_method,
        "form_error": form_error,
    }
    status = form_error.status_code if form_error is not None else 200
    return page.render("cases/hotspots.html", context, status_code=status)
