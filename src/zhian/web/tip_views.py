"""The public pages of resident tips (随手拍): the form, the follow-up page, the rating.

No account: the resident keeps a follow-up code, the only key to their tip's status. The
guard lets these routes through (`PUBLIC`) but still asks a CSRF token of every POST: the
form carries a pre-session token, as the login form does. Limits: tips per network
address an hour (counted in the database), status reads per code and per address an hour
(counted in this process). Everything the resident sees is their own text and what came
of it; nothing of the officers' notes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from zhian.access.scope import JurisdictionScope
from zhian.alerts.service import AlertService
from zhian.errors import BadRequestError, TooManyRequestsError, ZhianError
from zhian.kit.rate_limits import WindowCounter
from zhian.maps.coords import gcj02_to_wgs84, wgs84_to_gcj02
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.tips.categories import CATEGORY_NAMES
from zhian.tips.repository import TipRepository
from zhian.tips.schemas import TipReceipt, TipSubmission
from zhian.tips.service import PhotoUpload, TipService, normalise_code
from zhian.web.deps import get_node
from zhian.web.error_text import plain_message, reason_zh
from zhian.web.i18n import TEXT, add_texts, register_labels
from zhian.web.layout import page_lang, remember_lang
from zhian.web.map_views import tile_response
from zhian.web.sessions import (
    PRESESSION_COOKIE,
    PRESESSION_MAX_AGE_SECONDS,
    new_csrf_token,
    new_presession_cookie,
)
from zhian.web.status_views import templates

router = APIRouter(tags=["tips"], include_in_schema=False)

HOUR_SECONDS = 3600
# Form fields besides the photos: category, description, latitude, longitude, contact,
# csrf_token, lang.
MAX_FORM_FIELDS = 16

_PAIRS: dict[str, tuple[str, str]] = {
    "tip_title": ("随手拍", "Report to the police"),
    "tip_intro": (
        "看到安全隐患或可疑情况？拍照并标明地点。无需注册，提交后请保存查询码。",
        "Seen a hazard or something suspicious? Take a photo and mark the place. No account "
        "needed: keep the follow-up code you get.",
    ),
    "tip_emergency": (
        "紧急情况请直接拨打 110 或 119。",
        "In an emergency call 110 (police) or 119 (fire) directly.",
    ),
    "tip_category": ("类别", "Category"),
    "tip_description": ("情况描述", "What happened"),
    "tip_place": ("地点", "Place"),
    "tip_locate": ("使用手机定位", "Use my location"),
    "tip_locating": ("正在定位…", "Locating…"),
    "tip_locate_failed": ("无法定位，请手动填写坐标", "No location: type the coordinates"),
    "tip_map_hint": ("或在地图上点选位置", "Or tap the place on the map"),
    "tip_map_picked": ("已在地图上选定位置", "Place set on the map"),
    "tip_latitude": ("纬度", "Latitude"),
    "tip_longitude": ("经度", "Longitude"),
    "tip_photos": ("照片", "Photos"),
    "tip_photos_hint": (
        "最多 {count} 张 JPEG 或 PNG，每张不超过 {mb} MB；位置、相机等信息会被清除。",
        "Up to {count} JPEG or PNG photos, {mb} MB each; location and camera data are removed.",
    ),
    "tip_contact": ("联系电话（选填）", "Phone (optional)"),
    "tip_contact_hint": (
        "仅用于民警回访，加密保存。",
        "Only for an officer to call you back; stored encrypted.",
    ),
    "tip_plain_text": ("只接受纯文本。", "Plain text only."),
    "tip_submit": ("提交", "Send"),
    "tip_lookup": ("查询进度", "Follow up a tip"),
    "tip_code": ("查询码", "Follow-up code"),
    "tip_lookup_go": ("查询", "Look up"),
    "tip_received_title": ("已收到您的报告", "Your report has been received"),
    "tip_keep_code": (
        "请保存查询码，凭它查看处理进度与结果：",
        "Keep this code to see the progress and outcome:",
    ),
    "tip_duplicate_note": (
        "附近刚有人报告过相同情况，我们会一并处理。",
        "Someone nearby has just reported the same; they are handled together.",
    ),
    "tip_status_title": ("报告进度", "Your report"),
    "tip_submitted_at": ("提交时间", "Sent at"),
    "tip_stage": ("进度", "Progress"),
    "tip_stage_received": ("已收到，待审核", "Received, waiting for review"),
    "tip_stage_handling": ("已受理，正在处置", "Accepted, being handled"),
    "tip_stage_handled": ("已处置", "Handled"),
    "tip_stage_closed": ("已结束", "Closed"),
    "tip_outcome": ("处置结果", "Outcome"),
    "tip_close_reason": ("说明", "Reason"),
    "tip_rate": ("请评价本次处置", "Rate the handling"),
    "tip_rate_send": ("提交评价", "Send rating"),
    "tip_rated": ("您的评价", "Your rating"),
    "tip_stars": ("星", "stars"),
    "tip_rating_thanks": ("感谢您的评价", "Thank you for your rating"),
    "tip_not_found": ("没有这个查询码的报告", "No report has this follow-up code"),
    "tip_f_category": ("类别", "category"),
    "tip_f_description": ("情况描述", "description"),
    "tip_f_latitude": ("纬度", "latitude"),
    "tip_f_longitude": ("经度", "longitude"),
    "tip_f_photos": ("照片", "photos"),
    "tip_f_contact": ("联系电话", "contact"),
    "tip_f_address": ("提交次数", "submissions"),
    "tip_f_code": ("查询码", "follow-up code"),
    "tip_f_rating": ("评价", "rating"),
    "tip_f_reason": ("说明", "reason"),
    "tip_f_tier": ("等级", "tier"),
    "tip_f_form": ("表单", "form"),
    "tip_f_csrf_token": ("页面令牌", "page token"),
}
add_texts(_PAIRS)

register_labels("tip_category", CATEGORY_NAMES)
register_labels("rule", {"tip": ("群众随手拍", "Resident tip")})
register_labels(
    "kind",
    {f"tip_{code}": (f"随手拍·{zh}", f"Tip: {en}") for code, (zh, en) in CATEGORY_NAMES.items()},
)
# Imported emergency calls (docs/incidents.md) share the categories' names.
register_labels("rule", {"call110": ("110警情", "Emergency call (110)")})
register_labels(
    "kind",
    {
        f"call_{code}": (f"110警情·{zh}", f"110 call: {en}")
        for code, (zh, en) in CATEGORY_NAMES.items()
    },
)

# (pattern in the English message, the Chinese reason) for what `reason_zh` does not know.
_TIP_REASONS_ZH: tuple[tuple[str, str], ...] = (
    ("plain text", "只接受纯文本，不能包含 < > 等标记或脚本"),
    ("follow-up code alone", "群众凭查询码即可看到说明，不能写入身份证号、手机号或车牌号"),
    ("too many tips", "提交过于频繁，请一小时后再试"),
    ("too many look-ups", "查询过于频繁，请稍后再试"),
    ("photos may be sent", "照片数量超过上限"),
    ("not a jpeg or png", "不是 JPEG 或 PNG 图片"),
    ("bytes; the limit", "文件过大"),
    ("mobile phone", "应为手机号码"),
    ("not one of", "不是可选的类别"),
    ("already been rated", "已评价过"),
    ("once it has been handled", "处置完成后才能评价"),
    ("rating must be", "应为 1 到 5 星"),
)


def tip_error(lang: str, error: ZhianError) -> Markup:
    """'<field>: <reason>' in the page language, for the tip pages."""
    t = TEXT[lang]
    name = t.get(f"tip_f_{error.field}", error.field or "")
    message = plain_message(error)
    if lang == "en":
        return escape(f"{name}: {message}" if name else message)
    lowered = message.lower()
    reason = next((zh for key, zh in _TIP_REASONS_ZH if key in lowered), None)
    reason = reason or reason_zh(message) or "输入不符合要求"
    return escape(f"{name}：{reason}" if name else reason)


@dataclass
class TipLimits:
    """Status reads per code and per address, counted in this process."""

    per_code: WindowCounter
    per_address: WindowCounter


_LIMITS_LOCK = threading.Lock()


def tip_limits(request: Request) -> TipLimits:
    node = get_node(request)
    with _LIMITS_LOCK:
        limits: TipLimits | None = getattr(request.app.state, "tip_limits", None)
        if limits is None:
            settings = node.settings.tips
            limits = TipLimits(
                per_code=WindowCounter(
                    limit=settings.lookups_per_code_per_hour,
                    window_seconds=HOUR_SECONDS,
                    now=node.clock.now,
                ),
                per_address=WindowCounter(
                    limit=settings.lookups_per_address_per_hour,
                    window_seconds=HOUR_SECONDS,
                    now=node.clock.now,
                ),
            )
            request.app.state.tip_limits = limits
        return limits


def tip_service(node: Node, session: Session) -> TipService:
    """The tip service on `session`, with the node's images, key ring and places."""
    registry = RegistryService(session)
    everywhere = JurisdictionScope.unscoped()
    return TipService(
        TipRepository(session),
        clock=node.clock,
        settings=node.settings.tips,
        sealer=node.governance.require_sealer(),
        save_image=node.images.save,
        buildings=lambda: registry.buildings(scope=everywhere),
        communities=lambda: registry.list_communities(scope=everywhere),
    )


