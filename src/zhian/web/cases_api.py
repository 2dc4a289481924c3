"""JSON routes of cases (警情/案件) and case linkage (串并), role- and jurisdiction-checked.

Every read goes through `CaseService` within the user's scope; every write, link decision
and model change is audited under the user's name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from zhian.access.scope import JurisdictionScope
from zhian.audit.service import Actor
from zhian.cases.geo import to_wgs84
from zhian.cases.schemas import (
    CandidateLink,
    CaseCreate,
    CaseFromAlert,
    CaseRead,
    CaseUpdate,
    LinkageComparisonRead,
    LinkDecision,
    LinkRead,
    ModelVersionRead,
)
from zhian.cases.service import CaseService
from zhian.governance.tokens import Tokeniser
from zhian.web.auth import current_user
from zhian.web.deps import Context, RequestContext
from zhian.web.openapi_errors import error_responses

router = APIRouter(
    prefix="/api/v1",
    tags=["cases"],
    dependencies=[Depends(current_user)],
    responses=error_responses(401, 403),
)

CaseId = Annotated[str, Path(min_length=1, max_length=64)]
AlertId = Annotated[int, Path(ge=1, le=2**31 - 1)]
VersionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
# A version number in a query: bounded like a path's, so the database is never asked for
# a number past its integer range.
StoredVersionId = Annotated[int, Field(ge=1, le=2**31 - 1)]


def case_service(context: RequestContext, *, unscoped: bool = False) -> CaseService:
    """The case service on the request's session, within the user's scope (the node's
    whole scope only for training, which learns from every solved case)."""
    node = context.node
    ring = node.governance.ring
    return CaseService(
        context.session,
        clock=node.clock,
        settings=node.settings.cases,
        scope=JurisdictionScope.unscoped() if unscoped else context.scope,
        tokeniser=Tokeniser(ring.token_key) if ring is not None else None,
        sealer=node.governance.sealer,
    )


def retrain_if_due(context: RequestContext) -> None:
    """Retrain the linkage model when enough cases were newly labelled (the setting
    `[cases] retrain_every_labelled`); audited as the system's work."""
    version = case_service(context, unscoped=True).retrain_if_due()
    if version is not None:
        context.node.governance.audit(context.session).record(
            Actor.system("linkage"), "case.model_train", record_type="linkage_model",
            record_ids=[str(version.id)], details={"auc": version.auc, "automatic": True},
        )  # fmt: skip


def _audit(context: RequestContext, action: str, *ids: str, **details: object) -> None:
    context.node.governance.audit(context.session).record(
        Actor.user(context.user.id),
        action,
        record_type="case",
        record_ids=ids,
        ip=context.ip,
        details=details,
    )


