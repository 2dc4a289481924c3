"""The plain status page: recent events, devices with last-seen time, intake statistics."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from zhian.access.roles import Role, role_name
from zhian.access.scope import JurisdictionScope
from zhian.cascade.forwarder import read_health
from zhian.cascade.service import ChildReadService
from zhian.devices.service import DeviceService
from zhian.kit.loopback import PeerUnreachableError
from zhian.node import Node, NodeRole
from zhian.store.queries import StoredEventSummary
from zhian.web.auth import CurrentUser, current_user
from zhian.web.deps import Context, RequestContext
from zhian.web.health import node_health, process_info
from zhian.web.layout import display_zone, local_time, page_lang, remember_lang
from zhian.web.openapi_errors import error_responses
from zhian.web.personal_data import stated_purpose, unmasked_events, wants_unmasked

router = APIRouter(tags=["status"], dependencies=[Depends(current_user)])
public_router = APIRouter(tags=["status"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

# Device is considered silent after this long without any event (a later issue makes it a rule).
_SILENT_AFTER = timedelta(minutes=15)
# A scoped user's recent events: one query per device up to this many devices, else the
# newest events of the node filtered to theirs.
_PER_DEVICE_QUERIES = 20
_SCOPED_WINDOW = 5000

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
        "stored_count": "条数",
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
        "case_number": "案件编号",
        "reason": "事由",
        "reveal": "显示原文",
        "reveal_note": "车牌与人员编号默认脱敏；查看原文须说明用途并留痕审计。",
        "readers": "日志读取方与积压",
        "processes": "节点进程",
        "host": "主机",
        "role": "角色",
        "version": "版本",
        "started": "启动时间",
        "seen": "最近心跳",
        "process_lag": "积压记录",
        "intake_accepted": "本进程已接收",
        "this_one": "（本页由此进程提供）",
        "process": "本进程",
        "pid": "进程号",
        "role_all": "全部功能（单进程）",
        "role_web": "接入与页面",
        "role_worker": "后台处理",
        "log_seq": "日志最新序号",
        "reader": "读取方",
        "position": "已处理至",
        "reader_lag": "积压记录",
        "updated": "更新时间",
        "parent_link": "上级级联链路",
        "link_up": "正常",
        "link_down": "中断",
        "last_contact": "最近联络",
        "next_attempt": "下次重新注册",
        "cache": "缓存（待上报）",
        "records": "条记录",
        "cache_alarm": "缓存将满",
        "backfill": "补传进度",
        "not_run": "转发尚未运行",
        "children": "下级平台",
        "node": "节点",
        "batches": "批次",
        "events_accepted": "已接收事件",
        "events_held": "隔离事件",
        "worker": "后台进程",
        "worker_up": "运行中",
        "worker_stale": "有心跳但未响应（启动中或卡住）",
        "worker_down": "未运行",
        "store_unreachable": "事件库暂不可用：后台进程（zhian worker）未响应。接入照常写入日志，"
        "后台进程恢复后自动补入事件库；以下与事件库有关的数字暂缺。",
        "unknown": "未知",
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
        "stored_count": "Events",
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
        "case_number": "Case number",
        "reason": "Reason",
        "reveal": "Show in the clear",
        "reveal_note": "Plates and subject refs are masked; clear text needs a purpose (audited).",
        "readers": "Log readers and their lag",
        "processes": "Processes of this node",
        "host": "Host",
        "role": "Role",
        "version": "Version",
        "started": "Started",
        "seen": "Last heartbeat",
        "process_lag": "Records behind",
        "intake_accepted": "Accepted here",
        "this_one": "(served this page)",
        "process": "This process",
        "pid": "pid",
        "role_all": "everything (one process)",
        "role_web": "intake and pages",
        "role_worker": "background work",
        "log_seq": "newest log record",
        "reader": "Reader",
        "position": "Done through",
        "reader_lag": "Records behind",
        "updated": "Updated",
        "parent_link": "Link to the parent node",
        "link_up": "up",
        "link_down": "down",
        "last_contact": "Last contact",
        "next_attempt": "Next registration",
        "cache": "Cache (waiting to go up)",
        "records": "records",
        "cache_alarm": "cache filling",
        "backfill": "Back-fill",
        "not_run": "the forwarder has not run yet",
        "children": "Child nodes",
        "node": "Node",
        "batches": "Batches",
        "events_accepted": "Events accepted",
        "events_held": "Events held",
        "worker": "Worker process",
        "worker_up": "running",
        "worker_stale": "beating but not answering (starting or stuck)",
        "worker_down": "not running",
        "store_unreachable": "The event store does not answer: the worker process (zhian "
        "worker) is down or starting. Intake still goes to the log, and the store catches up "
        "once the worker answers; the figures read from the store are missing meanwhile.",
        "unknown": "unknown",
    },
}


def _recent_in_scope(
    node: Node, device_ids: set[str], *, limit: int = 50
) -> list[StoredEventSummary]:
    """The newest events of the devices in scope: per device for a few, else a wide window."""
    if len(device_ids) <= _PER_DEVICE_QUERIES:
        merged = [
            event
            for device_id in sorted(device_ids)
            for event in node.event_reads.recent_events(limit=limit, device_id=device_id)
        ]
        merged.sort(key=lambda event: (event.time, event.seq), reverse=True)
        return merged[:limit]
    window = node.event_reads.recent_events(limit=_SCOPED_WINDOW)
    return [event for event in window if event.device_id in device_ids][:limit]


def reader_lags(node: Node, durable: int) -> list[dict[str, Any]]:
    """Each named reader of the log (the store writer, the rules …, each run by a worker
    process): where it stands and how many records it has still to do, slowest first."""
    return [
        {
            "name": position.name,
            "seq": position.seq,
            "lag": max(0, durable - position.seq),
            "updated_at": position.updated_at,
        }
        for position in node.log.readers.positions()
    ]


def process_rows(node: Node) -> list[dict[str, Any]]:
    """Every live process of the node from their heartbeats (role, version, host, pid,
    lag), whichever machine runs them; `is_self` marks the one answering."""
    own = node.heartbeat_key
    return [
        {
            "role": report.role,
            "version": report.version,
            "host": report.host,
            "pid": report.pid,
            "started_at": report.started_at,
            "seen_at": report.seen_at,
            "lag_records": report.lag_records,
            "readers": report.figures.readers,
            "intake_accepted": report.figures.intake_accepted,
            "is_self": report.key == own,
        }
        for report in node.processes()
    ]


def _store_figures(node: Node, scope: JurisdictionScope, device_ids: set[str]) -> dict[str, Any]:
    """What the status shows from the event store. Its process (the worker, for a web-only
    process) may be down or starting: then the store's figures are None or empty and
    `event_store` says why, and the rest of the status still answers."""
    try:
        last_seen = node.event_reads.device_last_seen()
        if scope.is_unscoped:
            recent = node.event_reads.recent_events(limit=50)
        else:
            last_seen = {key: value for key, value in last_seen.items() if key in device_ids}
            recent = _recent_in_scope(node, device_ids)
        return {
            "event_store": {"state": "ok", "reason": None},
            "last_seen": last_seen,
            "recent": recent,
            "last_seq": node.event_reads.last_seq(),
            "stored_by_type": node.event_reads.count_by_type(),
        }
    except PeerUnreachableError as exc:
        return {
            "event_store": {"state": "unreachable", "reason": str(exc)},
            "last_seen": None,
            "recent": [],
            "last_seq": None,
            "stored_by_type": {},
        }


def worker_state(
    node: Node, processes: list[dict[str, Any]], store_answers: bool
) -> dict[str, Any] | None:
    """How the worker of a web-only process stands: `up` (its store answers), `stale` (a
    fresh heartbeat, yet the store does not answer: starting or stuck) or `down` (no
    heartbeat within the last 30 s). None where this process runs the worker's part itself."""
    if node.role is not NodeRole.WEB:
        return None
    beats = [row["seen_at"] for row in processes if row["role"] == NodeRole.WORKER.value]
    state = "up" if store_answers else ("stale" if beats else "down")
    return {"state": state, "seen_at": max(beats) if beats else None}


