"""The map (一张图): the page, its GeoJSON layers, MBTiles tiles and the nearest responders.

Every layer is read through the services with the user's `JurisdictionScope`, and each
route needs the permission of what it shows (zhian.web.permissions): areas and alerts
`alerts.view`, buildings `residents.view`, devices `devices.view`, crowd zones
`crowd.view`, responders `alerts.dispatch`. The page asks only for the layers its user may
see. Coordinates are WGS84; docs/map.md says how GCJ-02 tiles are handled.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response

from zhian.alerts.schemas import AlertFilter
from zhian.devices.service import DeviceService
from zhian.errors import NotFoundError
from zhian.maps import layers
from zhian.maps.dispatch import jurisdiction_centres, rank_responders
from zhian.maps.mbtiles import MBTilesReader, TileOutOfRangeError, media_type
from zhian.maps.settings import MapSettings
from zhian.registry.service import RegistryService
from zhian.web.alerts_api import AlertId, assignee_choices, visible_alert
from zhian.web.auth import current_user
from zhian.web.deps import Context, RequestContext
from zhian.web.i18n import add_texts, label
from zhian.web.layout import PageDep
from zhian.web.openapi_errors import error_responses

router = APIRouter(tags=["map"], dependencies=[Depends(current_user)])

AreaId = Annotated[str | None, Query(max_length=64)]
MAX_ALERTS_ON_MAP = 500
RESPONDERS_SHOWN = 5
TILE_CACHE_SECONDS = 86_400

# The map's own texts (zh, en); one block, registered with the page texts.
MAP_TEXT: dict[str, tuple[str, str]] = {
    "map_zoom_in": ("放大", "Zoom in"),
    "map_zoom_out": ("缩小", "Zoom out"),
    "nav_map": ("一张图", "Map"),
    "map_title": ("一张图", "Map"),
    "map_layers": ("图层", "Layers"),
    "map_layer_areas": ("辖区与社区", "Jurisdictions and communities"),
    "map_layer_buildings": ("楼栋", "Buildings"),
    "map_layer_devices": ("设备", "Devices"),
    "map_layer_alerts": ("实时预警", "Live alerts"),
    "map_layer_zones": ("人流密度", "Crowd density"),
    "map_layer_hotspots": ("案件热点", "Case hotspots"),
    "map_hotspot_share": ("预测占比", "Share of the forecast"),
    "map_hotspot_past": ("近期案件", "Past cases"),
    "map_layer_patrols": ("巡逻点位（本班）", "Patrol points (this shift)"),
    "map_patrol_officer": ("民警", "Officer"),
    "map_patrol_hours": ("建议时段", "Hours"),
    "map_layer_units": ("在岗巡逻力量", "Patrol units on duty"),
    "map_unit_at": ("位置时间", "Position at"),
    "map_status_online": ("在线", "Online"),
    "map_status_offline": ("离线", "Offline"),
    "map_status_fault": ("故障", "Fault"),
    "map_up": ("返回上级", "Up one level"),
    "map_top": ("全部", "All"),
    "map_list": ("预警列表", "Alerts"),
    "map_list_all": ("全部区域", "All areas"),
    "map_list_none": ("暂无未结预警", "No open alerts"),
    "map_devices": ("设备", "Devices"),
    "map_online_rate": ("在线率", "Online rate"),
    "map_open_alerts": ("未结预警", "Open alerts"),
    "map_communities": ("社区", "Communities"),
    "map_buildings": ("楼栋", "Buildings"),
    "map_open": ("打开", "Open"),
    "map_drill": ("下钻", "Drill down"),
    "map_archive": ("档案", "Archive"),
    "map_nearest": ("最近可派警力", "Nearest available responders"),
    "map_dispatch": ("派警", "Dispatch"),
    "map_sign_first": ("请先签收，再派警", "Sign the alert first, then dispatch"),
    "map_busy": ("处置中", "Busy"),
    "map_no_position": ("位置未知", "No position"),
    "map_no_responders": ("辖区内无可派人员", "No responder in this jurisdiction"),
    "map_people": ("人数", "People"),
    "map_density": ("密度（人/㎡）", "Density (persons/m²)"),
    "map_base_geometry": (
        "底图：本辖区自有地理数据（未配置瓦片服务）",
        "Base map: the district's own geometry (no tile server configured)",
    ),
}
add_texts(MAP_TEXT)


def _geojson(context: RequestContext, features: list[dict[str, Any]], **extra: Any) -> JSONResponse:
    """A FeatureCollection in the datum of the base layer's tiles (WGS84 unless gcj02)."""
    datum = context.node.settings.map.tile_datum.value
    return JSONResponse({**layers.in_datum(layers.collection(features), datum), **extra})


