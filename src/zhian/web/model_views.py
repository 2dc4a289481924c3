"""The models page (研判模型): each batch model's running precision, the parameters a
community applies and those a place type (campsite, long-stay car park, holiday homes)
applies, with forms to change them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from zhian.access.scope import JurisdictionScope
from zhian.errors import BadRequestError, ForbiddenError, NotFoundError, ZhianError
from zhian.models.catalogue import MODELS
from zhian.models.feedback import collect_feedback
from zhian.models.parameters import PLACE_TYPE_TUNABLE, PLACE_TYPES, TUNABLE, ParameterService
from zhian.models.restrictions import RestrictedPlaceService
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.evidence import parameter_description, parameter_name
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

MODEL_TEXT: dict[str, tuple[str, str]] = {
    "nav_models": ("研判模型", "Models"),
    "models_title": ("研判模型与运行精度", "Analytic models and their running precision"),
    "models_model": ("模型", "Model"),
    "models_confirmed": ("确认", "Confirmed"),
    "models_false": ("误报", "False alarms"),
    "models_precision": ("运行精度", "Running precision"),
    "models_communities": ("各社区参数", "Parameters per community"),
    "models_parameter": ("参数", "Parameter"),
    "models_default": ("默认值", "Default"),
    "models_value": ("本社区取值", "This community"),
    "models_save": ("保存", "Save"),
    "models_saved": ("已保存", "Saved"),
    "models_place_types": ("各场所类型参数", "Parameters per place type"),
    "models_place_value": ("本类型取值", "This place type"),
    "models_place_note": (
        "适用于该类型的所有社区（社区自设的取值优先）；仅辖区涵盖全部社区的用户可修改。",
        "Applies to every community of this type (a community's own value wins); only "
        "users whose jurisdiction holds every community may change it.",
    ),
    "models_restrictions": ("本社区限行点位", "Restricted places of this community"),
    "models_restrictions_note": (
        "限行点位可在此新增、修改、删除，也可随基础数据导入（place_restrictions.csv）。",
        "Restricted places are added, changed and removed here, or imported with the master "
        "data (place_restrictions.csv).",
    ),
    "models_restrictions_none": ("本社区没有限行点位", "No restricted place in this community"),
    "restriction_rule": ("规则", "Rule"),
    "restriction_place": ("点位", "Place"),
    "restriction_governs": ("管控车辆与方向", "Governs"),
    "restriction_allowed": ("许可车辆", "Allowed vehicles"),
    "restriction_hours": ("许可时段", "Allowed hours"),
    "restriction_any": ("不限", "any"),
    "restriction_both_ways": ("双向", "both ways"),
    "place_type_open": ("开放式小区", "Open neighbourhood"),
    "place_type_gated": ("封闭式小区", "Gated estate"),
    "place_type_rental": ("出租屋集中区", "Rental block"),
    "place_type_commercial": ("商业街区", "Commercial street"),
    "place_type_campus": ("重点单位", "Key unit (campus)"),
    "place_type_campsite": ("营地", "Campsite"),
    "place_type_long_stay_park": ("长时停车场", "Long-stay car park"),
    "place_type_holiday_homes": ("度假房", "Holiday homes"),
}
add_texts(MODEL_TEXT)

CommunityId = Annotated[str, Path(min_length=1, max_length=64)]


def _communities(page: Page) -> list[Any]:
    context = page.context
    return list(RegistryService(context.session).list_communities(scope=context.scope))


@router.get("/models", response_class=HTMLResponse, include_in_schema=False)
def models_page(page: PageDep) -> HTMLResponse:
    feedback = collect_feedback(page.context.alerts, scope=page.context.scope)
    rows = [
        {
            "name": m.name,
            "title": m.title_zh if page.lang == "zh" else m.title_en,
            "feedback": feedback[(m.name, None)],
        }
        for m in MODELS
    ]
    return page.render(
        "models.html",
        {"rows": rows, "communities": _communities(page), "place_types": PLACE_TYPES},
    )


def _parameter_page(
    page: Page, community_id: str, *, error: ZhianError | None = None, saved: bool = False
) -> HTMLResponse:
    community = next((c for c in _communities(page) if c.id == community_id), None)
    if community is None:  # outside the scope reads as absent
        raise NotFoundError(f"community '{community_id}' not found", field="community_id")
    defaults = page.node.settings.models
    effective = ParameterService(page.context.session).effective(defaults, community_id)
    rows = [
        {
            "name": name,
            "title": parameter_name(name, page.lang),
            "description": parameter_description(name, page.lang),
            "default": getattr(defaults, name),
            "value": getattr(effective, name),
        }
        for name in TUNABLE
    ]
    return page.render(
        "model_parameters.html",
        {
            "community": community,
            "rows": rows,
            "error": error,
            "saved": saved,
            "restrictions": _restrictions(page, community_id),
            "may_manage": page.user.can("models.manage"),
            "restriction_saved": page.request.query_params.get("restriction_saved"),
            "restriction_removed": page.request.query_params.get("restriction_removed") == "1",
        },
        status_code=200 if error is None else error.status_code,
    )


def _restrictions(page: Page, community_id: str) -> list[dict[str, Any]]:
    """The restricted places at this community's devices and zones, as read: plates
    masked, lists as written."""
    found = []
    for r in RestrictedPlaceService(page.context.session).list_rules(community_id):
        allowed = [x for x in (r.allowed_classes, r.allowed_owners, r.allowed_plates_masked) if x]
        found.append(
            {
                "id": r.id,
                "name": r.name,
                "place": r.place_name,
                "governs": r.governs_classes,
                "direction": r.direction,
                "allowed": ", ".join(allowed),
                "hours": r.hours_text,
            }
        )
    return found


@router.get(
    "/models/communities/{community_id}", response_class=HTMLResponse, include_in_schema=False
)
def model_parameters_page(page: PageDep, community_id: CommunityId) -> HTMLResponse:
    return _parameter_page(page, community_id, saved=page.request.query_params.get("saved") == "1")


@router.post("/models/communities/{community_id}", include_in_schema=False)
async def save_model_parameters(page: PageDep, community_id: CommunityId) -> Response:
    """The parameter form: every tunable parameter, as numbers."""
    _parameter_page(page, community_id)  # 404 outside the user's scope
    try:
        async with page.request.form(max_files=0, max_fields=64) as form:
            values = _numbers(form, TUNABLE)
        ParameterService(page.context.session).set_values(
            community_id,
            values,
            defaults=page.node.settings.models,
            user_id=page.user.id,
            now=page.now,
        )
    except ZhianError as error:
        return _parameter_page(page, community_id, error=error)
    return RedirectResponse(f"/models/communities/{community_id}?saved=1", status_code=303)


PlaceType = Annotated[str, Path(min_length=1, max_length=16)]


def _covers_every_community(page: Page) -> bool:
    """Whether the user's jurisdiction holds every community of the node."""
    registry = RegistryService(page.context.session)
    everywhere = registry.list_communities(scope=JurisdictionScope.unscoped())
    return len(_communities(page)) == len(everywhere)