def status_snapshot(context: RequestContext) -> dict[str, Any]:
    """Everything the status page and its JSON twin show, within the user's scope.

    Devices, their last-seen times and the recent events are those of the user's scope;
    the intake and store figures are node-wide counts without any record in them. Plates
    and subject references in the recent events are masked (`_snapshot` opens them
    through the reveal service). A web-only process whose worker does not answer still
    answers, with the worker shown down or stale and the store's figures missing.
    """
    node, scope = context.node, context.scope
    stats = node.intake.stats
    now = node.clock.now()
    durable = node.log.durable_seq
    devices = DeviceService(context.session).list_devices(scope=scope)
    store = _store_figures(node, scope, {device.id for device in devices})
    last_seen: dict[str, Any] | None = store["last_seen"]
    device_rows = [
        {
            "id": device.id,
            "kind": device.kind,
            "name": device.name,
            "last_seen": None if last_seen is None else last_seen.get(device.id),
            # Unknown (None) while the store does not answer, rather than all silent.
            "is_silent": None
            if last_seen is None
            else device.id not in last_seen or now - last_seen[device.id] > _SILENT_AFTER,
        }
        for device in devices
    ]
    device_rows.sort(key=lambda row: (not row["is_silent"], row["id"]))
    processes = process_rows(node)
    store_answers = store["event_store"]["state"] == "ok"
    return {
        "now": now,
        "process": process_info(node),
        "processes": processes,
        "worker": worker_state(node, processes, store_answers),
        "event_store": store["event_store"],
        "intake": {
            "accepted": stats.accepted,
            "duplicate": stats.duplicate,
            "rejected": stats.rejected,
            "requests": stats.requests,
            "rejected_by_reason": dict(stats.rejected_by_reason),
            "accepted_by_source": dict(stats.accepted_by_source),
            "last_accepted_at": stats.last_accepted_at,
        },
        "log_seq": durable,
        "store_lag": None if store["last_seq"] is None else max(0, durable - store["last_seq"]),
        "readers": reader_lags(node, durable),
        "stored_by_type": store["stored_by_type"],
        # Counts by reason name no record: node-wide, as the intake figures.
        "quarantine_by_reason": node.quarantine.count_by_reason(scope=JurisdictionScope.unscoped()),
        "recent": store["recent"],
        "devices": device_rows,
        **_cascade_figures(context),
    }