def base_layer(settings: MapSettings) -> dict[str, Any]:
    """What the page draws under the layers: a tile URL template, or none (own geometry)."""
    if settings.tile_url is not None:
        url: str | None = settings.tile_url
    elif settings.mbtiles_path is not None:
        url = "/map/tiles/{z}/{x}/{y}"
    else:
        url = None
    return {
        "tile_url": url,
        "datum": settings.tile_datum.value,
        "attribution": settings.attribution,
        "max_zoom": settings.max_zoom,
    }


@router.get("/map", response_class=HTMLResponse, include_in_schema=False)
def map_page(page: PageDep) -> HTMLResponse:
    user = page.user
    shown = {
        "areas": user.can("alerts.view"),
        "buildings": user.can("residents.view"),
        "devices": user.can("devices.view"),
        "alerts": user.can("alerts.view"),
        "zones": user.can("crowd.view"),
        "hotspots": user.can("cases.view"),  # routes: zhian.web.hotspot_views
        "patrols": user.can("cases.view"),
        "units": user.can("alerts.dispatch"),  # routes: zhian.web.patrol_api
    }
    config = {
        "base": base_layer(page.node.settings.map),
        "layers": [name for name, may in shown.items() if may],
        "may_dispatch": user.can("alerts.dispatch"),
        "lang": page.lang,
        "t": {key: page.t[key] for key in MAP_TEXT},
        # Alert states by name in the page's language (the side list and popups).
        "states": {
            state: label(page.lang, "state", state)
            for state in ("new", "signed", "dispatched", "on_site", "handled", "closed")
        },
        "tiers": {tier: label(page.lang, "tier", tier) for tier in ("minor", "general", "major")},
    }
    return page.render("map.html", {"map_config": config})


def _communities(context: RequestContext) -> list[Any]:
    return RegistryService(context.session).list_communities(scope=context.scope)


def _open_device_alerts(context: RequestContext) -> list[Any]:
    return context.alerts.open_device_alerts(scope=context.scope)


@router.get(
    "/api/v1/map/areas",
    summary="Areas one level below a jurisdiction, with counts",
    responses=error_responses(401, 403, 404),
)
def map_areas(context: Context, parent: AreaId = None) -> JSONResponse:
    """The drill-down: the areas below `parent` (the top of the user's view when blank),
    each with its outline, counts and the communities it holds."""
    parent = parent or None  # a blank parent is the top, as no parent
    scope, session = context.scope, context.session
    registry = RegistryService(session)
    tree = registry.jurisdiction_tree()
    if parent is not None and not _parent_visible(context, tree, parent):
        raise NotFoundError(f"no area '{parent}' in your jurisdiction", field="parent")
    devices = DeviceService(session).list_devices(scope=scope)
    inputs = layers.AreaInputs(
        tree=tree,
        communities=_communities(context),
        buildings=registry.buildings(scope=scope),
        devices=devices,
        device_features=layers.device_features(devices, _open_device_alerts(context)),
        open_alerts=context.alerts.list_alerts(
            AlertFilter(is_open=True), scope=scope, per_page=MAX_ALERTS_ON_MAP
        ).items,
    )
    features = layers.area_features(inputs, parent)
    top = features[0]["properties"]["parent_id"] if features else parent
    trail = []
    current = top
    while current is not None and (scope.is_unscoped or scope.contains(current)):
        trail.append({"id": current, "name": tree.names.get(current, current)})
        current = tree.parents.get(current)
        if current is not None and not scope.is_unscoped and not scope.contains(current):
            break
    return _geojson(context, features, parent_id=top, trail=list(reversed(trail)))


def _parent_visible(context: RequestContext, tree: Any, parent: str) -> bool:
    if parent not in tree.parents:
        return False
    scope = context.scope
    return scope.is_unscoped or scope.contains(parent)


@router.get(
    "/api/v1/map/buildings",
    summary="Buildings of the user's jurisdiction",
    responses=error_responses(401, 403),
)
def map_buildings(context: Context) -> JSONResponse:
    rows = RegistryService(context.session).buildings(scope=context.scope)
    return _geojson(context, layers.building_features(rows))


