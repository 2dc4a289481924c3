"""Registration drafts (待登记人员) completed or dismissed by an officer.

A draft's page (linked from the community archive) offers two forms: complete it into a
resident record, validated as an import row is (`zhian.registry.drafts`), or dismiss it
with a reason. Both need `masterdata.import` and the draft's community in the user's
scope (404 otherwise); both are audited (`registry.draft_complete`, `registry.draft_dismiss`)
and shown in the house's history when a resident is registered. Identity fields are sealed
on the way in and never written back to the page.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhian.audit.service import Actor
from zhian.errors import BadRequestError, ConflictError
from zhian.registry.drafts import RESIDENT_FIELDS, DraftDesk, DraftRead
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

DraftId = Annotated[int, PathParam(ge=1)]
COMPLETE_ACTION: Final = "registry.draft_complete"
DISMISS_ACTION: Final = "registry.draft_dismiss"
# Fields typed back into the form after a refusal; identity fields are never echoed.
ECHOED: Final = ("id", "house_id", "birth_year", "is_floating")

DRAFT_TEXT: dict[str, tuple[str, str]] = {
    "drf_title": ("待登记人员", "Registration to complete"),
    "drf_place": ("地点", "Place"),
    "drf_alert": ("依据预警", "From alert"),
    "drf_status": ("状态", "Status"),
    "drf_status_open": ("待登记", "Open"),
    "drf_status_completed": ("已登记", "Registered"),
    "drf_status_dismissed": ("已撤销", "Dismissed"),
    "drf_complete": ("登记为实有人口", "Register as a resident"),
    "drf_complete_hint": (
        "与导入同样校验；身份信息加密保存，提交后不再显示",
        "Checked as an import row is; identity fields are sealed and not shown again",
    ),
    "drf_id": ("人员编号", "Resident id"),
    "drf_house": ("房屋编号", "House id"),
    "drf_birth_year": ("出生年份", "Birth year"),
    "drf_floating": ("流动人口", "Floating"),
    "drf_yes": ("是", "Yes"),
    "drf_no": ("否", "No"),
    "drf_name": ("姓名", "Name"),
    "drf_id_number": ("身份证号", "ID-card number"),
    "drf_phone": ("电话", "Phone"),
    "drf_submit": ("登记", "Register"),
    "drf_dismiss": ("撤销（说明原因）", "Dismiss (give a reason)"),
    "drf_reason": ("原因", "Reason"),
    "drf_dismiss_submit": ("撤销", "Dismiss"),
    "drf_back": ("返回社区档案", "Back to the community archive"),
}
add_texts(DRAFT_TEXT)


def _desk(page: Page) -> DraftDesk:
    context = page.context
    registry = RegistryService(
        context.session, clock=page.node.clock, identity=page.node.governance.sealer
    )
    return DraftDesk(context.session, registry)


def _render(
    page: Page,
    draft: DraftRead,
    *,
    error: Exception | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    response = page.render(
        "registry/draft.html",
        {
            "draft": draft,
            "error": error,
            "form": {k: (form or {}).get(k, "") for k in ECHOED},
            "reason": (form or {}).get("reason", ""),
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _audit(page: Page, action: str, draft: DraftRead, details: dict[str, Any]) -> None:
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id),
        action,
        record_type="registration_draft",
        record_ids=[str(draft.id)],
        ip=page.context.ip,
        details={"alert_id": draft.alert_id, "place_id": draft.place_id, **details},
    )


def _back(page: Page, draft: DraftRead) -> Response:
    return RedirectResponse(
        f"/archives/communities/{draft.community_id}?lang={page.lang}", status_code=303
    )


@router.get("/registration-drafts/{draft_id}", response_class=HTMLResponse, include_in_schema=False)
def draft_page(page: PageDep, draft_id: DraftId) -> HTMLResponse:
    return _render(page, _desk(page).get(draft_id, scope=page.context.scope))


@router.post("/registration-drafts/{draft_id}/complete", include_in_schema=False)
async def complete_draft(page: PageDep, draft_id: DraftId) -> Response:
    desk = _desk(page)
    draft = desk.get(draft_id, scope=page.context.scope)
    raw = await page.request.form()
    form = {name: str(raw.get(name) or "") for name in RESIDENT_FIELDS}
    try:
        resident_id = desk.complete(
            draft_id, form, scope=page.context.scope, user_id=page.user.id, at=page.now
        )
    except (BadRequestError, ConflictError) as error:
        return _render(page, draft, error=error, form=form, status_code=error.status_code)
    _audit(page, COMPLETE_ACTION, draft, {"resident_id": resident_id,
                                           "house_id": form["house_id"].strip()})  # fmt: skip
    return _back(page, draft)


@router.post("/registration-drafts/{draft_id}/dismiss", include_in_schema=False)
async def dismiss_draft(page: PageDep, draft_id: DraftId) -> Response:
    desk = _desk(page)
    draft = desk.get(draft_id, scope=page.context.scope)
    raw = await page.request.form()
    reason = str(raw.get("reason") or "")
    try:
        kept = desk.dismiss(draft_id, reason, scope=page.context.scope, at=page.now)
    except (BadRequestError, ConflictError) as error:
        form = {"reason": reason}
        return _render(page, draft, error=error, form=form, status_code=error.status_code)
    _audit(page, DISMISS_ACTION, draft, {"reason": kept})
    return _back(page, draft)
