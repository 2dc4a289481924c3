"""Case pages (警情/案件): the cases of the user's jurisdiction, entering and editing one,
its candidate links with their reasons (accept or reject, recorded under the user's name),
its series, a confirmed alert turned into a case, and the linkage model's history.

The service is made in the user's scope, so a case of another jurisdiction is neither
listed nor found. Every write and every link decision is audited.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhian.access.scope import JurisdictionScope
from zhian.audit.service import Actor
from zhian.cases.geo import to_wgs84
from zhian.cases.schemas import (
    STATUS_NAMES_ZH,
    CaseCreate,
    CaseFromAlert,
    CaseStatus,
    CaseUpdate,
)
from zhian.cases.service import CaseService
from zhian.errors import BadRequestError, ZhianError
from zhian.governance.tokens import Tokeniser
from zhian.web.auth import current_user
from zhian.web.cases_api import StoredVersionId, retrain_if_due
from zhian.web.i18n import add_texts, register_labels
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

CaseId = Annotated[str, PathParam(min_length=1, max_length=64)]
AlertId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
VersionId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
CRS_CHOICES = ("WGS84", "GCJ02")

_PAIRS: dict[str, tuple[str, str]] = {
    "nav_cases": ("案件", "Cases"),
    "cases_title": ("案件管理", "Cases"),
    "case_id": ("案件编号", "Case number"),
    "case_category": ("案件类别", "Category"),
    "case_time_from": ("发案时间起", "From"),
    "case_time_to": ("发案时间止", "To"),
    "case_time_of_day": ("时段", "Time of day"),
    "case_address": ("发案地址", "Address"),
    "case_house": ("房屋编号", "House"),
    "case_building": ("楼栋编号", "Building"),
    "case_lat": ("纬度", "Latitude"),
    "case_lon": ("经度", "Longitude"),
    "case_crs": ("坐标系", "Coordinates in"),
    "case_jurisdiction": ("辖区", "Jurisdiction"),
    "case_status": ("状态", "Status"),
    "case_solved": ("已破案", "Solved"),
    "case_offender": ("嫌疑人编号（仅存令牌）", "Offender id (kept only as a token)"),
    "case_has_offender": ("已记录嫌疑人令牌", "offender token kept"),
    "case_mo": ("作案特征", "Modus operandi"),
    "case_add": ("录入案件", "Enter a case"),
    "case_save": ("保存", "Save"),
    "case_edit": ("修改案件", "Edit the case"),
    "case_empty": ("辖区内暂无案件", "No cases in your jurisdiction"),
    "case_from_alert": ("由预警立案", "Case from an alert"),
    "case_alert": ("预警编号", "Alert"),
    "case_candidates": ("串并候选", "Candidate links"),
    "case_probability": ("串并概率", "Probability"),
    "case_distance": ("距离", "Distance"),
    "case_gap": ("间隔", "Time gap"),
    "case_reasons": ("依据", "Reasons"),
    "case_accept": ("确认串并", "Accept"),
    "case_reject": ("否定", "Reject"),
    "case_accepted": ("已确认", "accepted"),
    "case_rejected": ("已否定", "rejected"),
    "case_no_model": ("尚无串并模型：请先训练", "No linkage model yet: train one first"),
    "case_no_candidates": ("没有候选案件", "No candidates"),
    "case_series": ("系列案（已确认串并）", "Series (accepted links)"),
    "case_suggest_note": (
        "串并结果为模型建议，须由研判人员确认；确认人与时间留痕。",
        "Links are suggestions; an analyst decides, and who decided is recorded.",
    ),
    "linkage_models_title": ("串并模型版本", "Linkage model versions"),
    "linkage_train": ("重新训练", "Train a new version"),
    "linkage_activate": ("启用此版本", "Make active"),
    "linkage_active": ("当前版本", "active"),
    "linkage_auto": ("自动", "automatic"),
    "linkage_auc_note": (
        "AUC 为按时间划分的留出集评估（早期训练、后期测试），"
        "并与仅距离、仅时间、距离+时间基线比较。",
        "AUC on a time-based held-out split (trained on earlier, tested on later cases), "
        "beside distance alone, time alone and distance + time.",
    ),
    "linkage_compare": ("对比所选版本", "Compare the versions ticked"),
    "linkage_compare_title": ("同一测试集上的版本对比", "Versions on the same test pairs"),
    "linkage_compare_note": (
        "按今天已破案件的后 30%（按时间）评估所选版本：同一批案件对，训练时的 AUC 列在旁边。",
        "The versions ticked, scored on the later 30 % (by time) of today's solved cases: "
        "the same pairs for each, beside the AUC each had when it was trained.",
    ),
    "linkage_auc_when_trained": ("训练时 AUC", "AUC when trained"),
    "linkage_auc_now": ("今天的 AUC", "AUC today"),
}
add_texts(_PAIRS)
# A case's status by name (its English name is its code, capitalised).
register_labels(
    "case_status", {s.value: (STATUS_NAMES_ZH[s], s.value.capitalize()) for s in CaseStatus}
)

CASE_FIELDS = ("id", "category", "time_from", "time_to", "address", "house_id", "building_id",
               "latitude", "longitude", "crs", "jurisdiction_id", "status", "is_solved",
               "offender_ref")  # fmt: skip


def _service(page: Page, *, unscoped: bool = False) -> CaseService:
    ring = page.node.governance.ring
    return CaseService(
        page.context.session,
        clock=page.node.clock,
        settings=page.node.settings.cases,
        scope=JurisdictionScope.unscoped() if unscoped else page.context.scope,
        tokeniser=Tokeniser(ring.token_key) if ring is not None else None,
        sealer=page.node.governance.sealer,
    )


def _audit(page: Page, action: str, *ids: str, **details: object) -> None:
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id), action, record_type="case", record_ids=ids,
        ip=page.context.ip, details=details,
    )  # fmt: skip


def _mo_from(form: dict[str, str], features: list[str]) -> dict[str, list[str]]:
    return {name: [form[f"mo_{name}"]] for name in features if form.get(f"mo_{name}")}


def _coordinates(fields: dict[str, str]) -> tuple[float | None, float | None]:
    if not fields.get("latitude") and not fields.get("longitude"):
        return None, None
    try:
        lat, lon = float(fields.get("latitude", "")), float(fields.get("longitude", ""))
    except ValueError:
        raise BadRequestError("give both coordinates as numbers", field="latitude") from None
    return to_wgs84(lon, lat, fields.get("crs") or "WGS84")


def case_from_form(fields: dict[str, str], mo: dict[str, list[str]], page: Page) -> CaseCreate:
    lat, lon = _coordinates(fields)
    values: dict[str, Any] = {
        k: v for k, v in fields.items() if v and k not in {"crs", "latitude", "longitude"}
    }
    values["time_from"] = page.form_time(fields.get("time_from", ""), "time_from")
    values["time_to"] = page.form_time(fields.get("time_to", ""), "time_to")
    values["latitude"], values["longitude"] = lat, lon
    values["is_solved"] = fields.get("is_solved") == "1"
    values["mo"] = mo
    try:
        return CaseCreate.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "id"
        raise BadRequestError(
            str(error["msg"]).removeprefix("Value error, "), field=where
        ) from None


def _list_context(page: Page, **extra: Any) -> dict[str, Any]:
    service = _service(page)
    scope = service.scope
    category = page.request.query_params.get("category") or None
    cases = service.list_cases(category=category, limit=200)
    context: dict[str, Any] = {
        "cases": cases,
        "category": category or "",
        "categories": sorted(page.node.settings.cases.categories),
        "mo_features": page.node.settings.cases.mo_features,
        "mo_names": _mo_names(page.lang),
        "statuses": [s.value for s in CaseStatus],
        "crs_choices": CRS_CHOICES,
        "jurisdictions": sorted(scope.jurisdiction_ids) if scope.jurisdiction_ids else [],
        "default_jurisdiction": scope.root or "",
        "may_manage": page.user.can("cases.manage"),
        "from_alert": page.request.query_params.get("from_alert", ""),
        "form": {},
        "form_error": None,
    }
    context.update(extra)
    return context


def _render_list(page: Page, *, status_code: int = 200, **extra: Any) -> HTMLResponse:
    return page.render("cases/cases.html", _list_context(page, **extra), status_code=status_code)


@router.get("/cases", response_class=HTMLResponse, include_in_schema=False)
def cases_page(page: PageDep) -> HTMLResponse:
    return _render_list(page)


async def _fields(page: Page) -> dict[str, str]:
    form = await page.request.form()
    return {name: str(value).strip() for name, value in form.items() if isinstance(value, str)}


@router.post("/cases", include_in_schema=False)
async def add_case(page: PageDep) -> Response:
    """Enter one case from the form; an error re-renders the form naming the field."""
    fields = await _fields(page)
    try:
        data = case_from_form(
            {k: fields.get(k, "") for k in CASE_FIELDS},
            _mo_from(fields, page.node.settings.cases.mo_features),
            page,
        )
        created = _service(page).create(data, user_id=page.user.id, source="page")
        _audit(page, "case.create", created.id, via="page")
        retrain_if_due(page.context)
    except ZhianError as error:
        return _render_list(page, status_code=error.status_code, form=fields, form_error=error)
    return RedirectResponse(f"/cases/{quote(created.id)}?lang={page.lang}", status_code=303)


@router.post("/cases/from-alert", include_in_schema=False)
async def add_case_from_alert(page: PageDep) -> Response:
    """A confirmed alert becomes a case (the button on the alert page lands here)."""
    fields = await _fields(page)
    try:
        try:
            alert_id = int(fields.get("alert_id", ""))
        except ValueError:
            raise BadRequestError("give the alert's number", field="alert_id") from None
        request = CaseFromAlert(category=fields.get("category", ""),
                                id=fields.get("id") or None)  # fmt: skip
        alert = page.context.alerts.get_alert(alert_id, scope=page.context.scope)
        created = _service(page).create_from_alert(alert, request, user_id=page.user.id)
        _audit(page, "case.create_from_alert", created.id, alert_id=alert_id, via="page")
    except ValidationError as exc:
        error = BadRequestError(str(exc.errors()[0]["msg"]), field="category")
        return _render_list(page, status_code=400, form=fields, form_error=error)
    except ZhianError as error:
        return _render_list(page, status_code=error.status_code, form=fields, form_error=error)
    return RedirectResponse(f"/cases/{quote(created.id)}?lang={page.lang}", status_code=303)


def _detail_context(page: Page, case_id: str, **extra: Any) -> dict[str, Any]:
    service = _service(page)
    case = service.get(case_id)
    candidates, no_model = [], False
    try:
        candidates = service.candidates(case_id)
    except ZhianError as error:
        if error.field != "model":
            raise
        no_model = True
    context: dict[str, Any] = {
        "case": case,
        "candidates": candidates,
        "no_model": no_model,
        "series": service.series(case_id),
        "categories": sorted(page.node.settings.cases.categories),
        "mo_features": page.node.settings.cases.mo_features,
        "mo_names": _mo_names(page.lang),
        "statuses": [s.value for s in CaseStatus],
        "may_manage": page.user.can("cases.manage"),
        "may_link": page.user.can("cases.link"),
        "form_error": None,
    }
    context.update(extra)
    return context


@router.get("/cases/{case_id}", response_class=HTMLResponse, include_in_schema=False)
def case_page(page: PageDep, case_id: CaseId) -> HTMLResponse:
    return page.render("cases/case_detail.html", _detail_context(page, case_id))


@router.post("/cases/{case_id}", include_in_schema=False)
async def edit_case(page: PageDep, case_id: CaseId) -> Response:
    """Change a case from the edit form."""
    fields = await _fields(page)
    try:
        values: dict[str, Any] = {
            "category": fields.get("category") or None,
            "status": fields.get("status") or None,
            "address": fields.get("address") or None,
            "time_from": page.form_time(fields.get("time_from", ""), "time_from"),
            "time_to": page.form_time(fields.get("time_to", ""), "time_to"),
            "is_solved": fields.get("is_solved") == "1",
            "offender_ref": fields.get("offender_ref") or None,
            "mo": _mo_from(fields, page.node.settings.cases.mo_features),
        }
        try:
            changes = CaseUpdate.model_validate({k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            error = exc.errors()[0]
            raise BadRequestError(str(error["msg"]), field=str(error["loc"][0])) from None
        _service(page).update(case_id, changes, user_id=page.user.id)
        _audit(page, "case.update", case_id, fields=sorted(changes.model_fields_set), via="page")
        retrain_if_due(page.context)
    except ZhianError as error:
        context = _detail_context(page, case_id, form_error=error)
        return page.render("cases/case_detail.html", context, status_code=error.status_code)
    return RedirectResponse(f"/cases/{quote(case_id)}?lang={page.lang}", status_code=303)


@router.post("/cases/{case_id}/links/{other_id}", include_in_schema=False)
async def decide_link(page: PageDep, case_id: CaseId, other_id: CaseId) -> Response:
    """Accept or reject a candidate link; recorded under the user's name."""
    fields = await _fields(page)
    accept = fields.get("decision") == "accept"
    try:
        _service(page).decide(case_id, other_id, accept=accept, user_id=page.user.id,
                              note=fields.get("note", ""))  # fmt: skip
        _audit(page, "case.link_accept" if accept else "case.link_reject", case_id, other_id,
               via="page")  # fmt: skip
    except ZhianError as error:
        context = _detail_context(page, case_id, form_error=error)
        return page.render("cases/case_detail.html", context, status_code=error.status_code)
    query = urlencode({"lang": page.lang})
    return RedirectResponse(f"/cases/{quote(case_id)}?{query}#candidates", status_code=303)


