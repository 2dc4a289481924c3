"""Patrol from the phone: check in at a patrol point, report what the patrol found
(docs/phone.md "Patrol").

Both take the phone's `Idempotency-Key`, so the offline queue may resend them: the same
user's key answers what the first request made, with `Idempotent-Replayed: true`. Each
check-in and report is audited (`patrol.checkin`, `patrol.report`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.audit.service import Actor
from zhian.errors import BadRequestError
from zhian.maps import layers
from zhian.node import Node
from zhian.patrol import duty
from zhian.patrol.service import CATEGORY_TIERS, MAX_REPORT_CHARS, PatrolReport, PatrolService
from zhian.registry.service import RegistryService
from zhian.tips.photos import clean_photo
from zhian.tips.service import plain_text
from zhian.web.alerts_api import IDEMPOTENCY_KEY_PATTERN
from zhian.web.auth import current_user
from zhian.web.deps import Context, RequestContext, read_bounded_body
from zhian.web.openapi_errors import error_responses

router = APIRouter(prefix="/api/v1/patrol", tags=["patrol"], dependencies=[Depends(current_user)])

IdempotencyKey = Annotated[
    str,
    Header(
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="A key the phone makes per check-in or report: sent again by the same "
        "user, it answers what the first request made instead of doing it twice",
    ),
]
MAX_PHOTOS = 6


class CheckinRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    point_id: str = Field(min_length=1, max_length=64, description="The building's id")
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(description=f"One of {', '.join(CATEGORY_TIERS)}")
    text: str = Field(max_length=MAX_REPORT_CHARS * 2)
    point_id: str = Field(min_length=1, max_length=64, description="The building's id")
    photos: list[str] = Field(default_factory=list, max_length=MAX_PHOTOS)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


def _service(context: RequestContext) -> PatrolService:
    buildings = RegistryService(context.session).buildings(scope=JurisdictionScope.unscoped())
    return PatrolService(
        context.session, buildings=buildings, scope=context.scope, user_id=context.user.id
    )


def _replayed(body: dict[str, object]) -> JSONResponse:
    return JSONResponse(body, headers={"Idempotent-Replayed": "true"})


@router.post(
    "/checkins",
    summary="Check in at a patrol point (a building) with the phone's position",
    status_code=201,
    responses=error_responses(401, 403, 400, 404),
)
def check_in(context: Context, body: CheckinRequest, idempotency_key: IdempotencyKey) -> Response:
    now = context.node.clock.now()
    result = _service(context).check_in(
        body.point_id, body.latitude, body.longitude, key=idempotency_key, now=now
    )
    answer: dict[str, object] = {
        "checkin_id": result.checkin_id,
        "point_id": result.building_id,
        "distance_m": result.distance_m,
    }
    if result.replayed:
        return _replayed(answer)
    context.node.governance.audit(context.session).record(
        Actor.user(context.user.id),
        "patrol.checkin",
        record_type="building",
        record_ids=[result.building_id],
        ip=context.ip,
        details={"checkin_id": result.checkin_id, "distance_m": result.distance_m},
    )
    return JSONResponse(answer, status_code=201)


@router.post(
    "/photos",
    summary="Upload a photo for a patrol report; answers its image reference",
    responses=error_responses(401, 403, 400, 413, 415),
)
async def upload_patrol_photo(request: Request, context: Context) -> Response:
    """The body is the JPEG or PNG itself. Like a resident's photo it is re-encoded from
    its pixels (no position, camera or time metadata kept) and sealed at rest."""
    limit = context.node.settings.images.max_bytes
    data = await read_bounded_body(request, limit)
    # Off the event loop: decoding and re-encoding a large picture takes a while.
    ref = await run_in_threadpool(_clean_and_save, context.node, data, limit)
    return JSONResponse({"ref": ref})


def _clean_and_save(node: Node, data: bytes, limit: int) -> str:
    clean = clean_photo(data, index=1, max_bytes=limit)
    return node.images.save(clean.data, clean.content_type)


@router.post(
    "/reports",
    summary="Report what a patrol found; it enters as an alert at the patrol point",
    status_code=201,
    responses=error_responses(401, 403, 400, 404),
)
def report(context: Context, body: ReportRequest, idempotency_key: IdempotencyKey) -> Response:
    if body.category not in CATEGORY_TIERS:
        raise BadRequestError(
            f"category must be one of {', '.join(CATEGORY_TIERS)}", field="category"
        )
    if (body.latitude is None) != (body.longitude is None):
        raise BadRequestError(
            "send both latitude and longitude, or neither",
            field="latitude" if body.latitude is None else "longitude",
        )
    text = plain_text(body.text, "text", max_chars=MAX_REPORT_CHARS)
    for index, ref in enumerate(body.photos, start=1):
        if not context.node.images.exists(ref):
            raise BadRequestError(f"photo {index} is not an uploaded image", field="photos")
    parsed = PatrolReport(
        body.category, text, body.point_id, tuple(body.photos), body.latitude, body.longitude
    )
    now = context.node.clock.now()
    alert_id = _service(context).report(parsed, key=idempotency_key, alerts=context.alerts, now=now)
    if alert_id is None:
        return _replayed({"alert_id": None, "already_received": True})
    context.node.governance.audit(context.session).record(
        Actor.user(context.user.id),
        "patrol.report",
        record_type="alert",
        record_ids=[str(alert_id)],
        ip=context.ip,
        details={"point_id": body.point_id, "category": body.category},
    )
    return JSONResponse({"alert_id": alert_id}, status_code=201)


class DutyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_duty: bool
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


@router.post(
    "/duty",
    summary="Go on duty (or report a new position on duty) or off duty",
    status_code=204,
    responses=error_responses(401, 403, 400),
)
def report_duty(context: Context, body: DutyRequest) -> Response:
    """On duty the position is required and shown on the dispatchers' map; off duty the
    last position is deleted at once (docs/phone.md "Patrol units on the map")."""
    position: tuple[float, float] | None = None
    if body.on_duty:
        if body.latitude is None or body.longitude is None:
            missing = "latitude" if body.latitude is None else "longitude"
            raise BadRequestError(f"on duty, {missing} is required", field=missing)
        position = (body.latitude, body.longitude)
    duty.report_duty(
        context.session,
        user_id=context.user.id,
        jurisdiction_id=context.user.jurisdiction_id,
        position=position,
        now=context.node.clock.now(),
    )
    return Response(status_code=204)


@router.get(
    "/units",
    summary="Patrol units on duty in the user's jurisdiction, at their last position",
    responses=error_responses(401, 403),
)
def patrol_units(context: Context) -> JSONResponse:
    units = duty.units_on_duty(context.session, scope=context.scope, now=context.node.clock.now())
    access = AccessService(context.session)
    features = []
    for unit in units:
        user = access.get_user(unit.user_id)
        name = user.display_name if user is not None else str(unit.user_id)
        properties = {"user_id": unit.user_id, "name": name, "at": unit.reported_at.isoformat()}
        features.append(layers.point(unit.latitude, unit.longitude, properties))
    datum = context.node.settings.map.tile_datum.value
    return JSONResponse(layers.in_datum(layers.collection(features), datum))
