"""Archives (档案): one page per community, building, house and vehicle, each linking what
belongs to it (多档关联). Residents appear masked (the reveal service's masked identity);
revealing a field happens on the resident's page, with a purpose, audited. Plates are
masked. Every read is scoped: another jurisdiction's record is 404, as one that does not
exist. Each view of a page that lists residents is recorded in the audit log.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from zhian.access.roles import Role
from zhian.access.service import AccessService
from zhian.alerts.schemas import AlertFilter, AlertSummary
from zhian.devices.schemas import DeviceRead
from zhian.devices.service import DeviceService
from zhian.follows.models import FollowKind
from zhian.maps.layers import DeviceStatus, device_status
from zhian.registry.archive import ArchiveReader
from zhian.registry.export import EXPORT_KINDS
from zhian.registry.loop import RegistryLoop
from zhian.registry.service import RegistryService
from zhian.registry.upward import EXPORT_ACTION, upward_file
from zhian.web.auth import current_user
from zhian.web.follow_views import follow_state
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

RecordId = Annotated[str, PathParam(min_length=1, max_length=64)]
EXPORT_PERMISSION = EXPORT_ACTION  # also the audit action of an export
ALERTS_SHOWN = 20

# The archive pages' own texts (zh, en), registered with the page texts.
ARCHIVE_TEXT: dict[str, tuple[str, str]] = {
    "arc_community": ("社区档案", "Community archive"),
    "arc_building": ("楼栋档案", "Building archive"),
    "arc_house": ("房屋档案", "House archive"),
    "arc_vehicle": ("车辆档案", "Vehicle archive"),
    "arc_jurisdiction": ("所属辖区", "Jurisdiction"),
    "arc_officer": ("责任民警", "Responsible officer"),
    "arc_none": ("无", "None"),
    "arc_buildings": ("楼栋", "Buildings"),
    "arc_floors": ("层数", "Floors"),
    "arc_houses_by_use": ("房屋（按登记用途）", "Houses by registered use"),
    "arc_use_owner_occupied": ("自住", "Owner-occupied"),
    "arc_use_rented": ("出租", "Rented"),
    "arc_use_idle": ("空置", "Idle"),
    "arc_residents": ("实有人口", "Residents"),
    "arc_floating": ("其中流动人口", "of whom floating"),
    "arc_vehicles": ("车辆", "Vehicles"),
    "arc_devices": ("设备", "Devices"),
    "arc_online_rate": ("在线率", "Online rate"),
    "arc_open_alerts": ("未结预警", "Open alerts"),
    "arc_alerts": ("预警", "Alerts"),
    "arc_events": ("最新事件", "Recent events"),
    "arc_no_alerts": ("暂无预警", "No alerts"),
    "arc_unit": ("单元", "Unit"),
    "arc_house_number": ("房号", "House"),
    "arc_area": ("面积（㎡）", "Area (m²)"),
    "arc_use": ("登记用途", "Registered use"),
    "arc_resident_count": ("人数", "Residents"),
    "arc_name_masked": ("姓名（脱敏）", "Name (masked)"),
    "arc_plate": ("号牌（脱敏）", "Plate (masked)"),
    "arc_plate_color": ("号牌颜色", "Plate colour"),
    "arc_class": ("车辆类型", "Vehicle class"),
    "arc_owner": ("车主（脱敏）", "Owner (masked)"),
    "arc_reveal_hint": (
        "身份信息已脱敏；查看原文请到人员档案说明用途（留痕审计）",
        "Identity is masked; reveal it on the resident's page with a purpose (audited)",
    ),
    "arc_community_link": ("社区", "Community"),
    "arc_building_link": ("楼栋", "Building"),
    "arc_status": ("状态", "Status"),
    "arc_status_online": ("在线", "Online"),
    "arc_status_offline": ("离线", "Offline"),
    "arc_status_fault": ("故障", "Fault"),
    "arc_former": ("曾居住（已核实迁出）", "Lived here before (move-out confirmed)"),
    "arc_history": ("房屋变更记录", "House history"),
    "arc_change_registered_use": ("登记用途变更", "Registered use changed"),
    "arc_change_group_rental": (
        "核实群租，登记为出租",
        "Group rental confirmed, registered as rented",
    ),
    "arc_change_moved_out": ("核实迁出，居住结束", "Move-out confirmed, residence ended"),
    "arc_change_registered": (
        "核实未登记居住，完成登记",
        "Unregistered resident confirmed and registered",
    ),
    "arc_by_alert": ("依据预警", "From alert"),
    "arc_drafts": (
        "待登记人员（核实的未登记居住）",
        "Registrations to complete (confirmed unregistered residents)",
    ),
    "arc_draft_place": ("地点", "Place"),
    "arc_use_group_rental": ("群租", "Group rental"),
    "arc_export": ("导出上报（一标三实）", "Export upward (registry list)"),
    "arc_export_kind": ("内容", "Content"),
    "arc_export_houses": (
        "房屋（登记用途、现住人数、最近变更）",
        "Houses (use, residents, last change)",
    ),
    "arc_export_residents": ("实有人口（脱敏、令牌化）", "Residents (masked, tokenised)"),
    "arc_export_vehicles": ("车辆（号牌脱敏）", "Vehicles (plates masked)"),
    "arc_export_drafts": ("待登记人员", "Registrations to complete"),
    "arc_export_csv": ("导出 CSV", "Export CSV"),
    "arc_export_xlsx": ("导出 Excel", "Export Excel"),
    "arc_export_hint": ("导出留痕审计", "Exports are audited"),
}
add_texts(ARCHIVE_TEXT)


def _alerts_at(page: Page, place: str, *, only_open: bool = False) -> list[AlertSummary]:
    context = page.context
    filters = AlertFilter(place=place, is_open=True if only_open else None)
    return context.alerts.list_alerts(filters, scope=context.scope, per_page=ALERTS_SHOWN).items


def _device_rows(page: Page, devices: list[DeviceRead]) -> list[dict[str, Any]]:
    open_device_alerts = page.context.alerts.open_device_alerts(scope=page.context.scope)
    return [{"device": d, "status": device_status(d, open_device_alerts).value} for d in devices]


def _masked_names(page: Page, resident_ids: list[str]) -> dict[str, str | None]:
    context = page.context
    names: dict[str, str | None] = {}
    for resident_id in resident_ids:
        masked = context.reveal.masked(resident_id, scope=context.scope)
        names[resident_id] = masked.name if masked is not None else None
    return names


def _record_view(page: Page, record_type: str, record_id: str, resident_ids: list[str]) -> None:
    """A page listing residents (masked) is a read of personal data: audited."""
    context = page.context
    context.reveal.record_read(
        context.user,
        context.read(
            f"{record_type}.view", record_type, record_id, masked=True, residents=resident_ids
        ),
    )


def _no_store(response: HTMLResponse) -> HTMLResponse:
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(
    "/archives/communities/{community_id}", response_class=HTMLResponse, include_in_schema=False
)
def community_archive(page: PageDep, community_id: RecordId) -> HTMLResponse:
    context = page.context
    archive = ArchiveReader(context.session).community(community_id, scope=context.scope)
    registry = RegistryService(context.session)
    jurisdiction_id = archive.community.jurisdiction_id
    officers = [
        user
        for user in AccessService(context.session).list_users()
        if user.is_active
        and user.role == Role.COMMUNITY_OFFICER
        and user.jurisdiction_id == jurisdiction_id
    ]
    devices = DeviceService(context.session).list_devices(scope=context.scope)
    rows = _device_rows(page, [d for d in devices if d.community_id == community_id])
    statuses = Counter(row["status"] for row in rows)
    online = statuses[DeviceStatus.ONLINE.value]
    return page.render(
        "archives/community.html",
        {
            "archive": archive,
            "jurisdiction": registry.jurisdiction_names().get(jurisdiction_id, jurisdiction_id),
            "officers": officers,
            "devices": rows,
            "online_rate_pct": round(100.0 * online / len(rows), 1) if rows else None,
            "open_alerts": _alerts_at(page, community_id, only_open=True),
            "drafts": RegistryLoop(context.session).open_drafts(community_id),
            "export_kinds": EXPORT_KINDS,
            "may_export": page.user.can(EXPORT_PERMISSION),
            "may_complete_drafts": page.user.can("masterdata.import"),
        },
    )


@router.post("/archives/communities/{community_id}/export", include_in_schema=False)
async def community_export(page: PageDep, community_id: RecordId) -> Response:
    """The community's registry list of one kind as CSV or xlsx, formula-safe; audited
    (`registry.export`) with the kind, format, row count and the residents it carries."""
    context = page.context
    form = await page.request.form()
    exported = upward_file(
        context.session,
        context.reveal,
        user=context.user,
        scope=context.scope,
        community_id=community_id,
        kind=str(form.get("kind") or ""),
        file_format=str(form.get("format") or "csv"),
        local_now=page.now.astimezone(page.zone),
        ip=context.ip,
    )
    return Response(
        exported.body,
        media_type=exported.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{exported.name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/archives/buildings/{building_id}", response_class=HTMLResponse, include_in_schema=False
)
def building_archive(page: PageDep, building_id: RecordId) -> HTMLResponse:
    context = page.context
    reader = ArchiveReader(context.session)
    building = reader.building(building_id, scope=context.scope)
    devices = [
        d
        for d in DeviceService(context.session).list_devices(scope=context.scope)
        if d.building_id == building_id
    ]
    alerts = [a for d in devices for a in _alerts_at(page, d.id)]
    return page.render(
        "archives/building.html",
        {
            "building": building,
            "houses": reader.houses_of_building(building_id),
            "devices": _device_rows(page, devices),
            "alerts": sorted(alerts, key=lambda a: a.created_at, reverse=True)[:ALERTS_SHOWN],
        },
    )


@router.get("/archives/houses/{house_id}", response_class=HTMLResponse, include_in_schema=False)
def house_archive(page: PageDep, house_id: RecordId) -> HTMLResponse:
    context = page.context
    archive = ArchiveReader(context.session).house(house_id, scope=context.scope)
    devices = [
        d
        for d in DeviceService(context.session).list_devices(scope=context.scope)
        if d.house_id == house_id
    ]
    alerts = [a for d in devices for a in _alerts_at(page, d.id)]
    shown = [*archive.resident_ids, *archive.former_resident_ids]
    _record_view(page, "house", house_id, shown)
    return _no_store(
        page.render(
            "archives/house.html",
            {
                "archive": archive,
                "names": _masked_names(page, shown),
                "devices": _device_rows(page, devices),
                "alerts": alerts,
                "history": RegistryLoop(context.session).history(house_id),
                "follow": follow_state(page, FollowKind.HOUSE, house_id),
                "follow_kind": FollowKind.HOUSE.value,
                "subject_id": house_id,
            },
        )
    )


@router.get("/archives/vehicles/{vehicle_id}", response_class=HTMLResponse, include_in_schema=False)
def vehicle_archive(page: PageDep, vehicle_id: RecordId) -> HTMLResponse:
    context = page.context
    vehicle = ArchiveReader(context.session).vehicle(vehicle_id, scope=context.scope)
    owners = [vehicle.owner_id] if vehicle.owner_id else []
    _record_view(page, "vehicle", vehicle_id, owners)
    return _no_store(
        page.render(
            "archives/vehicle.html",
            {
                "vehicle": vehicle,
                "names": _masked_names(page, owners),
                "follow": follow_state(page, FollowKind.VEHICLE, vehicle_id),
                "follow_kind": FollowKind.VEHICLE.value,
                "subject_id": vehicle_id,
            },
        )
    )
