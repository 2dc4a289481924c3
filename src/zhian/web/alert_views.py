"""The alert wall (filters, live rows, one-click sign) and the alert detail with its actions."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from zhian.access.service import AccessService
from zhian.alerts.identifiers import AlertPlate, plate_of
from zhian.alerts.schemas import AlertDetail, AlertFilter, AlertPage
from zhian.cascade.service import ChildReadService
from zhian.errors import BadRequestError, NotFoundError, PayloadTooLargeError, ZhianError
from zhian.governance.reveal import REVEAL_PERMISSION, Purpose
from zhian.registry.service import RegistryService
from zhian.rules.crowd_data import CrowdDataService
from zhian.web.alert_access import (
    FILTER_FIELDS,
    LIFECYCLE_ACTIONS,
    may_act,
    page_number,
    parse_filter,
)
from zhian.web.alerts_api import (
    assignee_choices,
    reveal_plate,
    run_action,
    run_step,
    visible_alert,
)
from zhian.web.auth import current_user
from zhian.web.child_rollup import child_rollup
from zhian.web.error_pages import render_error_page
from zhian.web.evidence import PLACE_LIST_FIGURES
from zhian.web.layout import Page, PageDep
from zhian.web.personal_data import wants_unmasked

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

# alerts.id is a 32-bit INTEGER: a larger id is a 422, not a PostgreSQL out-of-range 500.
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_FORM_LIMITS = {"max_files": 50, "max_fields": 50}


def _filter_query(request: Request) -> dict[str, str]:
    """The wall's filter as asked; without `open` the wall shows open alerts only (the
    hundreds of auto-cleared offline alerts of a night are one choice away: `open=all`)."""
    query = {
        name: value
        for name in FILTER_FIELDS
        if (value := request.query_params.get(name, "").strip())
    }
    query.setdefault("open", "1")
    return query


def _wall_rows(page: Page) -> tuple[AlertPage | None, AlertFilter | None, ZhianError | None]:
    try:
        asked = _filter_query(page.request)
        if asked["open"] == "all":
            del asked["open"]
        filters = parse_filter(asked, zone=page.zone)
        number = page_number(page.request.query_params.get("page"))
    except BadRequestError as error:
        return None, None, error
    context = page.context
    per_page = page.node.settings.pages.alerts_per_page
    result = context.cached(
        ("alert_wall", context.scope, tuple(sorted(asked.items())), number, per_page),
        lambda: context.alerts.list_alerts(
            filters, scope=context.scope, page=number, per_page=per_page
        ),
    )
    return result, filters, None


def _rows_context(page: Page, result: AlertPage | None) -> dict[str, Any]:
    query = _filter_query(page.request)
    return {
        "result": result,
        "query": urlencode(query),
        "may_sign": {
            alert.id: may_act(page.user, alert, "sign")
            for alert in (result.items if result else [])
        },
        "fresh_after": page.now.timestamp() - 60,
    }


@router.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
def alert_wall(page: PageDep) -> HTMLResponse:
    result, _filters, error = _wall_rows(page)
    context = page.context
    communities = context.cached(
        ("communities", context.scope),
        lambda: RegistryService(context.session).list_communities(scope=context.scope),
    )
    return page.render(
        "alerts.html",
        {
            **_rows_context(page, result),
            "error": error,
            "form": _filter_query(page.request),
            "communities": communities,
            "warn_seconds": page.node.settings.pages.countdown_warning_seconds,
            "rollup": child_rollup(page),
            "rollup_action": "/alerts",
            # The children's open alerts (docs/cascade.md "Parent pages"), by scope.
            "child_alerts": ChildReadService(context.session).open_alerts(scope=context.scope),
        },
        status_code=error.status_code if error else 200,
    )


@router.get("/alerts/_rows", response_class=HTMLResponse, include_in_schema=False)
def alert_wall_rows(page: PageDep) -> HTMLResponse:
    """The wall's table body alone: reloaded whenever the live feed reports an alert."""
    result, _filters, error = _wall_rows(page)
    return page.render(
        "_alert_rows.html",
        {**_rows_context(page, result), "error": error},
        status_code=error.status_code if error else 200,
    )


