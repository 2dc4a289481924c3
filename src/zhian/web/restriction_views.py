"""Restricted places (限行点位) on a community's parameters page: add, change and remove a
rule at one of its vehicle gates, checkpoints or zones. Each change is audited in the
transaction that makes it; the import of `place_restrictions.csv` stays the other way in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhian.audit.service import Actor
from zhian.errors import NotFoundError, ZhianError
from zhian.models.restrictions import PLATES_FIELD, RULE_FIELDS, RestrictedPlaceService
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

RESTRICTION_TEXT: dict[str, tuple[str, str]] = {
    "restriction_add": ("新增限行点位", "Add a restricted place"),
    "restriction_edit": ("修改", "Edit"),
    "restriction_edit_title": ("修改限行点位", "Change a restricted place"),
    "restriction_remove": ("删除", "Remove"),
    "restriction_removed": ("已删除限行点位", "Restricted place removed"),
    "restriction_saved_note": ("已保存限行点位", "Restricted place saved"),
    "restriction_name": ("规则名称", "Rule name"),
    "restriction_device": ("卡口或道闸", "Vehicle gate or checkpoint"),
    "restriction_zone": ("或区域", "or zone"),
    "restriction_none": ("（无）", "(none)"),
    "restriction_governs_classes": (
        "管控车辆类型（逗号分隔，留空为全部）",
        "Vehicle classes governed (comma-separated; blank: every class)",
    ),
    "restriction_direction": ("管控方向", "Direction governed"),
    "restriction_direction_in": ("驶入", "in"),
    "restriction_direction_out": ("驶出", "out"),
    "restriction_allowed_classes": (
        "许可车辆类型（逗号分隔）",
        "Allowed vehicle classes (comma-separated)",
    ),
    "restriction_allowed_owners": ("许可车主类型", "Allowed owner types"),
    "restriction_owner_community": ("本社区登记", "registered to this community"),
    "restriction_owner_registered": ("任一社区登记", "registered anywhere"),
    "restriction_owner_unregistered": ("未登记", "unregistered"),
    "restriction_allowed_plates": ("许可车牌（逗号分隔）", "Allowed plates (comma-separated)"),
    "restriction_plates_kept": (
        "已有车牌（脱敏）：{plates}。留空则保留原车牌，填写则替换。",
        "Plates held (masked): {plates}. Leave blank to keep them; plates given replace them.",
    ),
    "restriction_clear_plates": ("清空许可车牌", "Remove every allowed plate"),
    "restriction_from_hour": (
        "许可开始时刻（0–23，留空为不限）",
        "Allowed from hour (0–23; blank: any)",
    ),
    "restriction_until_hour": ("许可截止时刻（0–23）", "Allowed until hour (0–23)"),
    "restriction_back": ("返回本社区参数", "Back to the community's parameters"),
}
add_texts(RESTRICTION_TEXT)

CommunityId = Annotated[str, Path(min_length=1, max_length=64)]
RestrictionId = Annotated[str, Path(min_length=1, max_length=64)]
OWNER_TYPES = ("community", "registered", "unregistered")
_FORM_FIELDS = (*RULE_FIELDS, PLATES_FIELD, "clear_plates")


def _community(page: Page, community_id: str) -> Any:
    """The community, when it lies in the user's scope; otherwise it reads as absent."""
    context = page.context
    communities = RegistryService(context.session).list_communities(scope=context.scope)
    community = next((c for c in communities if c.id == community_id), None)
    if community is None:
        raise NotFoundError(f"community '{community_id}' not found", field="community_id")
    return community


def _service(page: Page) -> RestrictedPlaceService:
    return RestrictedPlaceService(page.context.session, identity=page.node.governance.sealer)


def _audit(page: Page, action: str, community_id: str, restriction_id: str, **details: Any) -> None:
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id),
        action,
        record_type="place_restriction",
        record_ids=[restriction_id],
        ip=page.context.ip,
        details={"community_id": community_id, **details},
    )


