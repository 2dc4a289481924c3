"""The cross-node search page (跨区域研判): ask the child nodes of your jurisdiction for a
plate's or an ID-card number's passages, for a case with a reason, and see each child's
answer as it arrives.

The form posts (the subject stays out of URLs). The request page refreshes each child's
status every 5 s while any is pending (statuses and counts only: nothing personal, not
audited); the passages of a child are opened one child at a time, and each opening is
audited (`cascade.search.read`), as the JSON API's reads are. Needs `cascade.search`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhian.cascade.search_requests import DEFAULT_EXPIRY_MINUTES, SearchAsk
from zhian.cascade.service import ChildReadService
from zhian.errors import BadRequestError, ZhianError
from zhian.web.auth import current_user
from zhian.web.cascade_search_api import cross_search_service
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep
from zhian.web.time_input import parse_local_time

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

_PAIRS: dict[str, tuple[str, str]] = {
    "nav_cascade_searches": ("跨区域研判", "Cross-node search"),
    "xs_title": ("跨区域研判", "Cross-node search"),
    "xs_note": (
        "向辖区内的下级平台检索某一车辆或身份证号的通行记录。须填写本辖区案件编号与检索事由；"
        "上下级平台均留痕审计，标识脱敏显示。",
        "Ask the child nodes of your jurisdiction for a plate's or an ID-card number's "
        "passages. Needs a case number of your jurisdiction and a reason; both levels audit "
        "it and identifiers are shown masked.",
    ),
    "xs_kind": ("检索对象", "Subject"),
    "xs_kind_plate": ("车辆（号牌）", "Vehicle (plate)"),
    "xs_kind_id_number": ("人员（身份证号）", "Person (ID-card number)"),
    "xs_plate": ("号牌", "Plate"),
    "xs_id_number": ("身份证号", "ID-card number"),
    "xs_case": ("案件编号", "Case number"),
    "xs_reason": ("检索事由", "Reason"),
    "xs_since": ("起始时间", "From"),
    "xs_until": ("截止时间", "To"),
    "xs_node": ("下级平台", "Child node"),
    "xs_all_nodes": ("辖区内全部下级平台", "Every child node of my jurisdiction"),
    "xs_expiry": ("答复时限（分钟）", "Answer within (minutes)"),
    "xs_ask": ("发起研判", "Ask"),
    "xs_mine": ("我的研判请求", "My requests"),
    "xs_none": ("尚无研判请求", "No request yet"),
    "xs_asked_at": ("发起时间", "Asked"),
    "xs_expires_at": ("答复截止", "Answers until"),
    "xs_subject": ("对象", "Subject"),
    "xs_period": ("检索时段", "Period"),
    "xs_answers": ("各下级平台答复", "Answers per child node"),
    "xs_status": ("状态", "Status"),
    "xs_count": ("通行记录数", "Passages"),
    "xs_refusal": ("拒绝理由", "Reason for refusal"),
    "xs_answered_at": ("答复时间", "Answered"),
    "xs_open": ("查看通行记录（留痕）", "Open the passages (audited)"),
    "xs_status_pending": ("等待答复", "pending"),
    "xs_status_answered": ("已答复", "answered"),
    "xs_status_refused": ("已拒绝", "refused"),
    "xs_status_timed_out": ("超时未答复", "timed out"),
    "xs_time": ("时间", "Time"),
    "xs_type": ("类型", "Type"),
    "xs_device": ("点位", "Device"),
    "xs_key": ("标识", "Key"),
    "xs_type_vehicle": ("过车", "vehicle passage"),
    "xs_type_access": ("门禁", "door access"),
    "xs_type_face": ("人脸抓拍", "face capture"),
    "xs_no_passage": ("该平台无此对象的通行记录", "No passage of the subject at this node"),
    "xs_refreshing": ("每 5 秒刷新答复状态", "Refreshing the answers every 5 s"),
}
add_texts(_PAIRS)

FIELDS = ("subject_kind", "plate", "id_number", "case_number", "reason", "since", "until",
          "node_id", "expires_in_minutes")  # fmt: skip


def _moment(page: Page, value: str, field: str) -> datetime:
    return parse_local_time(value, field, page.zone)


def _defaults(page: Page) -> dict[str, str]:
    now = page.node.clock.now().astimezone(page.zone)
    return {"subject_kind": "plate", "since": f"{now - timedelta(days=7):%Y-%m-%dT%H:%M}",
            "until": f"{now:%Y-%m-%dT%H:%M}",
            "expires_in_minutes": str(DEFAULT_EXPIRY_MINUTES)}  # fmt: skip


def _render_list(
    page: Page, form: dict[str, str], status_code: int = 200, form_error: ZhianError | None = None
) -> HTMLResponse:
    children = ChildReadService(page.context.session).children(scope=page.context.scope)
    context: dict[str, Any] = {
        "form": form,
        "form_error": form_error,
        "children": [child.node_id for child in children],
        "searches": cross_search_service(page.context).list_mine(),
    }
    return page.render("cascade_searches.html", context, status_code=status_code)


@router.get("/cascade/searches", response_class=HTMLResponse, include_in_schema=False)
def searches_page(page: PageDep) -> HTMLResponse:
    return _render_list(page, _defaults(page))


@router.post("/cascade/searches", include_in_schema=False)
async def ask_children(page: PageDep) -> Response:
    raw = await page.request.form()
    form = {name: str(raw.get(name, "")).strip() for name in FIELDS}
    try:
        kind = form["subject_kind"] or "plate"
        expiry = form["expires_in_minutes"] or str(DEFAULT_EXPIRY_MINUTES)
        if not expiry.isdigit():
            raise BadRequestError(f"'{expiry[:20]}' is not a number", field="expires_in_minutes")
        ask = SearchAsk(
            subject_kind=kind,
            subject=form["id_number"] if kind == "id_number" else form["plate"],
            case_number=form["case_number"],
            reason=form["reason"],
            since=_moment(page, form["since"], "since"),
            until=_moment(page, form["until"], "until"),
            node_id=form["node_id"] or None,
            expires_in_minutes=int(expiry),
        )
        search = cross_search_service(page.context).ask(ask)
    except ZhianError as error:
        return _render_list(page, form, error.status_code, form_error=error)
    return RedirectResponse(f"/cascade/searches/{search.id}?lang={page.lang}", status_code=303)


@router.get("/cascade/searches/{request_id}", response_class=HTMLResponse, include_in_schema=False)
def search_page(page: PageDep, request_id: str) -> HTMLResponse:
    """The request and each child's status (not audited: no passage is shown here)."""
    search = cross_search_service(page.context).status(request_id[:64])
    return page.render("cascade_search.html", {"search": search, "opened": None})


@router.get(
    "/cascade/searches/{request_id}/progress",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def search_progress(page: PageDep, request_id: str) -> HTMLResponse:
    """The answers table alone, for the page's refresh while any child is pending."""
    search = cross_search_service(page.context).status(request_id[:64])
    return page.render("_cascade_search_answers.html", {"search": search})


@router.get(
    "/cascade/searches/{request_id}/answers/{node_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def search_answer_page(page: PageDep, request_id: str, node_id: str) -> HTMLResponse:
    """One child's passages: an audited read."""
    service = cross_search_service(page.context)
    opened = service.read(request_id[:64], node_id[:64])
    search = service.status(request_id[:64])
    return page.render("cascade_search.html", {"search": search, "opened": opened.answers[0]})
