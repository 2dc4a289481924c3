"""Response procedures (预案) page: this node's checklists by alert kind and tier, edited
by a permitted role (audited), with which came from the parent node (docs/incidents.md,
docs/cascade.md "Procedures that flow down"); and their JSON twin."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhian.access.scope import JurisdictionScope
from zhian.alerts.procedure_store import ProcedureRead, ProcedureService
from zhian.alerts.procedures import TIERS, check_key, steps_from_lines, steps_to_lines
from zhian.audit.service import Actor
from zhian.errors import ForbiddenError, ZhianError
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.deps import Context
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep
from zhian.web.openapi_errors import error_responses

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])
api = APIRouter(
    prefix="/api/v1",
    tags=["procedures"],
    dependencies=[Depends(current_user)],
    responses=error_responses(401, 403),
)

PROCEDURE_TEXT: dict[str, tuple[str, str]] = {
    "nav_procedures": ("处置预案", "Procedures"),
    "procedures_title": ("处置预案", "Response procedures"),
    "procedures_note": (
        "按预警类型与级别启用的处置步骤，依次勾选后方可结项。"
        "类型 * 表示所有类型，级别 * 表示所有级别。"
        "每行一个步骤：标识 | 中文 | English | 角色（角色可省略）。",
        "The steps an alert of a kind and tier must tick before it is closed. Kind * is every "
        "kind, tier * every tier. One step a line: key | 中文 | English | role (role optional).",
    ),
    "procedures_kind": ("预警类型", "Alert kind"),
    "procedures_tier": ("级别", "Tier"),
    "procedures_steps": ("步骤", "Steps"),
    "procedures_origin": ("来源", "Source"),
    "procedures_origin_local": ("本级", "This node"),
    "procedures_origin_parent": ("上级下发", "From the parent"),
    "procedures_default": ("内置", "built-in"),
    "procedures_none": ("无步骤", "No steps"),
    "procedures_add": ("新增或替换预案", "Add or replace a procedure"),
    "procedures_save": ("保存", "Save"),
    "procedures_saved": ("已保存，修改已记入审计日志。", "Saved; the change is in the audit log."),
    "procedures_manage_note": (
        "预案适用于本节点全部社区，仅辖区涵盖全部社区的用户可修改。",
        "Procedures apply to every community of the node: only users whose jurisdiction "
        "holds every community may change them.",
    ),
}
add_texts(PROCEDURE_TEXT)


def _may_change(page: Page) -> bool:
    """Holders of procedures.manage whose jurisdiction holds every community of the node
    (a procedure applies node-wide)."""
    if not page.user.can("procedures.manage"):
        return False
    if page.context.scope.is_unscoped:
        return True
    registry = RegistryService(page.context.session)
    everywhere = registry.list_communities(scope=JurisdictionScope.unscoped())
    mine = registry.list_communities(scope=page.context.scope)
    return len(mine) == len(everywhere)


def _render(
    page: Page, *, error: ZhianError | None = None, form: dict[str, str] | None = None
) -> HTMLResponse:
    procedures = ProcedureService(page.context.session).all()
    values: dict[str, Any] = {
        "procedures": procedures,
        "lines": {(p.kind, p.tier): steps_to_lines(p.steps) for p in procedures},
        "tiers": TIERS,
        "may_change": _may_change(page),
        "error": error,
        "form": form or {},
        "saved": page.request.query_params.get("saved") == "1",
    }
    return page.render(
        "procedures.html", values, status_code=200 if error is None else error.status_code
    )


@router.get("/procedures", response_class=HTMLResponse, include_in_schema=False)
def procedures_page(page: PageDep) -> HTMLResponse:
    return _render(page)


@router.post("/procedures", include_in_schema=False)
async def save_procedure(page: PageDep) -> Response:
    """Set the steps of one (kind, tier): the form's `kind`, `tier` and `steps` (one step a
    line, in order; none: no checklist). The audit entry commits with the change."""
    async with page.request.form(max_files=0, max_fields=8) as form:
        typed = {name: str(form.get(name, "")) for name in ("kind", "tier", "steps")}
    try:
        if not _may_change(page):
            raise ForbiddenError(
                "procedures apply to every community of the node; a user whose jurisdiction "
                "holds only some may not change them",
                field="kind",
            )
        kind, tier = typed["kind"].strip(), typed["tier"].strip()
        check_key(kind, tier)
        steps = steps_from_lines(typed["steps"])
        before, after = ProcedureService(page.context.session).save(
            kind, tier, steps, user_id=page.user.id, now=page.now
        )
    except ZhianError as error:
        return _render(page, error=error, form=typed)
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id),
        "procedures.update",
        record_type="response_procedure",
        record_ids=[f"{kind}/{tier}"],
        ip=page.context.ip,
        details={
            "steps": [
                None if before is None else [s.key for s in before.steps],
                [s.key for s in after.steps],
            ],
            "origin": None if before is None else before.origin,
        },
    )
    return RedirectResponse(f"/procedures?lang={page.lang}&saved=1", status_code=303)


def _read(procedure: ProcedureRead) -> dict[str, Any]:
    return {
        "kind": procedure.kind,
        "tier": procedure.tier,
        "origin": procedure.origin,
        "is_default": procedure.is_default,
        "steps": [asdict(step) for step in procedure.steps],
        "updated_by": procedure.updated_by,
        "updated_at": procedure.updated_at,
    }


@api.get("/procedures", summary="This node's response procedures (预案), by kind and tier")
def list_procedures(context: Context) -> list[dict[str, Any]]:
    return [_read(p) for p in ProcedureService(context.session).all()]
