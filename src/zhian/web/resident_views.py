"""A resident's page (实有人口): place, birth year, floating flag and masked identity.

Identity fields (name, ID-card number, phone) are shown masked (张*, 1101**********1234,
138****5678). A user holding `personal_data.reveal` may ask for one field in the clear by
stating a purpose (case number or reason): the reveal service
(`zhian.governance.reveal.RevealService`) checks, opens and audits it in the request's
transaction, and the clear value is shown once (`no-store`). A refused reveal (no
permission, no purpose, unknown field) is audited by the same service in a transaction of
its own, then answered 403 / 400 naming the field. A resident outside the user's
jurisdiction is 404: `RegistryService.resident` puts the user's scope in the query's SQL
(docs/dev/scoping.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from zhian.errors import BadRequestError, ForbiddenError, NotFoundError, ZhianError
from zhian.follows.models import FollowKind
from zhian.governance.reveal import IDENTITY_FIELDS, REVEAL_PERMISSION, Purpose
from zhian.registry.schemas import ResidentPlaceRead
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.follow_views import follow_state
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

ResidentId = Annotated[str, PathParam(min_length=1, max_length=64)]
RECORD_TYPE = "resident"
VIEW_ACTION = "resident.view"

# The page's own texts (zh, en), registered with the page texts.
_PAIRS: dict[str, tuple[str, str]] = {
    "res_title": ("实有人口", "Resident"),
    "res_place": ("居住地", "Residence"),
    "res_community": ("社区", "Community"),
    "res_building": ("楼栋", "Building"),
    "res_unit": ("单元", "Unit"),
    "res_house": ("房屋", "House"),
    "res_birth_year": ("出生年份", "Birth year"),
    "res_floating": ("流动人口", "Floating population"),
    "res_yes": ("是", "Yes"),
    "res_no": ("否", "No"),
    "res_identity": ("身份信息（已脱敏）", "Identity (masked)"),
    "res_field_name": ("姓名", "Name"),
    "res_field_id_number": ("身份证号", "ID-card number"),
    "res_field_phone": ("手机号", "Phone"),
    "res_none": ("未登记", "Not on record"),
    "res_no_keys": (
        "本节点尚未配置密钥，身份信息无法显示",
        "This node has no key ring yet; identity fields cannot be shown",
    ),
    "res_case_number": ("案件编号", "Case number"),
    "res_reason": ("用途说明", "Reason"),
    "res_reveal": ("查看原文", "Reveal"),
    "res_purpose_hint": (
        "须填写案件编号或用途说明；查看将留痕审计",
        "State a case number or a reason; the reveal is audited",
    ),
    "res_revealed": ("原文（仅显示一次，已审计）", "Clear value (shown once, audited)"),
}
add_texts(_PAIRS)


def _visible_resident(page: Page, resident_id: str) -> ResidentPlaceRead:
    """The resident in the user's scope; 404 outside it, as for one that does not exist."""
    return RegistryService(page.context.session).resident(resident_id, scope=page.context.scope)


def _render(
    page: Page,
    resident_id: str,
    *,
    status_code: int = 200,
    revealed: dict[str, str] | None = None,
    error: ZhianError | None = None,
    error_field: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    context = page.context
    resident = _visible_resident(page, resident_id)
    masked = context.reveal.masked(resident_id, scope=context.scope)
    if revealed is None and error is None:
        context.reveal.record_read(
            context.user, context.read(VIEW_ACTION, RECORD_TYPE, resident_id, masked=True)
        )
    fields = [
        {"name": field, "masked": getattr(masked, field) if masked is not None else None}
        for field in IDENTITY_FIELDS
    ]
    response = page.render(
        "resident.html",
        {
            "resident": resident,
            "has_keys": masked is not None,
            "fields": fields,
            "may_reveal": page.user.can(REVEAL_PERMISSION),
            "revealed": revealed,
            "error": error,
            "error_field": error_field,
            "form": form or {},
            "follow": follow_state(page, FollowKind.PERSON, resident_id),
            "follow_kind": FollowKind.PERSON.value,
            "subject_id": resident_id,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"  # identity stays out of every cache
    return response


@router.get("/residents/{resident_id}", response_class=HTMLResponse, include_in_schema=False)
def resident_page(page: PageDep, resident_id: ResidentId) -> HTMLResponse:
    return _render(page, resident_id)


@router.post("/residents/{resident_id}/reveal", include_in_schema=False)
async def reveal_field(page: PageDep, resident_id: ResidentId) -> HTMLResponse:
    """Reveal one identity field with a stated purpose; the clear value is shown once."""
    raw = await page.request.form()
    form = {name: str(raw.get(name) or "").strip() for name in ("field", "case_number", "reason")}
    field = form["field"]
    context = page.context
    try:
        value = context.reveal.reveal(
            context.user,
            resident_id,
            field,
            Purpose(case_number=form["case_number"] or None, reason=form["reason"] or None),
            scope=context.scope,
            ip=context.ip,
        )
    except (BadRequestError, ForbiddenError) as error:
        return _render(
            page,
            resident_id,
            status_code=error.status_code,
            error=error,
            error_field=field,
            form=form,
        )
    except NotFoundError as error:
        if error.field == "resident_id":
            raise  # outside the scope: 404, nothing revealed, nothing audited
        return _render(
            page, resident_id, status_code=404, error=error, error_field=field, form=form
        )
    return _render(page, resident_id, revealed={"field": field, "value": value})
