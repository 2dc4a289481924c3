"""JSON routes of the alert loop, for the pages' scripts and for integrations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from zhian.access.service import AccessService, UserRead
from zhian.alerts.identifiers import plate_of
from zhian.alerts.schemas import (
    AlertDetail,
    AlertPage,
    AlertSummary,
    KpiReport,
    Outcome,
    TodoItem,
)
from zhian.audit.service import Actor
from zhian.errors import BadRequestError, NotFoundError
from zhian.governance.reveal import Purpose
from zhian.kit.thumbnails import thumbnail
from zhian.registry.loop import LOOP_RULES, ConfirmedFinding, RegistryLoop
from zhian.web.alert_access import (
    LIFECYCLE_ACTIONS,
    check_may_act,
    page_number,
    parse_filter,
    role_rank,
)
from zhian.web.auth import current_user
from zhian.web.deps import Context, RequestContext
from zhian.web.guard import MAX_FORM_BYTES
from zhian.web.layout import display_zone
from zhian.web.openapi_errors import error_responses

# Every route: 401 without a session or API token, 403 without the route's permission.
router = APIRouter(
    prefix="/api/v1",
    tags=["alerts"],
    dependencies=[Depends(current_user)],
    responses=error_responses(401, 403),
)

# An idempotency key: what a client's random UUID or ULID looks like, nothing to escape.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
# alerts.id is a 32-bit INTEGER: a larger id is a 422, not a PostgreSQL out-of-range 500.
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_PER_PAGE = 500
# The audit action of a watchlist plate shown in the clear (`.refused` when refused).
PLATE_REVEAL_ACTION = "alert.reveal_plate"
# A POST signed in by cookie without the X-CSRF-Token header has its body read by the
# guard, looking for the form field, up to a limit.
_UNSAFE_ERRORS = error_responses(
    400,
    404,
    409,
    413,
    described={413: f"Over {MAX_FORM_BYTES // 2**20} MiB sent by cookie without X-CSRF-Token"},
)


class ActionRequest(BaseModel):
    """The body of a lifecycle action; which fields count depends on the action."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000)
    feedback: str = Field(default="", max_length=4000, description="handle: what was done")
    outcome: str = Field(default="", description="close: resolved, false_alarm or duplicate")
    attachments: list[str] = Field(
        default_factory=list, max_length=50, description="handle: image refs from /images"
    )
    assignee_id: int | None = Field(
        default=None,
        ge=1,
        description="dispatch: the responder (a user of the alert's jurisdiction subtree "
        "whose role may act); default the dispatcher",
    )
    latitude: float | None = Field(
        default=None, ge=-90, le=90, description="arrive: where the responder is (WGS84)"
    )
    longitude: float | None = Field(
        default=None, ge=-180, le=180, description="arrive: where the responder is (WGS84)"
    )


class AlertRevealed(AlertDetail):
    """One alert in full, with its watchlist plate in the clear after an audited reveal."""

    revealed_plate: str | None = Field(
        default=None, description="`reveal=1` with a purpose: the plate in the clear (audited)"
    )


class StepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skipped: bool = False
    reason: str = Field(default="", max_length=2000)


def visible_alert(context: RequestContext, alert_id: int) -> AlertDetail:
    """The alert, if the user's scope sees it (404 otherwise)."""
    return context.alerts.get_alert(alert_id, scope=context.scope)


def assignee_choices(context: RequestContext, alert: AlertSummary) -> list[UserRead]:
    """Who an alert may be dispatched to: active users placed in the subtree of its owner
    jurisdiction (or of the one it escalated to) whose role acts on alerts, by name."""
    tree = context.alerts.tree
    places: set[str] = set()
    for root in (alert.jurisdiction_id, alert.escalated_to_jurisdiction_id):
        if root is not None:
            places |= tree.subtree(root)
    users = AccessService(context.session).list_users()
    return sorted(
        (
            user
            for user in users
            if user.is_active
            and user.jurisdiction_id in places
            and role_rank(user.role) > 0
            and user.can("alerts.handle")
        ),
        key=lambda user: (-role_rank(user.role), user.display_name, user.id),
    )


