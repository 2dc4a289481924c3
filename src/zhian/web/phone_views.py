"""The officer's phone (an installable web app, PWA): my alerts and tasks with the steps I
may take, photos for the handling, and the script's offline queue.

The page is server-rendered; `static/phone.js` sends each step to the alerts API with an
`Idempotency-Key` of its own and, when the network is gone, keeps the step in the
browser's storage and sends it once the connection returns (the server answers a key it
has seen with the alert as it is, so a step whose answer was lost is never taken twice).
The service worker (`/phone/sw.js`, scope `/phone`) keeps the page and its assets for
opening without a network. Everything vendored; nothing fetched from the internet.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from zhian.alerts.schemas import AlertDetail
from zhian.patrol.service import CATEGORY_TIERS
from zhian.registry.schemas import BuildingRead
from zhian.registry.service import RegistryService
from zhian.web.alert_access import LIFECYCLE_ACTIONS, check_may_act, may_act
from zhian.web.alerts_api import visible_alert
from zhian.web.auth import current_user
from zhian.web.deps import Context, read_bounded_body
from zhian.web.i18n import TEXT, add_texts
from zhian.web.layout import STATIC_DIR, PageDep
from zhian.web.openapi_errors import error_responses
from zhian.web.permissions import ROUTES, ByPathParameter

router = APIRouter(dependencies=[Depends(current_user)])
public_router = APIRouter()

AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]
SERVICE_WORKER = STATIC_DIR / "phone-sw.js"
PATROL_PERMISSION = "alerts.handle"  # as the patrol API's routes (permissions.py)

_PAIRS: dict[str, tuple[str, str]] = {
    "nav_phone": ("移动端", "Phone"),
    "phone_title": ("移动警务", "On the phone"),
    "phone_mine": ("我的预警与任务", "My alerts and tasks"),
    "phone_empty": ("暂无待办", "Nothing to do"),
    "phone_queue": ("待发送", "Waiting to send"),
    "phone_offline": (
        "离线：操作将在网络恢复后发送",
        "Offline: steps are sent when the network returns",
    ),
    "phone_sent": ("已发送", "Sent"),
    "phone_refused": ("未完成", "Not done"),
    "phone_feedback": ("处置情况", "What was done"),
    "phone_photos": ("现场照片", "Photos"),
    "phone_push": ("接收预警推送", "Get alert notifications"),
    "phone_push_on": ("已开启推送", "Notifications on"),
    "phone_push_off": (
        "此浏览器无法接收推送；页面打开时仍实时提醒",
        "This browser cannot receive pushes; the open page still announces alerts live",
    ),
    "patrol_title": ("巡逻", "Patrol"),
    "patrol_point": ("巡逻点", "Patrol point"),
    "patrol_checkin": ("巡逻打卡", "Check in here"),
    "patrol_category": ("上报类别", "What was found"),
    "patrol_text": ("情况说明", "Description"),
    "patrol_report": ("巡逻上报", "Send the report"),
    "patrol_cat_hazard": ("安全隐患", "Safety hazard"),
    "patrol_cat_facility": ("设施损坏", "Damaged facility"),
    "patrol_cat_public_order": ("治安问题", "Public order"),
    "patrol_cat_fire": ("消防隐患", "Fire hazard"),
    "patrol_cat_other": ("其他", "Other"),
    "patrol_duty_start": ("上岗（在地图上显示我的位置）", "On duty (show my position on the map)"),
    "patrol_duty_stop": ("下岗（不再显示位置）", "Off duty (stop showing my position)"),
    "patrol_duty_on": (
        "在岗：页面打开时每分钟上报位置",
        "On duty: the position is sent every minute while this page is open",
    ),
}
add_texts(_PAIRS)


def _action_permission(action: str) -> str:
    access = ROUTES[("POST", "/api/v1/alerts/{alert_id}/{action}")]
    assert isinstance(access, ByPathParameter)
    return access.resolve({"action": action})


def _steps_for(page: PageDep, detail: AlertDetail) -> list[str]:
    """The lifecycle steps from the alert's state on that this user may take, in order:
    offline the page cannot ask what comes next, so every later step is there to queue
    (the server still checks each one when it arrives)."""
    user = page.user
    allowed_now = [action for action in detail.actions if action in LIFECYCLE_ACTIONS]
    if not allowed_now:
        return []
    first = min(LIFECYCLE_ACTIONS.index(action) for action in allowed_now)
    return [
        action
        for action in LIFECYCLE_ACTIONS[first:]
        if user.can(_action_permission(action)) and may_act(user, detail, action)
    ]


@router.get("/phone", response_class=HTMLResponse, include_in_schema=False)
def phone_page(page: PageDep) -> HTMLResponse:
    context = page.context
    todos = context.alerts.my_todos(page.user.id, scope=context.scope)
    items: list[dict[str, Any]] = []
    for todo in todos:
        detail = context.alerts.get_alert(todo.alert.id, scope=context.scope)
        items.append({"alert": detail, "steps": _steps_for(page, detail)})
    # Patrol (check-in and report) for those who handle alerts: the buildings of the
    # user's jurisdiction are the patrol points.
    points: list[BuildingRead] = []
    if page.user.can(PATROL_PERMISSION):
        points = RegistryService(context.session).buildings(scope=context.scope)
    texts = TEXT[page.lang]
    categories = [(name, texts[f"patrol_cat_{name}"]) for name in CATEGORY_TIERS]
    return page.render(
        "phone.html", {"items": items, "points": points, "patrol_categories": categories}
    )


@public_router.get("/phone/sw.js", include_in_schema=False)
def service_worker() -> FileResponse:
    # Served under /phone so that its scope covers the page; it holds no data.
    return FileResponse(
        SERVICE_WORKER,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/phone"},
    )


@public_router.get("/phone/manifest.webmanifest", include_in_schema=False)
def manifest(request: Request) -> JSONResponse:
    lang = "en" if request.query_params.get("lang") == "en" else "zh"
    return JSONResponse(
        {
            "name": TEXT[lang]["app"] + " · " + TEXT[lang]["phone_title"],
            "short_name": TEXT[lang]["app"],
            "start_url": "/phone",
            "scope": "/phone",
            "display": "standalone",
            "background_color": "#f4f6f8",
            "theme_color": "#17324d",
            "lang": "zh-CN" if lang == "zh" else "en",
            "icons": [
                {"src": "/static/phone-icon-192.png", "sizes": "192x192", "type": "image/png"},
                {"src": "/static/phone-icon-512.png", "sizes": "512x512", "type": "image/png"},
            ],
        },
        media_type="application/manifest+json",
    )


@router.post(
    "/api/v1/alerts/{alert_id}/photos",
    tags=["alerts"],
    summary="Upload a photo taken while handling an alert; answers its image reference",
    responses=error_responses(401, 403, 400, 404, 413, 415),
)
async def upload_alert_photo(request: Request, context: Context, alert_id: AlertId) -> Response:
    """The body is the JPEG or PNG itself (`Content-Type: image/jpeg|png`); the reference
    it answers goes in the `attachments` of the `handle` step. Sealed like every image."""
    node = context.node
    check_may_act(context.user, visible_alert(context, alert_id), "handle")
    data = await read_bounded_body(request, node.settings.images.max_bytes)
    # Off the event loop: checking a picture of up to images.max_pixels takes a while.
    ref = await run_in_threadpool(node.images.save, data, request.headers.get("content-type"))
    return JSONResponse({"ref": ref})
