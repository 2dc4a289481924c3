"""The plain status page: recent events, devices with last-seen time, intake statistics."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from zhian.access.roles import Role, role_name
from zhian.devices.service import DeviceService
from zhian.node import Node
from zhian.web.auth import CurrentUser, current_user
from zhian.web.deps import get_node

router = APIRouter(tags=["status"], dependencies=[Depends(current_user)])
public_router = APIRouter(tags=["status"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# Device is considered silent after this long without any event (a later issue makes it a rule).
_SILENT_AFTER = timedelta(minutes=15)

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "治安 · 运行状态",
        "intake": "接入统计",
        "accepted": "已接收",
        "duplicate": "重复",
        "rejected": "已拒收",
        "requests": "请求数",
        "stored": "事件库",
        "lag": "待入库记录",
        "quarantine": "隔离区",
        "recent": "最新事件",
        "devices": "设备",
        "type": "类型",
        "device": "设备",
        "time": "时间",
        "detail": "内容",
        "kind": "种类",
        "name": "名称",
        "last_seen": "最后上报",
        "state": "状态",
        "online": "在线",
        "silent": "静默",
        "never": "从未上报",
        "lang": "English",
        "logout": "退出",
    },
    "en": {
        "title": "Zhian · status",
        "intake": "Intake",
        "accepted": "Accepted",
        "duplicate": "Duplicate",
        "rejected": "Rejected",
        "requests": "Requests",
        "stored": "Event store",
        "lag": "Store lag (log records)",
        "quarantine": "Quarantine",
        "recent": "Recent events",
        "devices": "Devices",
        "type": "Type",
        "device": "Device",
        "time": "Time",
        "detail": "Detail",
        "kind": "Kind",
        "name": "Name",
        "last_seen": "Last seen",
        "state": "State",
        "online": "online",
        "silent": "silent",
        "never": "never",
        "lang": "中文",
        "logout": "Log out",
    },
}


def status_snapshot(node: Node) -> dict[str, Any]:
    """Everything the status page and its JSON twin show."""
    stats = node.intake.stats
    now = node.clock.now()
    last_seen = node.store.device_last_seen()
    with node.db.session() as session:
        devices = DeviceService(session).list_devices()
    device_rows = [
        {
            "id": device.id,
            "kind": device.kind,
            "name": device.name,
            "last_seen": last_seen.get(device.id),
            "is_silent": device.id not in last_seen or now - last_seen[device.id] > _SILENT_AFTER,
        }
        for device in devices
    ]
    device_rows.sort(key=lambda row: (not row["is_silent"], row["id"]))
    return {
        "now": now,
        "intake": {
            "accepted": stats.accepted,
            "duplicate": stats.duplicate,
            "rejected": stats.rejected,
            "requests": stats.requests,
            "rejected_by_reason": dict(stats.rejected_by_reason),
            "accepted_by_source": dict(stats.accepted_by_source),
            "last_accepted_at": stats.last_accepted_at,
        },
        "log_seq": node.log.durable_seq,
        "store_lag": node.feeder.lag(),
        "stored_by_type": node.store.count_by_type(),
        "quarantine_by_reason": node.quarantine.count_by_reason(),
        "recent": node.store.recent_events(limit=50),
        "devices": device_rows,
    }


@router.get("/api/v1/status", summary="Intake statistics, store lag and device last-seen times")
def status_json(node: Annotated[Node, Depends(get_node)]) -> Response:
    return Response(msgspec.json.encode(status_snapshot(node)), media_type="application/json")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def status_page(
    request: Request,
    node: Annotated[Node, Depends(get_node)],
    user: CurrentUser,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "status.html",
        {
            "s": status_snapshot(node),
            "t": TEXT[lang],
            "lang": lang,
            "user": user,
            "role": role_name(Role(user.role), lang),
        },
    )


@public_router.get("/api/v1/health", summary="Liveness: the node answers (no data, no login)")
def health() -> dict[str, str]:
    return {"status": "ok"}
