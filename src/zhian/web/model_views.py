"""The models page (研判模型): each batch model's running precision, and the parameters a
community applies, with a form to change them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhian.errors import BadRequestError, NotFoundError, ZhianError
from zhian.models.catalogue import MODELS
from zhian.models.feedback import collect_feedback
from zhian.models.parameters import TUNABLE, ParameterService
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.evidence import parameter_description, parameter_name
from zhian.web.i18n import TEXT
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
}
for _key, (_zh, _en) in MODEL_TEXT.items():
    TEXT["zh"].setdefault(_key, _zh)
    TEXT["en"].setdefault(_key, _en)

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
    return page.render("models.html", {"rows": rows, "communities": _communities(page)})


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
        {"community": community, "rows": rows, "error": error, "saved": saved},
        status_code=200 if error is None else error.status_code,
    )


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
            values: dict[str, float] = {}
            for name in TUNABLE:
                raw = form.get(name)
                if raw is None or not isinstance(raw, str) or not raw.strip():
                    continue
                try:
                    values[name] = float(raw)
                except ValueError:
                    raise BadRequestError(f"'{raw}' is not a number", field=name) from None
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