def _form_page(
    page: Page,
    community_id: str,
    *,
    restriction_id: str | None = None,
    values: dict[str, str] | None = None,
    error: ZhianError | None = None,
) -> HTMLResponse:
    community = _community(page, community_id)
    service = _service(page)
    current = None if restriction_id is None else service.get(community_id, restriction_id)
    if values is None:
        values = {}
        if current is not None:
            for name in RULE_FIELDS:
                value = getattr(current, name)
                values[name] = "" if value is None else str(value)
    values = {**dict.fromkeys(RULE_FIELDS, ""), **values}
    return page.render(
        "model_restriction.html",
        {
            "community": community,
            "current": current,
            "values": values,
            "owners": set(values.get("allowed_owners", "").split(",")),
            "owner_types": OWNER_TYPES,
            "places": service.places(community_id),
            "error": error,
        },
        status_code=200 if error is None else error.status_code,
    )


async def _read_form(page: Page) -> dict[str, str]:
    """The rule's fields as sent; owner types come as one checkbox each."""
    async with page.request.form(max_files=0, max_fields=32) as form:
        values = {
            name: str(form.get(name) or "")
            for name in _FORM_FIELDS
            if name != "allowed_owners" and isinstance(form.get(name) or "", str)
        }
        owners = [str(v) for v in form.getlist("allowed_owners") if isinstance(v, str)]
    values["allowed_owners"] = ",".join(owner for owner in owners if owner)
    return values


@router.get(
    "/models/communities/{community_id}/restrictions/new",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def new_restriction_page(page: PageDep, community_id: CommunityId) -> HTMLResponse:
    return _form_page(page, community_id)


@router.post("/models/communities/{community_id}/restrictions", include_in_schema=False)
async def create_restriction(page: PageDep, community_id: CommunityId) -> Response:
    """A new rule at one of the community's places, checked as an imported row is."""
    _community(page, community_id)
    values = await _read_form(page)
    try:
        restriction_id = _service(page).create(community_id, values)
    except ZhianError as error:
        return _form_page(page, community_id, values=values, error=error)
    _audit(page, "place_restriction.create", community_id, restriction_id, fields=_given(values))
    return RedirectResponse(
        f"/models/communities/{community_id}?restriction_saved={restriction_id}#restricted-places",
        status_code=303,
    )


@router.get(
    "/models/communities/{community_id}/restrictions/{restriction_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def edit_restriction_page(
    page: PageDep, community_id: CommunityId, restriction_id: RestrictionId
) -> HTMLResponse:
    return _form_page(page, community_id, restriction_id=restriction_id)


@router.post(
    "/models/communities/{community_id}/restrictions/{restriction_id}", include_in_schema=False
)
async def update_restriction(
    page: PageDep, community_id: CommunityId, restriction_id: RestrictionId
) -> Response:
    _community(page, community_id)
    service = _service(page)
    service.get(community_id, restriction_id)  # 404 for another community's rule
    values = await _read_form(page)
    try:
        service.update(community_id, restriction_id, values)
    except ZhianError as error:
        return _form_page(
            page, community_id, restriction_id=restriction_id, values=values, error=error
        )
    _audit(page, "place_restriction.update", community_id, restriction_id, fields=_given(values))
    return RedirectResponse(
        f"/models/communities/{community_id}?restriction_saved={restriction_id}#restricted-places",
        status_code=303,
    )


@router.post(
    "/models/communities/{community_id}/restrictions/{restriction_id}/remove",
    include_in_schema=False,
)
def remove_restriction(
    page: PageDep, community_id: CommunityId, restriction_id: RestrictionId
) -> Response:
    _community(page, community_id)
    removed = _service(page).remove(community_id, restriction_id)
    _audit(
        page, "place_restriction.remove", community_id, restriction_id,
        name=removed.name, device_id=removed.device_id, zone_id=removed.zone_id,
    )  # fmt: skip
    return RedirectResponse(
        f"/models/communities/{community_id}?restriction_removed=1#restricted-places",
        status_code=303,
    )


def _given(values: dict[str, str]) -> list[str]:
    """The fields the form filled in, for the audit (never the plates themselves)."""
    return sorted(name for name, value in values.items() if value.strip())