def _cascade_figures(context: RequestContext) -> dict[str, Any]:
    """The link to the parent (node-wide, no record in it) and, for holders of
    `cascade.view`, the child nodes of the user's scope (docs/cascade.md)."""
    settings = context.node.settings
    link: dict[str, Any] | None = None
    if settings.parent.is_enabled:
        health = read_health(settings.workspace)
        link = {"parent_url": settings.parent.url, "has_run": health is not None}
        if health is not None:
            link |= msgspec.to_builtins(health)
            link["backfill_percent"] = health.backfill_percent
            link["last_contact_at"] = health.last_contact_at
            link["next_attempt_at"] = health.next_attempt_at
    children = (
        [asdict(child) for child in ChildReadService(context.session).children(scope=context.scope)]
        if context.user.can("cascade.view")
        else []
    )
    return {"parent_link": link, "children": children}


def _snapshot(context: RequestContext, request: Request) -> dict[str, Any]:
    """The snapshot, unmasked (audited, with a stated purpose) when `reveal=1` asks for it."""
    if not wants_unmasked(request.query_params):
        return status_snapshot(context)
    read = context.read("events.read_unmasked", "event", page=request.url.path)
    purpose = context.reveal.authorise(context.user, stated_purpose(request.query_params), read)
    snapshot = status_snapshot(context)
    snapshot["recent"] = unmasked_events(context, snapshot["recent"], purpose, read)
    return snapshot


@router.get(
    "/api/v1/status",
    summary="Intake statistics, store lag and device last-seen times",
    responses=error_responses(400, 401, 403),
)
def status_json(
    request: Request,
    context: Context,
    reveal: Annotated[
        str | None, Query(pattern="^1$", description="1: plates and subject refs in the clear")
    ] = None,
    case_number: Annotated[str | None, Query(max_length=64)] = None,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Plates and subject references are masked; `reveal=1` with a `case_number` or a
    `reason` shows them to holders of `personal_data.reveal`, and the read is audited.
    A web-only process whose worker is down still answers 200: `worker.state` is `down`
    or `stale`, `event_store.state` is `unreachable` and the store's figures are null."""
    snapshot = _snapshot(context, request)
    return Response(msgspec.json.encode(snapshot), media_type="application/json")


@router.get("/", include_in_schema=False)
def start_page(request: Request, user: CurrentUser) -> RedirectResponse:
    """The start page: the workbench for those who work alerts, else the status page."""
    target = "/workbench" if user.can("alerts.view") else "/status"
    lang = request.query_params.get("lang")
    query = f"?lang={lang}" if lang in TEXT else ""
    return RedirectResponse(target + query, status_code=303)


@router.get("/status", response_class=HTMLResponse, include_in_schema=False)
def status_page(request: Request, context: Context) -> HTMLResponse:
    # The language as every page chooses it (query, then the remembered choice); times in
    # the display zone, as on every page.
    lang = page_lang(request)
    zone = display_zone(context.node)
    response = templates.TemplateResponse(
        request,
        "status.html",
        {
            "s": _snapshot(context, request),
            "t": TEXT[lang],
            "lang": lang,
            "user": context.user,
            "role": role_name(Role(context.user.role), lang),
            "when": lambda value, fmt="%m-%d %H:%M:%S": local_time(value, zone, fmt),
            "zone_name": local_time(context.node.clock.now(), zone, "UTC%z"),
        },
    )
    remember_lang(request, response, lang)
    return response


@public_router.get(
    "/api/v1/health",
    summary="Health: disk, database, event store, event log losses (no login); 503 if unhealthy",
)
def health(request: Request) -> JSONResponse:
    status_code, body = node_health(request.app.state.node)
    return JSONResponse(body, status_code=status_code)