@router.get(
    "/api/v1/map/devices",
    summary="Devices with their status (online/offline/fault)",
    responses=error_responses(401, 403),
)
def map_devices(context: Context) -> JSONResponse:
    devices = DeviceService(context.session).list_devices(scope=context.scope)
    return _geojson(context, layers.device_features(devices, _open_device_alerts(context)))


@router.get(
    "/api/v1/map/alerts",
    summary="Open alerts of the user's jurisdiction",
    responses=error_responses(401, 403),
)
def map_alerts(context: Context) -> JSONResponse:
    scope = context.scope
    alerts = context.alerts.list_alerts(
        AlertFilter(is_open=True), scope=scope, per_page=MAX_ALERTS_ON_MAP
    ).items
    devices = {d.id: d for d in DeviceService(context.session).list_devices(scope=scope)}
    communities = {c.id: c for c in _communities(context)}
    return _geojson(context, layers.alert_features(alerts, devices, communities))


@router.get(
    "/api/v1/map/zones",
    summary="Crowd zones with their last density",
    responses=error_responses(401, 403),
)
def map_zones(context: Context) -> JSONResponse:
    zones = RegistryService(context.session).zones(scope=context.scope)
    snapshot = context.node.crowd.snapshot()
    density = {v.zone_id: (v.occupancy, round(v.density, 3), v.level) for v in snapshot.zones}
    return _geojson(context, layers.zone_features(zones, density))


@router.get(
    "/api/v1/map/alerts/{alert_id}/responders",
    summary="The nearest available responders an alert may be dispatched to",
    responses=error_responses(401, 403, 404),
)
def map_responders(context: Context, alert_id: AlertId) -> JSONResponse:
    alert = visible_alert(context, alert_id)
    session = context.session
    registry = RegistryService(session)
    scope = context.scope
    devices = {d.id: d for d in DeviceService(session).list_devices(scope=scope)}
    communities = {c.id: c for c in _communities(context)}
    at = layers.alert_position(alert, devices, communities)
    all_communities = registry.list_communities(scope=scope)
    centres = jurisdiction_centres(registry.jurisdiction_tree(), all_communities)
    ranked = rank_responders(
        at, assignee_choices(context, alert), centres, context.alerts.open_assignments()
    )
    return JSONResponse(
        {
            "alert_id": alert.id,
            "state": alert.state.value,
            "responders": [
                {
                    "user_id": choice.user_id,
                    "display_name": choice.display_name,
                    "role": str(choice.role),
                    "distance_m": choice.distance_m,
                    "open_assignments": choice.open_assignments,
                    "is_available": choice.is_available,
                }
                for choice in ranked[:RESPONDERS_SHOWN]
            ],
        }
    )


# --- tiles from an MBTiles file ------------------------------------------------------------

_readers: dict[Path, MBTilesReader] = {}
_readers_lock = threading.Lock()


def _reader(path: Path) -> MBTilesReader:
    with _readers_lock:
        reader = _readers.get(path)
        if reader is None:
            reader = _readers[path] = MBTilesReader(path)
        return reader


@router.get("/map/tiles/{z}/{x}/{y}", include_in_schema=False)
def map_tile(
    context: Context,
    z: Annotated[int, PathParam(ge=0, le=24)],
    # Below 2**24 (the deepest zoom's width): a larger number never names a tile, and SQLite
    # refuses integers past 64 bits.
    x: Annotated[int, PathParam(ge=0, lt=2**24)],
    y: Annotated[int, PathParam(ge=0, lt=2**24)],
) -> Response:
    """One tile of the configured MBTiles file (404 when none is set or the tile is absent)."""
    return tile_response(context.node.settings.map.mbtiles_path, z, x, y)


def tile_response(path: Path | None, z: int, x: int, y: int) -> Response:
    """A tile of the MBTiles file at `path` (also the base of the public tip form's map)."""
    if path is None:
        raise NotFoundError("this node serves no tiles: map.mbtiles_path is not set", field="z")
    try:
        tile = _reader(path).tile(z, x, y)
    except TileOutOfRangeError as error:
        raise NotFoundError(str(error), field="y") from None
    if tile is None:
        return Response(status_code=204)
    headers = {"Cache-Control": f"private, max-age={TILE_CACHE_SECONDS}"}
    if tile.startswith(b"\x1f\x8b"):
        headers["Content-Encoding"] = "gzip"
    return Response(tile, media_type=media_type(tile), headers=headers)