def _place_type_page(
    page: Page, place_type: str, *, error: ZhianError | None = None, saved: bool = False
) -> HTMLResponse:
    if place_type not in PLACE_TYPES:
        raise NotFoundError(f"place type '{place_type}' not found", field="place_type")
    defaults = page.node.settings.models
    service = ParameterService(page.context.session)
    effective = service.effective_for_place_type(defaults, place_type)
    rows = [
        {
            "name": name,
            "title": parameter_name(name, page.lang),
            "description": parameter_description(name, page.lang),
            "default": getattr(defaults, name),
            "value": getattr(effective, name),
        }
        for name in PLACE_TYPE_TUNABLE
    ]
    return page.render(
        "model_place_type.html",
        {
            "place_type": place_type,
            "rows": rows,
            "error": error,
            "saved": saved,
            "may_change": _covers_every_community(page),
        },
        status_code=200 if error is None else error.status_code,
    )


@router.get(
    "/models/place-types/{place_type}", response_class=HTMLResponse, include_in_schema=False
)
def model_place_type_page(page: PageDep, place_type: PlaceType) -> HTMLResponse:
    return _place_type_page(page, place_type, saved=page.request.query_params.get("saved") == "1")


@router.post("/models/place-types/{place_type}", include_in_schema=False)
async def save_place_type_parameters(page: PageDep, place_type: PlaceType) -> Response:
    """The place type's form: its zombie and vacancy thresholds, as numbers. The values
    apply to the communities of every jurisdiction, so only a user responsible for all of
    them may set them."""
    _place_type_page(page, place_type)  # 404 for an unknown place type
    if not _covers_every_community(page):
        raise ForbiddenError(
            "place-type parameters apply to every community of the node; a user whose "
            "jurisdiction holds only some may change only their communities' own parameters",
            field="place_type",
        )
    try:
        async with page.request.form(max_files=0, max_fields=16) as form:
            values = _numbers(form, PLACE_TYPE_TUNABLE)
        ParameterService(page.context.session).set_place_type_values(
            place_type,
            values,
            defaults=page.node.settings.models,
            user_id=page.user.id,
            now=page.now,
        )
    except ZhianError as error:
        return _place_type_page(page, place_type, error=error)
    return RedirectResponse(f"/models/place-types/{place_type}?saved=1", status_code=303)


def _numbers(form: FormData, names: tuple[str, ...]) -> dict[str, float]:
    """The named fields of a parameter form as numbers; a blank field is left out."""
    values: dict[str, float] = {}
    for name in names:
        raw = form.get(name)
        if raw is None or not isinstance(raw, str) or not raw.strip():
            continue
        try:
            values[name] = float(raw)
        except ValueError:
            raise BadRequestError(f"'{raw}' is not a number", field=name) from None
    return values