def run_action(
    context: RequestContext,
    alert_id: int,
    action: str,
    *,
    note: str = "",
    feedback: str = "",
    outcome: str = "",
    attachments: Sequence[str] = (),
    assignee_id: int | None = None,
) -> AlertDetail:
    """One lifecycle step for the user, checked for scope and role (the request commits;
    the live feed hears of it after the commit)."""
    if action not in LIFECYCLE_ACTIONS:
        raise BadRequestError(
            f"unknown action '{action}'; one of: {', '.join(LIFECYCLE_ACTIONS)}", field="action"
        )
    if assignee_id is not None and action != "dispatch":
        raise BadRequestError("only a dispatch names an assignee", field="assignee_id")
    user, ip, alerts, scope = context.user, context.ip, context.alerts, context.scope
    alert = visible_alert(context, alert_id)
    check_may_act(user, alert, action)
    if action == "sign":
        return alerts.sign(alert_id, scope=scope, user_id=user.id, ip=ip, note=note)
    if action == "dispatch":
        if assignee_id is not None and assignee_id not in {
            choice.id for choice in assignee_choices(context, alert)
        }:
            raise BadRequestError(
                f"user {assignee_id} may not take alert {alert_id}: not an active "
                "responder of its jurisdiction",
                field="assignee_id",
            )
        return alerts.dispatch(
            alert_id, scope=scope, user_id=user.id, ip=ip, note=note, assignee_id=assignee_id
        )
    if action == "arrive":
        return alerts.arrive(alert_id, scope=scope, user_id=user.id, ip=ip, note=note)
    if action == "handle":
        return alerts.handle(
            alert_id,
            scope=scope,
            user_id=user.id,
            feedback=feedback,
            attachments=tuple(attachments),
            ip=ip,
            note=note,
        )
    closed = alerts.close(alert_id, scope=scope, user_id=user.id, outcome=outcome, ip=ip, note=note)
    if closed.outcome == Outcome.RESOLVED:
        close_registry_loop(context, alert_id)
    return closed


def close_registry_loop(context: RequestContext, alert_id: int) -> None:
    """A housing model's finding confirmed (closed as resolved) changes the registry, in
    the same transaction, each change audited (`registry.update`; zhian.registry.loop)."""
    finding = context.alerts.finding(alert_id, scope=context.scope)
    if finding.rule not in LOOP_RULES:
        return
    confirmed = ConfirmedFinding(
        alert_id=alert_id,
        rule=finding.rule,
        subject=finding.subject,
        place_id=finding.place_id,
        community_id=finding.community_id,
        user_id=context.user.id,
        at=context.node.clock.now(),
    )
    audit = context.node.governance.audit(context.session)
    for update in RegistryLoop(context.session).apply(confirmed):
        audit.record(
            Actor.user(context.user.id),
            "registry.update",
            record_type=update.record_type,
            record_ids=list(update.record_ids),
            ip=context.ip,
            details={"alert_id": alert_id, "change": update.change, "after": update.after},
        )


def run_step(
    context: RequestContext, alert_id: int, step: str, *, skipped: bool, reason: str
) -> AlertDetail:
    """Tick or skip one procedure step for the user."""
    check_may_act(context.user, visible_alert(context, alert_id), "tick_step")
    return context.alerts.tick_step(
        alert_id,
        step,
        scope=context.scope,
        user_id=context.user.id,
        skipped=skipped,
        reason=reason,
        ip=context.ip,
        role=context.user.role,
    )


def reveal_plate(context: RequestContext, detail: AlertDetail, purpose: Purpose) -> str:
    """The plate of a watchlist-plate alert in the clear, for `purpose`, audited with the
    alert through the reveal service; the caller checked the scope (`visible_alert`).

    400 without a purpose and 403 without `personal_data.reveal` (both audited as
    refused); 404 when the alert holds no plate token or the vault no longer holds it.
    """
    plate = plate_of(detail)
    if plate is None:
        raise NotFoundError(f"alert {detail.id} names no plate to reveal", field="plate")
    read = context.read(
        PLATE_REVEAL_ACTION,
        "alert",
        str(detail.id),
        kind=detail.kind,
        identifier="plate",
        token=plate.token,
    )
    stated = context.reveal.authorise(context.user, purpose, read)
    if plate.token is None:
        raise NotFoundError(
            f"alert {detail.id} was written before plates were tokenised: only the masked "
            "plate was kept",
            field="plate",
        )
    opened = context.reveal.opened([plate.token], user=context.user, purpose=stated, read=read).get(
        plate.token
    )
    if opened is None:
        raise NotFoundError(
            f"the vault no longer holds the plate of alert {detail.id} (purged by retention)",
            field="plate",
        )
    return opened.value


def _json(model: BaseModel | list[Any]) -> Response:
    if isinstance(model, list):
        body = "[" + ",".join(item.model_dump_json() for item in model) + "]"
    else:
        body = model.model_dump_json()
    return Response(body, media_type="application/json")


@router.get(
    "/alerts",
    summary="Alerts of your jurisdiction, newest first",
    response_model=AlertPage,
    responses=error_responses(400),
)
def list_alerts(
    request: Request,
    context: Context,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
) -> Response:
    """Filters as on the wall: `tier`, `state`, `kind`, `place`, `since`, `until`, `open`."""
    filters = parse_filter(request.query_params, zone=display_zone(context.node))
    number = page_number(request.query_params.get("page"))
    return _json(
        context.alerts.list_alerts(filters, scope=context.scope, page=number, per_page=per_page)
    )


