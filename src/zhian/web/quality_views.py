"""The data-quality page: per source and device, validity, completeness, duplicates, late
arrivals and clock skew as rates over time, worst sources first, against the 98 % goal.

Sources are those of the devices in the user's jurisdiction (devices are read through the
scoped device repository); input naming no known device is shown to unscoped users only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError
from zhian.governance.quality import QualityBucket, QualityService
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

DEFAULT_HOURS = 24
MAX_HOURS = 31 * 24

# The page's own texts (zh, en), the menu label included, registered with the page texts.
_PAIRS: dict[str, tuple[str, str]] = {
    "nav_quality": ("数据质量", "Data quality"),
    "quality_title": ("数据质量", "Data quality"),
    "quality_window": ("统计时段（小时）", "Window (hours)"),
    "quality_source": ("来源", "Source"),
    "quality_device": ("设备", "Device"),
    "quality_received": ("接收", "Received"),
    "quality_validity": ("有效率", "Valid"),
    "quality_completeness": ("完整率", "Complete"),
    "quality_late": ("迟到率", "Late"),
    "quality_skew": ("时钟超前率", "Clock ahead"),
    "quality_lag": ("平均延迟", "Mean lag"),
    "quality_reasons": ("拒收原因", "Refusal reasons"),
    "quality_goal": ("目标：有效率", "Goal: valid share"),
    "quality_below": ("未达标来源", "Sources below goal"),
    "quality_duplicates": ("启动以来重复（全节点）", "Duplicates since start (whole node)"),
    "quality_other_plates": (
        "启动以来其他类车牌（全节点）",
        "Plates of kind other since start (whole node)",
    ),
    "quality_registry_other_plates": (
        "登记车辆中其他类车牌",
        "Registered vehicles with plates of kind other",
    ),
    "quality_trend": ("每小时趋势", "Hourly trend"),
    "quality_hour": ("小时", "Hour"),
    "quality_empty": ("该时段没有数据", "No data in this window"),
    "quality_quarantine": ("隔离区", "Quarantine"),
}
add_texts(_PAIRS)


@dataclass(frozen=True)
class HourRates:
    """All sources in scope over one hour."""

    hour: datetime
    received: int
    validity: float
    completeness: float
    late_share: float
    skew_share: float


def window_hours(value: str | None) -> int:
    if not value:
        return DEFAULT_HOURS
    if not value.isdigit() or not 1 <= int(value) <= MAX_HOURS:
        raise BadRequestError(f"hours is a whole number from 1 to {MAX_HOURS}", field="hours")
    return int(value)


def _hour_rates(buckets: list[QualityBucket]) -> list[HourRates]:
    merged: dict[datetime, QualityBucket] = {}
    for bucket in buckets:
        if bucket.hour is None:
            continue
        total = merged.setdefault(bucket.hour, QualityBucket("", "", bucket.hour))
        total.accepted += bucket.accepted
        total.rejected += bucket.rejected
        total.late += bucket.late
        total.ahead += bucket.ahead
        total.complete += bucket.complete
    return [
        HourRates(hour, b.received, b.validity, b.completeness, b.late_share, b.skew_share)
        for hour, b in sorted(merged.items())
    ]


def quality_overview(page: Page, hours: int) -> dict[str, Any]:
    """The report over the last `hours`, limited to the devices of the user's scope."""
    # The window's end is exclusive: one second past now keeps what arrived this instant.
    until = page.now + timedelta(seconds=1)
    since = until - timedelta(hours=hours)
    settings = page.node.settings.governance
    session, scope = page.context.session, page.context.scope
    devices = {device.id: device for device in DeviceService(session).list_devices(scope=scope)}
    service = QualityService(
        session,
        page.node.event_reads,
        late_after_minutes=settings.late_after_minutes,
        goal=settings.valid_goal,
        intake_stats=page.node.intake.stats,
    )
    report = service.report(since, until)
    hourly = service.hourly(since, until)

    def visible(bucket: QualityBucket) -> bool:
        return scope.is_unscoped or bucket.device_id in devices

    sources = [bucket for bucket in report.sources if visible(bucket)]
    return {
        "sources": sources,
        "below_goal": [bucket for bucket in sources if bucket.validity < report.goal],
        "goal_pct": report.goal * 100,
        "goal": report.goal,
        "duplicates": report.duplicates_since_start if scope.is_unscoped else None,
        "other_plates": report.other_plates_since_start if scope.is_unscoped else None,
        # Registered vehicles whose plate import kept as kind `other` (the plate rule).
        "registry_other_plates": (
            RegistryService(session).vehicles_with_plate_kind("other")
            if scope.is_unscoped
            else None
        ),
        "trend": _hour_rates([bucket for bucket in hourly if visible(bucket)]),
        "names": {device_id: device.name for device_id, device in devices.items()},
        "hours": hours,
        "since": since,
    }


@router.get("/quality", response_class=HTMLResponse, include_in_schema=False)
def quality_page(page: PageDep) -> HTMLResponse:
    try:
        hours = window_hours(page.request.query_params.get("hours"))
    except BadRequestError as error:
        return page.render(
            "quality.html", {"error": error, "hours": DEFAULT_HOURS}, status_code=400
        )
    return page.render("quality.html", {"error": None, **quality_overview(page, hours)})