def alert_service(node: Node, session: Session) -> AlertService:
    return AlertService(
        session, clock=node.clock, settings=node.settings.alerts, cipher=node.alert_loop.cipher
    )


@contextmanager
def _transaction(node: Node) -> Iterator[Session]:
    """One transaction for a public request: committed when the block ends, else rolled back."""
    with node.db.session() as session:
        yield session


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _csrf(request: Request) -> tuple[str, str | None]:
    """The page's CSRF token, and a fresh pre-session cookie when the visitor had none."""
    token: str = request.state.csrf_token
    if token:
        return token, None
    token = new_csrf_token()
    request.state.csrf_token = token
    return token, new_presession_cookie(get_node(request).settings, token)


def _render(
    request: Request,
    name: str,
    values: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    lang = page_lang(request)
    node = get_node(request)
    token, cookie = _csrf(request)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "t": TEXT[lang],
            "lang": lang,
            "user": None,
            "csrf_token": token,
            "tip_error": tip_error,
            "settings": node.settings.tips,
            **values,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"  # the code is a key: keep it out of caches
    response.headers["Referrer-Policy"] = "no-referrer"
    for header, value in (headers or {}).items():
        response.headers[header] = value
    if cookie is not None:
        response.set_cookie(
            PRESESSION_COOKIE,
            cookie,
            max_age=PRESESSION_MAX_AGE_SECONDS,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )
    remember_lang(request, response, lang)
    return response


def _form_page(
    request: Request,
    *,
    error: ZhianError | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    status_code = 200 if error is None else error.status_code
    headers = None
    if isinstance(error, TooManyRequestsError):
        headers = {"Retry-After": str(error.retry_after_seconds)}
    return _render(
        request,
        "tips/tip_form.html",
        {
            "error": error,
            "form": form or {},
            "categories": list(get_node(request).settings.tips.categories),
            "map_config": _map_config(get_node(request)),
        },
        status_code=status_code,
        headers=headers,
    )


def _map_config(node: Node) -> dict[str, Any]:
    """What the form's map picker needs: the base layer (the map page's tiles; an MBTiles
    file through the public `/tip/tiles`), its datum, and the communities of the node (name
    and centre, in the tiles' datum) to start from and find one's way without tiles."""
    settings = node.settings.map
    tile_url = settings.tile_url
    if tile_url is None and settings.mbtiles_path is not None:
        tile_url = "/tip/tiles/{z}/{x}/{y}"
    datum = str(getattr(settings.tile_datum, "value", settings.tile_datum))
    with node.db.session() as session:
        communities = RegistryService(session).list_communities(scope=JurisdictionScope.unscoped())
    points: list[tuple[str, float, float]] = []
    for community in communities:
        lat, lng = community.latitude, community.longitude
        if datum == "gcj02":
            lat, lng = wgs84_to_gcj02(lat, lng)
        points.append((community.name, round(lat, 6), round(lng, 6)))
    centre = [39.9, 116.4]
    if points:
        centre = [
            round(sum(p[1] for p in points) / len(points), 6),
            round(sum(p[2] for p in points) / len(points), 6),
        ]
    places = [{"name": name, "lat": lat, "lng": lng} for name, lat, lng in points]
    return {
        "tile_url": tile_url,
        "attribution": settings.attribution,
        "max_zoom": settings.max_zoom,
        "datum": datum,
        "centre": centre,
        "communities": places,
    }


@router.get("/tip/tiles/{z}/{x}/{y}")
def tip_tile(
    request: Request,
    z: Annotated[int, PathParam(ge=0, le=24)],
    x: Annotated[int, PathParam(ge=0, lt=2**24)],
    y: Annotated[int, PathParam(ge=0, lt=2**24)],
) -> Response:
    """A base-map tile for the public form's map (the node's MBTiles file: a base map holds
    no record of the node; 404 when the node serves none)."""
    return tile_response(get_node(request).settings.map.mbtiles_path, z, x, y)


@router.get("/tip", response_class=HTMLResponse)
def tip_form(request: Request) -> HTMLResponse:
    return _form_page(request)


@router.post("/tip", response_class=HTMLResponse)
async def submit_tip(request: Request) -> Response:
    """Receive a tip; on success, to its follow-up page (303), else the form with the error."""
    node = get_node(request)
    settings = node.settings.tips
    form: dict[str, str] = {}
    try:
        fields, photos = await _read_form(request, settings.max_photos, settings.max_photo_bytes)
        form = {
            name: fields.get(name, "")
            for name in ("category", "description", "contact", "latitude", "longitude", "datum")
        }
        submission = _submission(form)
        receipt = await run_in_threadpool(_submit, node, submission, photos, _address(request))
    except ZhianError as error:
        return _form_page(request, error=error, form=form)
    lang = page_lang(request)
    suffix = "&duplicate=1" if receipt.is_duplicate else ""
    return RedirectResponse(f"/tip/{receipt.code}?lang={lang}&new=1{suffix}", status_code=303)


def _submit(
    node: Node, submission: TipSubmission, photos: Sequence[PhotoUpload], address: str
) -> TipReceipt:
    with _transaction(node) as session:
        return tip_service(node, session).submit(submission, photos, address=address)


def _submission(form: dict[str, str]) -> TipSubmission:
    coordinates: dict[str, float] = {}
    for name in ("latitude", "longitude"):
        try:
            coordinates[name] = float(form[name])
        except ValueError:
            raise BadRequestError(
                f"{name} must be a number (decimal degrees)", field=name
            ) from None
    limits = {"latitude": 90.0, "longitude": 180.0}
    for name, value in coordinates.items():
        if not -limits[name] <= value <= limits[name]:
            raise BadRequestError(
                f"{name} must be between -{limits[name]:g} and {limits[name]:g}", field=name
            )
    # A place picked on a map of GCJ-02 tiles comes in GCJ-02: kept in WGS84 like the rest.
    datum = form.get("datum", "") or "wgs84"
    if datum not in ("wgs84", "gcj02"):
        raise BadRequestError("datum must be wgs84 or gcj02", field="datum")
    if datum == "gcj02":
        coordinates["latitude"], coordinates["longitude"] = gcj02_to_wgs84(
            coordinates["latitude"], coordinates["longitude"]
        )
    return TipSubmission.model_construct(
        category=form["category"].strip(),
        description=form["description"],
        latitude=coordinates["latitude"],
        longitude=coordinates["longitude"],
        contact=form["contact"],
    )


async def _read_form(
    request: Request, max_photos: int, max_photo_bytes: int
) -> tuple[dict[str, str], list[PhotoUpload]]:
    """The form's text fields and its photos (each read to one byte past the limit)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise BadRequestError("send the tip as a form (multipart/form-data)", field="form")
    try:
        raw = await request.form(max_files=max_photos + 1, max_fields=MAX_FORM_FIELDS)
    except MultiPartException as error:
        raise BadRequestError(
            f"the form could not be read: {error.message}", field="photos"
        ) from None
    fields: dict[str, str] = {}
    photos: list[PhotoUpload] = []
    try:
        for name, value in raw.multi_items():
            if isinstance(value, UploadFile):
                if name == "photos" and (value.filename or value.size):
                    photos.append(PhotoUpload(await value.read(max_photo_bytes + 1)))
            else:
                fields[name] = value
    finally:
        await raw.close()
    return fields, photos


@router.get("/tip/lookup")
def lookup_tip(request: Request, code: str = "") -> RedirectResponse:
    """The follow-up form on the tip page: to the code's page (which checks the code)."""
    cleaned = "".join(ch for ch in code if ch.isalnum())[:32].upper() or "-"
    return RedirectResponse(f"/tip/{cleaned}?lang={page_lang(request)}", status_code=303)


@router.get("/tip/{code}", response_class=HTMLResponse)
def tip_status(request: Request, code: str) -> HTMLResponse:
    """A tip's progress and outcome, for the holder of its code."""
    node = get_node(request)
    try:
        _count_lookup(request, code)
        with _transaction(node) as session:
            status = tip_service(node, session).public_status(code, alert_service(node, session))
    except ZhianError as error:
        headers = None
        if isinstance(error, TooManyRequestsError):
            headers = {"Retry-After": str(error.retry_after_seconds)}
        return _render(
            request,
            "tips/tip_status.html",
            {
                "status": None,
                "error": error,
                "is_new": False,
                "is_duplicate": False,
                "rated": False,
            },
            status_code=error.status_code,
            headers=headers,
        )
    query = request.query_params
    return _render(
        request,
        "tips/tip_status.html",
        {
            "status": status,
            "error": None,
            "is_new": query.get("new") == "1",
            "is_duplicate": query.get("duplicate") == "1",
            "rated": query.get("rated") == "1",
        },
    )


@router.post("/tip/{code}/rating", response_class=HTMLResponse)
async def rate_tip(request: Request, code: str) -> Response:
    """The resident's rating (1–5 stars) of a handled or closed tip, once."""
    node = get_node(request)
    raw = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    rating_text = str(raw.get("rating") or "")
    try:
        _count_lookup(request, code)
        if not rating_text.isdigit():
            raise BadRequestError("rating must be a whole number from 1 to 5", field="rating")
        await run_in_threadpool(_rate, node, code, int(rating_text[:2]))
    except ZhianError as error:
        return _render(
            request,
            "tips/tip_status.html",
            {
                "status": None,
                "error": error,
                "is_new": False,
                "is_duplicate": False,
                "rated": False,
            },
            status_code=error.status_code,
        )
    return RedirectResponse(
        f"/tip/{normalise_code(code)}?lang={page_lang(request)}&rated=1", status_code=303
    )


def _rate(node: Node, code: str, rating: int) -> None:
    with _transaction(node) as session:
        tip_service(node, session).rate(code, rating, alert_service(node, session))


def _count_lookup(request: Request, code: str) -> None:
    limits = tip_limits(request)
    key = code.strip().upper()[:32]
    if not limits.per_address.hit(_address(request)) or not limits.per_code.hit(key):
        raise TooManyRequestsError(
            "too many look-ups of tips; try again later",
            field="code",
            retry_after_seconds=limits.per_code.seconds_left(),
        )