@router.get(
    "/alerts/{alert_id}",
    summary="One alert in full",
    response_model=AlertRevealed,
    responses=error_responses(400, 404),
)
def get_alert(
    context: Context,
    alert_id: AlertId,
    reveal: Annotated[
        str | None, Query(pattern="^1$", description="1: a watchlist plate in the clear")
    ] = None,
    case_number: Annotated[str | None, Query(max_length=64)] = None,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """A watchlist plate is masked (`plate_masked`, with its `plate_token`); `reveal=1`
    with a `case_number` or a `reason` shows it to holders of `personal_data.reveal`
    (never to API tokens), and the read is audited with the alert."""
    detail = visible_alert(context, alert_id)
    if reveal is None:
        return _json(AlertRevealed(**detail.model_dump()))
    plate = reveal_plate(context, detail, Purpose(case_number=case_number, reason=reason))
    response = _json(AlertRevealed(**detail.model_dump(), revealed_plate=plate))
    response.headers["Cache-Control"] = "no-store"  # the clear plate stays out of caches
    return response


@router.post(
    "/alerts/{alert_id}/{action}",
    summary="Sign, dispatch, arrive, handle or close an alert",
    response_model=AlertDetail,
    responses=_UNSAFE_ERRORS,
)
def act_on_alert(
    context: Context,
    alert_id: AlertId,
    action: Annotated[str, Path(max_length=16)],
    body: ActionRequest,
    idempotency_key: Annotated[
        str | None,
        Header(
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description="A key the client makes per action (the phone's offline queue): "
            "the same key sent again by the same user answers the alert as it is now "
            "(`Idempotent-Replayed: true`) instead of acting twice",
        ),
    ] = None,
) -> Response:
    if (body.latitude is None) != (body.longitude is None):
        raise BadRequestError(
            "send both latitude and longitude, or neither",
            field="latitude" if body.latitude is None else "longitude",
        )
    if idempotency_key is not None:
        replayed = context.alerts.replayed(
            alert_id,
            user_id=context.user.id,
            idempotency_key=idempotency_key,
            scope=context.scope,
        )
        if replayed is not None:
            response = _json(replayed)
            response.headers["Idempotent-Replayed"] = "true"
            return response
        context.alerts.action_data["idempotency_key"] = idempotency_key
    if body.latitude is not None and body.longitude is not None:
        context.alerts.action_data["location"] = {
            "latitude": body.latitude,
            "longitude": body.longitude,
        }
    for ref in body.attachments:
        if not context.node.images.exists(ref):
            raise BadRequestError(
                f"'{ref}' is not an uploaded image; upload it to /api/v1/images first",
                field="attachments",
            )
    detail = run_action(
        context,
        alert_id,
        action,
        note=body.note,
        feedback=body.feedback,
        outcome=body.outcome,
        attachments=body.attachments,
        assignee_id=body.assignee_id,
    )
    return _json(detail)


@router.post(
    "/alerts/{alert_id}/steps/{step}",
    summary="Tick, or skip with a reason, a step of the alert's response procedure",
    response_model=AlertDetail,
    responses=_UNSAFE_ERRORS,
)
def tick_step(
    context: Context,
    alert_id: AlertId,
    step: Annotated[str, Path(max_length=64)],
    body: StepRequest,
) -> Response:
    return _json(run_step(context, alert_id, step, skipped=body.skipped, reason=body.reason))


@router.get(
    "/alerts/{alert_id}/images/{ref}",
    summary="An image of an alert's evidence or feedback",
    response_class=Response,
    responses=error_responses(400, 404),
)
def alert_image(
    context: Context,
    alert_id: AlertId,
    ref: Annotated[str, Path(max_length=80)],
    size: Annotated[
        Literal["full", "thumb"],
        Query(description="full: the stored image; thumb: a JPEG at most 240 px a side"),
    ] = "full",
) -> Response:
    """Only images the alert refers to: no browsing of the image store by reference.

    An image (a face capture, a vehicle snapshot) is personal data: each read is audited,
    a thumbnail's too.
    """
    detail = visible_alert(context, alert_id)
    if ref not in detail.evidence.images and ref not in detail.attachments:
        raise BadRequestError(f"alert {alert_id} has no image '{ref}'", field="ref")
    context.reveal.record_read(
        context.user,
        context.read("alert_image.read", "image", ref, alert_id=alert_id, size=size),
    )
    data = context.node.images.read(ref)
    headers = {"Cache-Control": "private, max-age=86400"}
    if size == "thumb":
        try:
            return Response(thumbnail(data), media_type="image/jpeg", headers=headers)
        except ValueError as error:
            raise BadRequestError(f"image '{ref}': {error}", field="ref") from None
    media_type = "image/png" if ref.endswith(".png") else "image/jpeg"
    return Response(data, media_type=media_type, headers=headers)


@router.get(
    "/todos", summary="Alerts you must act on, most urgent first", response_model=list[TodoItem]
)
def my_todos(context: Context) -> Response:
    return _json(context.alerts.my_todos(context.user.id, scope=context.scope))


@router.get(
    "/kpis",
    summary="KPIs of your jurisdiction or one below it",
    response_model=KpiReport,
    responses=error_responses(400),
)
def kpis(
    context: Context,
    jurisdiction: Annotated[str | None, Query(max_length=64)] = None,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> Response:
    return _json(
        context.alerts.kpis(scope=context.scope, jurisdiction_id=jurisdiction or None, days=days)
    )