@router.get("/cases", response_model=list[CaseRead])
def list_cases(
    context: Context,
    category: str | None = None,
    solved: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[CaseRead]:
    """Cases of the user's jurisdiction, newest first."""
    return case_service(context).list_cases(
        category=category, is_solved=solved, limit=limit, offset=offset
    )


@router.post(
    "/cases", response_model=CaseRead, status_code=201, responses=error_responses(400, 409)
)
def create_case(
    context: Context,
    body: CaseCreate,
    crs: Annotated[
        str, Query(description="The system of latitude/longitude: WGS84, GCJ02 or EPSG:<code>")
    ] = "WGS84",
) -> CaseRead:
    """A new case; coordinates in another system are converted to WGS84 first (for a
    projected system, longitude carries the easting and latitude the northing)."""
    if body.latitude is not None and body.longitude is not None and crs.upper() != "WGS84":
        lat, lon = to_wgs84(body.longitude, body.latitude, crs)
        body = body.model_copy(update={"latitude": lat, "longitude": lon})
    created = case_service(context).create(body, user_id=context.user.id, source="api")
    _audit(context, "case.create", created.id, via="api")
    retrain_if_due(context)
    return created


@router.post(
    "/cases/from-alert/{alert_id}",
    response_model=CaseRead,
    status_code=201,
    responses=error_responses(400, 404, 409),
)
def create_case_from_alert(context: Context, alert_id: AlertId, body: CaseFromAlert) -> CaseRead:
    """A confirmed alert becomes a case linked to it."""
    alert = context.alerts.get_alert(alert_id, scope=context.scope)
    created = case_service(context).create_from_alert(alert, body, user_id=context.user.id)
    _audit(context, "case.create_from_alert", created.id, alert_id=alert_id, via="api")
    return created


@router.get("/cases/{case_id}", response_model=CaseRead, responses=error_responses(404))
def get_case(context: Context, case_id: CaseId) -> CaseRead:
    return case_service(context).get(case_id)


@router.patch("/cases/{case_id}", response_model=CaseRead, responses=error_responses(400, 404))
def update_case(context: Context, case_id: CaseId, body: CaseUpdate) -> CaseRead:
    updated = case_service(context).update(case_id, body, user_id=context.user.id)
    _audit(context, "case.update", case_id, fields=sorted(body.model_fields_set), via="api")
    retrain_if_due(context)
    return updated


@router.get(
    "/cases/{case_id}/candidates",
    response_model=list[CandidateLink],
    responses=error_responses(404, 409),
)
def case_candidates(
    context: Context, case_id: CaseId, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[CandidateLink]:
    """Cases that may be by the same offender, most probable first, with the reasons."""
    return case_service(context).candidates(case_id, limit=limit)


@router.get(
    "/cases/{case_id}/series", response_model=list[CaseRead], responses=error_responses(404)
)
def case_series(context: Context, case_id: CaseId) -> list[CaseRead]:
    """The cases joined to this one by accepted links, by time."""
    return case_service(context).series(case_id)


@router.get("/cases/{case_id}/links", response_model=list[LinkRead], responses=error_responses(404))
def case_links(context: Context, case_id: CaseId) -> list[LinkRead]:
    """Decisions made on this case's links: accepted or rejected, by whom, when, and the
    analysts' notes (opened from their sealed copies: a read of them is audited)."""
    links = case_service(context).links(case_id)
    noted = [f"{link.case_a}/{link.case_b}" for link in links if link.note]
    if noted:
        _audit(context, "case.links_read", case_id, links=noted, via="api")
    return links


@router.post(
    "/cases/{case_id}/links/{other_id}",
    response_model=LinkRead,
    responses=error_responses(400, 404),
)
def decide_link(
    context: Context, case_id: CaseId, other_id: CaseId, body: LinkDecision
) -> LinkRead:
    """Accept or reject a link between two cases; recorded under the user's name."""
    link = case_service(context).decide(
        case_id, other_id, accept=body.accept, user_id=context.user.id, note=body.note
    )
    _audit(context, "case.link_accept" if body.accept else "case.link_reject", case_id,
           other_id, via="api")  # fmt: skip
    return link


@router.get("/linkage/models", response_model=list[ModelVersionRead])
def list_model_versions(context: Context) -> list[ModelVersionRead]:
    """The linkage model versions, newest first, each with its held-out evaluation."""
    return case_service(context, unscoped=True).versions()


@router.get(
    "/linkage/models/compare", response_model=LinkageComparisonRead,
    responses=error_responses(400, 404),
)  # fmt: skip
def compare_model_versions(
    context: Context,
    versions: Annotated[list[StoredVersionId], Query(min_length=2, max_length=10)],
) -> LinkageComparisonRead:
    """Two to ten versions scored on the same pairs: the later 30 % of today's solved
    cases, beside the AUC each had when it was trained."""
    return case_service(context, unscoped=True).compare(versions)


@router.post(
    "/linkage/models", response_model=ModelVersionRead, status_code=201,
    responses=error_responses(400),
)  # fmt: skip
def train_model(context: Context) -> ModelVersionRead:
    """Train a new version on every solved case and make it active."""
    version = case_service(context, unscoped=True).train(
        user_id=context.user.id, reason="trained from the API"
    )
    _audit(context, "case.model_train", str(version.id), auc=version.auc, via="api")
    return version


@router.post(
    "/linkage/models/{version_id}/activate",
    response_model=ModelVersionRead,
    responses=error_responses(404),
)
def activate_model(context: Context, version_id: VersionId) -> ModelVersionRead:
    """Make a version the active one (roll back, or forward again)."""
    version = case_service(context, unscoped=True).activate(version_id)
    _audit(context, "case.model_rollback", str(version_id), via="api")
    return version
