"""Devices: status per community, the online-rate trend, and open device faults."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from zhian.alerts.schemas import OnlineRatePoint
from zhian.devices.service import DeviceService
from zhian.registry.service import RegistryService
from zhian.web.alert_access import communities_in_scope, scope_of
from zhian.web.auth import current_user
from zhian.web.charts import online_rate_chart
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

# The goal for device online rate, per community and per kind.
ONLINE_GOAL_PCT = 98.0
TREND_HOURS = 24


def _latest(points: list[OnlineRatePoint]) -> dict[str, dict[str, OnlineRatePoint]]:
    """The most recent sample per community and device kind."""
    latest: dict[str, dict[str, OnlineRatePoint]] = defaultdict(dict)
    for point in points:
        current = latest[point.community_id].get(point.device_kind)
        if current is None or point.sampled_at > current.sampled_at:
            latest[point.community_id][point.device_kind] = point
    return latest


def device_overview(page: Page) -> dict[str, Any]:
    """Communities of the user's scope with their device counts, online rates and faults."""
    with page.node.alerts() as alerts:
        visible = communities_in_scope(alerts.tree, scope_of(page.user))
        points = [
            point
            for point in alerts.online_rate_series(hours=TREND_HOURS)
            if visible is None or point.community_id in visible
        ]
        faults = [
            alert
            for alert in alerts.open_device_alerts()
            if visible is None or alert.community_id in visible
        ]
    with page.node.db.session() as session:
        communities = [
            community
            for community in RegistryService(session).list_communities()
            if visible is None or community.id in visible
        ]
        devices = DeviceService(session).list_devices()
    registered: dict[str, int] = defaultdict(int)
    for device in devices:
        if device.community_id is not None and device.is_enabled:
            registered[device.community_id] += 1
    latest = _latest(points)
    rows = []
    for community in communities:
        kinds = latest.get(community.id, {})
        total = sum(point.total for point in kinds.values())
        online = sum(point.online for point in kinds.values())
        sampled: datetime | None = max((p.sampled_at for p in kinds.values()), default=None)
        rows.append(
            {
                "community": community,
                "registered": registered.get(community.id, 0),
                "total": total,
                "online": online,
                "rate_pct": round(100.0 * online / total, 1) if total else None,
                "sampled_at": sampled,
                "kinds": sorted(kinds.values(), key=lambda point: point.device_kind),
            }
        )
    names = {community.id: community.name for community in communities}
    return {
        "rows": rows,
        "faults": faults,
        "names": names,
        "goal_pct": ONLINE_GOAL_PCT,
        "trend_chart": online_rate_chart(points, names, page.zone, ONLINE_GOAL_PCT),
        "has_trend": bool(points),
    }


@router.get("/devices", response_class=HTMLResponse, include_in_schema=False)
def devices_page(page: PageDep) -> HTMLResponse:
    return page.render("devices.html", device_overview(page))
