"""Triage of resident tips (`tips.triage`): the moderation queue of the user's jurisdiction,
each tip turned into an alert of a chosen tier (the alert loop routes it by tier and
place) or closed with a reason the resident reads. A tip outside the scope is 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhian.access.permissions import has_permission
from zhian.audit.service import Actor
from zhian.errors import NotFoundError, ZhianError
from zhian.tips.schemas import TipStatus
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep
from zhian.web.tip_views import tip_error, tip_service

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

TipId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
PhotoIndex = Annotated[int, PathParam(ge=1, le=100)]
TIERS = ("minor", "general", "major")

_PAIRS: dict[str, tuple[str, str]] = {
    "nav_tips": ("随手拍", "Tips"),
    "tips_triage_title": ("随手拍审核", "Tip triage"),
    "tips_queue": ("待审核", "Waiting for triage"),
    "tips_recent": ("已处理", "Triaged"),
    "tips_recent_none": ("暂无已处理的随手拍", "No triaged tip yet"),
    "tips_empty": ("暂无待审核的报告", "No tips waiting"),
    "tips_place": ("位置", "Place"),
    "tips_contact": ("联系电话（脱敏）", "Phone (masked)"),
    "tips_duplicate_of": ("疑似重复，原报告", "Possible duplicate of"),
    "tips_accept": ("转为预警", "Raise an alert"),
    "tips_close": ("不予受理", "Close"),
    "tips_close_reason": ("告知群众的说明", "Reason shown to the resident"),
    "tips_satisfaction": ("群众满意度", "Residents' satisfaction"),
    "tips_rated": ("评价数", "Ratings"),
    "tips_alert": ("预警", "Alert"),
    "tips_closed_note": ("已关闭", "Closed"),
    "tips_done_accept": ("已转为预警", "Alert raised"),
    "tips_done_close": ("已关闭，说明已告知群众", "Closed; the resident sees the reason"),
    "tips_one_title": ("随手拍原文", "The resident's tip"),
    "tips_read_audited": (
        "群众原话属个人信息，本次查看已记录审计。",
        "A resident's words are personal data: this read is in the audit log.",
    ),
    "tips_status": ("状态", "State"),
    "tips_submitted": ("提交时间", "Sent"),
    "tips_photos_on_alert": ("照片见预警证据", "The photos are on the alert"),
}
add_texts(_PAIRS)


def _queue_page(page: Page, *, error: ZhianError | None = None, notice: str = "") -> HTMLResponse:
    service = tip_service(page.node, page.context.session)
    scope = page.context.scope
    pending = service.queue(scope=scope)
    recent = service.queue(scope=scope, statuses=(TipStatus.ACCEPTED, TipStatus.CLOSED))[:20]
    if pending:
        # The descriptions waiting are opened from their sealed copies and may name people:
        # the read is audited with the tips shown, as a photo's is. Triaged tips are listed
        # by category and place only; their words are one audited click away (/tips/<id>).
        page.node.governance.audit(page.context.session).record(
            Actor.user(page.user.id),
            "tip.view",
            record_type="tip",
            record_ids=[str(tip.id) for tip in pending],
            ip=page.context.ip,
        )
    return page.render(
        "tips/triage.html",
        {
            "pending": pending,
            "recent": recent,
            "places": service.place_names([*pending, *recent]),
            "satisfaction": service.satisfaction(scope=scope),
            "proposed": service.proposed_tier,
            "tiers": TIERS,
            "error": error,
            "notice": notice,
            "tip_error": tip_error,
        },
        status_code=200 if error is None else error.status_code,
    )


@router.get("/tips", response_class=HTMLResponse, include_in_schema=False)
def tip_queue(page: PageDep, done: str = "") -> HTMLResponse:
    return _queue_page(page, notice=done if done in ("accept", "close") else "")


@router.get("/tips/{tip_id}", response_class=HTMLResponse, include_in_schema=False)
def tip_page(page: PageDep, tip_id: TipId) -> HTMLResponse:
    """One tip, its description opened from the sealed copy; every read audited.

    The alert a tip became names only its category and place: its responders read the
    resident's words here. Triage (`tips.triage`) reads any tip of its scope; another user
    who reads alerts only a tip whose alert they see (404 otherwise, as out of scope).
    """
    service = tip_service(page.node, page.context.session)
    tip = service.get(tip_id, scope=page.context.scope)
    may_triage = has_permission(page.user.role, "tips.triage")
    if not may_triage:
        if tip.alert_id is None:
            raise NotFoundError(f"no tip {tip_id} in your jurisdiction", field="tip_id")
        # 404 when the alert is outside the user's scope.
        page.context.alerts.get_alert(tip.alert_id, scope=page.context.scope)
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id),
        "tip.view",
        record_type="tip",
        record_ids=[str(tip.id)],
        ip=page.context.ip,
    )
    return page.render(
        "tips/tip.html",
        {"tip": tip, "may_triage": may_triage, "places": service.place_names([tip])},
    )


@router.get("/tips/{tip_id}/photos/{index}", include_in_schema=False)
def tip_photo(page: PageDep, tip_id: TipId, index: PhotoIndex) -> Response:
    """One photo of a tip in the user's scope, opened from its sealed file; audited."""
    tip = tip_service(page.node, page.context.session).get(tip_id, scope=page.context.scope)
    if index > len(tip.photos):
        raise NotFoundError(f"tip {tip_id} has no photo {index}", field="index")
    ref = tip.photos[index - 1]
    # A resident's photo may show people: every read is audited, as a reveal is.
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id),
        "tip.photo_view",
        record_type="tip",
        record_ids=[str(tip_id)],
        ip=page.context.ip,
        details={"photo": index},
    )
    media_type = "image/png" if ref.endswith(".png") else "image/jpeg"
    return Response(
        page.node.images.read(ref),
        media_type=media_type,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


@router.post("/tips/{tip_id}/accept", include_in_schema=False)
async def accept_tip(page: PageDep, tip_id: TipId) -> Response:
    form = await page.request.form(max_files=0)
    tier = str(form.get("tier") or "")
    try:
        alert_id = tip_service(page.node, page.context.session).accept(
            tip_id,
            tier=tier,
            scope=page.context.scope,
            user_id=page.user.id,
            alerts=page.context.alerts,
        )
    except ZhianError as error:
        if error.status_code == 404:
            raise
        # The service refuses before it changes anything: the queue shows the reason.
        return _queue_page(page, error=error)
    return RedirectResponse(f"/alerts/{alert_id}?lang={page.lang}", status_code=303)


@router.post("/tips/{tip_id}/close", include_in_schema=False)
async def close_tip(page: PageDep, tip_id: TipId) -> Response:
    form = await page.request.form(max_files=0)
    reason = str(form.get("reason") or "")
    try:
        tip_service(page.node, page.context.session).close(
            tip_id, reason=reason, scope=page.context.scope, user_id=page.user.id
        )
    except ZhianError as error:
        if error.status_code == 404:
            raise
        # The service refuses before it changes anything: the queue shows the reason.
        return _queue_page(page, error=error)
    return RedirectResponse(f"/tips?lang={page.lang}&done=close", status_code=303)