def _user_names(page: Page, detail: AlertDetail) -> dict[int, str]:
    ids = {action.user_id for action in detail.timeline if action.user_id is not None}
    ids |= {step.user_id for step in detail.procedure if step.user_id is not None}
    ids |= {uid for uid in (detail.assignee_id, detail.signed_by, detail.closed_by) if uid}
    names: dict[int, str] = {}
    access = AccessService(page.context.session)
    for user_id in sorted(ids):
        user = access.get_user(user_id)
        names[user_id] = user.display_name if user else f"#{user_id}"
    return names


def _purpose_form(page: Page, plate: AlertPlate | None) -> dict[str, str]:
    """The reveal form's purpose: what the user stated, else the watchlist entry's legal
    basis (a case number when it reads as one), so acting on a hit is one step."""
    params = page.request.query_params
    if wants_unmasked(params):
        return {"case_number": params.get("case_number", ""), "reason": params.get("reason", "")}
    basis = plate.legal_basis_ref if plate is not None else None
    if basis is None:
        return {"case_number": "", "reason": ""}
    try:
        Purpose(case_number=basis).checked()
    except BadRequestError:
        return {"case_number": "", "reason": page.t["plate_basis_reason"].format(ref=basis)}
    return {"case_number": basis, "reason": ""}


def _detail_page(
    page: Page,
    alert_id: int,
    *,
    error: ZhianError | None = None,
    status_code: int = 200,
    revealed_plate: str | None = None,
    reveal_error: ZhianError | None = None,
) -> HTMLResponse:
    try:
        detail = visible_alert(page.context, alert_id)
        offered = [
            action
            for action in detail.actions
            if action in LIFECYCLE_ACTIONS and may_act(page.user, detail, action)
        ]
        assignees = assignee_choices(page.context, detail) if "dispatch" in offered else []
    except NotFoundError as missing:
        return render_error_page(page.request, missing, page.user)
    plate = plate_of(detail)
    return page.render(
        "alert_detail.html",
        {
            "alert": detail,
            "plate": plate,
            "may_reveal": page.user.can(REVEAL_PERMISSION),
            # A confirmed alert (signed, not a false alarm or duplicate) may become a case.
            "may_make_case": page.user.can("cases.manage")
            and detail.state.value != "new"
            and (detail.outcome is None or detail.outcome.value == "resolved"),
            "purpose": _purpose_form(page, plate),
            "revealed_plate": revealed_plate,
            "reveal_error": reveal_error,
            "offered": offered,
            "may_tick": "tick_step" in detail.actions and may_act(page.user, detail, "tick_step"),
            "user_role": str(page.user.role),
            "names": _user_names(page, detail),
            "assignees": assignees,
            "error": error,
            "max_attachments": page.node.settings.pages.max_attachments,
            "warn_seconds": page.node.settings.pages.countdown_warning_seconds,
            "figure_places": _figure_places(page, detail),
            "place_list_figures": PLACE_LIST_FIGURES,
        },
        status_code=status_code,
    )


def _figure_places(page: Page, detail: AlertDetail) -> dict[str, str]:
    """Names of the zones and flow points a crowd warning's figures list by id."""
    if not PLACE_LIST_FIGURES & detail.evidence.figures.keys():
        return {}
    directory = CrowdDataService(page.context.session).directory()
    return {
        **{zone.id: zone.name for zone in directory.zones.values()},
        **{point.id: point.name for point in directory.points},
    }


@router.get("/alerts/{alert_id}", response_class=HTMLResponse, include_in_schema=False)
def alert_detail(page: PageDep, alert_id: AlertId) -> HTMLResponse:
    """The alert; `reveal=1` with a case number or reason shows its watchlist plate."""
    if not wants_unmasked(page.request.query_params):
        return _detail_page(page, alert_id)
    return _revealed_detail_page(page, alert_id)


def _revealed_detail_page(page: Page, alert_id: int) -> HTMLResponse:
    """The alert with its plate in the clear (audited), or with the refusal beside the
    form; outside the user's jurisdiction a 404 that reveals and audits nothing."""
    try:
        detail = visible_alert(page.context, alert_id)
    except NotFoundError as missing:
        return render_error_page(page.request, missing, page.user)
    params = page.request.query_params
    purpose = Purpose(case_number=params.get("case_number"), reason=params.get("reason"))
    try:
        plate = reveal_plate(page.context, detail, purpose)
    except ZhianError as refused:
        response = _detail_page(
            page, alert_id, reveal_error=refused, status_code=refused.status_code
        )
    else:
        response = _detail_page(page, alert_id, revealed_plate=plate)
    response.headers["Cache-Control"] = "no-store"  # the clear plate stays out of caches
    return response