def _models_render(page: Page, *, status_code: int = 200, **extra: Any) -> HTMLResponse:
    context: dict[str, Any] = {
        "versions": _service(page, unscoped=True).versions(),
        "may_train": page.user.can("cases.models"),
        "form_error": None,
        "comparison": None,
        "compared": set(),
    }
    context.update(extra)
    return page.render("cases/linkage_models.html", context, status_code=status_code)


@router.get("/linkage/models", response_class=HTMLResponse, include_in_schema=False)
def linkage_models_page(
    page: PageDep, compare: Annotated[list[StoredVersionId] | None, Query(max_length=10)] = None
) -> HTMLResponse:
    """The version history; with `compare` (two or more ticked), those versions scored
    on the same pairs above it."""
    if not compare:
        return _models_render(page)
    try:
        comparison = _service(page, unscoped=True).compare(compare)
    except ZhianError as error:
        return _models_render(page, status_code=error.status_code, form_error=error)
    return _models_render(page, comparison=comparison, compared=set(compare))


@router.post("/linkage/models", include_in_schema=False)
def train_model(page: PageDep) -> Response:
    try:
        version = _service(page, unscoped=True).train(user_id=page.user.id,
                                                      reason="trained from the page")  # fmt: skip
        _audit(page, "case.model_train", str(version.id), auc=version.auc, via="page")
    except ZhianError as error:
        return _models_render(page, status_code=error.status_code, form_error=error)
    return RedirectResponse(f"/linkage/models?lang={page.lang}", status_code=303)


@router.post("/linkage/models/{version_id}/activate", include_in_schema=False)
def activate_model(page: PageDep, version_id: VersionId) -> Response:
    try:
        _service(page, unscoped=True).activate(version_id)
        _audit(page, "case.model_rollback", str(version_id), via="page")
    except ZhianError as error:
        return _models_render(page, status_code=error.status_code, form_error=error)
    return RedirectResponse(f"/linkage/models?lang={page.lang}", status_code=303)


# The default modus-operandi features by name; a feature an operator adds in
# `cases.mo_features` is shown by its key.
MO_FEATURE_NAMES: dict[str, tuple[str, str]] = {
    "entry_point": ("侵入部位", "Entry point"),
    "entry_method": ("侵入方式", "Entry method"),
    "target": ("侵害目标", "Target"),
    "property_taken": ("被盗财物", "Property taken"),
    "tools": ("作案工具", "Tools"),
}


def _mo_names(lang: str) -> dict[str, str]:
    return {key: pair[0] if lang == "zh" else pair[1] for key, pair in MO_FEATURE_NAMES.items()}