def _text(form: FormData, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit:
        raise BadRequestError(f"at most {limit} characters", field=name)
    return text


async def _attachments(page: Page, form: FormData) -> list[str]:
    """Store each uploaded photo (JPEG/PNG, checked) and return the image references."""
    uploads = [
        item
        for item in form.getlist("attachments")
        if isinstance(item, UploadFile) and item.filename
    ]
    limit = page.node.settings.pages.max_attachments
    if len(uploads) > limit:
        raise BadRequestError(f"at most {limit} photos per feedback", field="attachments")
    refs: list[str] = []
    max_bytes = page.node.settings.images.max_bytes
    for upload in uploads:
        data = await upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise PayloadTooLargeError(
                f"photo '{upload.filename}' is larger than {max_bytes} bytes", field="attachments"
            )
        try:
            # Off the event loop: checking a large picture takes a while.
            refs.append(await run_in_threadpool(page.node.images.save, data, upload.content_type))
        except ZhianError as error:
            raise type(error)(
                f"photo '{upload.filename}': {error.message}", field="attachments"
            ) from None
    return refs


def perform(
    page: Page, alert_id: int, action: str, form: FormData, attachments: list[str]
) -> AlertDetail:
    """Run one lifecycle action from a page form for the signed-in user."""
    return run_action(
        page.context,
        alert_id,
        action,
        note=_text(form, "note"),
        feedback=_text(form, "feedback", 4000),
        outcome=_text(form, "outcome"),
        attachments=attachments,
        assignee_id=_assignee(form) if action == "dispatch" else None,
    )


def _assignee(form: FormData) -> int | None:
    """The dispatch form's responder; blank: the dispatcher takes it."""
    value = _text(form, "assignee_id", 20)
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise BadRequestError(f"'{value}' is not a user id", field="assignee_id")
    return int(value)


@router.post("/alerts/{alert_id}/actions/{action}", include_in_schema=False)
async def alert_action(
    page: PageDep, alert_id: AlertId, action: Annotated[str, Path(max_length=16)]
) -> Response:
    """A form on the detail page (or the wall's sign button, through htmx)."""
    is_htmx = page.request.headers.get("hx-request") == "true"
    try:
        async with page.request.form(**_FORM_LIMITS) as form:
            attachments = await _attachments(page, form) if action == "handle" else []
            detail = perform(page, alert_id, action, form, attachments)
    except ZhianError as error:
        if is_htmx and action == "sign":
            return _wall_row(page, alert_id, error=error)
        return _detail_page(page, alert_id, error=error, status_code=error.status_code)
    if is_htmx and action == "sign":
        return _wall_row(page, detail.id)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


def _wall_row(page: Page, alert_id: int, *, error: ZhianError | None = None) -> HTMLResponse:
    alert = visible_alert(page.context, alert_id)
    return page.render(
        "_alert_row.html",
        {
            "alert": alert,
            "can_sign": may_act(page.user, alert, "sign"),
            "fresh_after": page.now.timestamp() - 60,
            "row_error": error,
        },
        status_code=error.status_code if error else 200,
    )


@router.post("/alerts/{alert_id}/steps/{step}", include_in_schema=False)
async def alert_step(
    page: PageDep, alert_id: AlertId, step: Annotated[str, Path(max_length=64)]
) -> Response:
    """Tick a procedure step, or skip it with a reason (the supervisor is told)."""
    try:
        async with page.request.form(**_FORM_LIMITS) as form:
            decision = _text(form, "decision")
            if decision not in ("tick", "skip"):
                raise BadRequestError("decision is 'tick' or 'skip'", field="decision")
            run_step(
                page.context,
                alert_id,
                step,
                skipped=decision == "skip",
                reason=_text(form, "reason"),
            )
    except ZhianError as error:
        return _detail_page(page, alert_id, error=error, status_code=error.status_code)
    return RedirectResponse(f"/alerts/{alert_id}#procedure", status_code=303)
