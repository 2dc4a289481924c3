"""Cross-node search (跨区域研判) routes (docs/cascade.md).

Parent users (permission `cascade.search`) ask the children of their jurisdiction for a
subject's passages, for a case of their jurisdiction with a reason, and read the answers:
POST, so that the subject never sits in a URL. Children fetch the pending requests and post
their answers with their node credential (`cascade.forward`), as they fetch orders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from zhian.access.service import UserRead
from zhian.cascade.search_requests import (
    ANSWER_DECODER,
    DEFAULT_EXPIRY_MINUTES,
    ENCODER,
    MAX_EXPIRY_MINUTES,
    CrossSearchRead,
    CrossSearchService,
    SearchAsk,
    SearchDelivery,
    answer_json,
)
from zhian.cascade.wire import CONTENT_TYPE
from zhian.errors import BadRequestError, ConfigurationError
from zhian.node import Node
from zhian.web.auth import current_user
from zhian.web.cascade_api import _decoded, _msgpack_body
from zhian.web.cases_api import case_service
from zhian.web.deps import Context, RequestContext, node_dependency
from zhian.web.openapi_errors import error_responses

router = APIRouter(
    prefix="/api/v1/cascade",
    tags=["cascade"],
    dependencies=[Depends(current_user)],
    responses=error_responses(401, 403),
)

NodeDep = Annotated[Node, Depends(node_dependency)]
UserDep = Annotated[UserRead, Depends(current_user)]


class CrossSearchAsk(BaseModel):
    """Whose passages (a plate, or a resident's ID-card number), when, why (a case number
    of your jurisdiction and a reason), and whom: one child, or every child of your
    jurisdiction (`node_id` left out)."""

    model_config = ConfigDict(extra="forbid")

    subject_kind: Literal["plate", "id_number"] = "plate"
    plate: str | None = Field(default=None, max_length=16)
    id_number: str | None = Field(default=None, max_length=32)
    case_number: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    since: datetime
    until: datetime
    node_id: str | None = Field(default=None, max_length=64)
    expires_in_minutes: int = Field(
        default=DEFAULT_EXPIRY_MINUTES,
        description=f"How long the children have to answer (1 to {MAX_EXPIRY_MINUTES}).",
    )


def cross_search_service(context: RequestContext) -> CrossSearchService:
    """The service for the request's user: their cases, children and audit trail."""
    node = context.node
    if node.governance.sealer is None:
        raise ConfigurationError(
            "subjects are kept as keyed tokens: run `zhian keys init` first", field="subject"
        )
    return CrossSearchService(
        context.session,
        clock=node.clock,
        identity=node.governance.sealer,
        audit=node.governance.audit(context.session),
        cases=case_service(context),
        user=context.user,
        scope=context.scope,
        ip=context.ip,
    )


def delivery(node: Node) -> SearchDelivery:
    return SearchDelivery(
        db=node.db,
        clock=node.clock,
        identity=node.governance.sealer,
        credential_scope=node.children.credential_scope,
    )


def ask_of(body: CrossSearchAsk) -> SearchAsk:
    subject = body.plate if body.subject_kind == "plate" else body.id_number
    return SearchAsk(
        subject_kind=body.subject_kind,
        subject=subject,
        case_number=body.case_number,
        reason=body.reason,
        since=body.since,
        until=body.until,
        node_id=body.node_id or None,
        expires_in_minutes=body.expires_in_minutes,
    )


def search_json(search: CrossSearchRead, *, rows: bool) -> dict[str, Any]:
    answers = [answer_json(answer) for answer in search.answers]
    if not rows:
        for answer in answers:
            answer.pop("rows")
    return {
        "id": search.id,
        "subject_kind": search.subject_kind,
        "subject_masked": search.subject_masked,
        "case_number": search.case_number,
        "since": search.since.isoformat(),
        "until": search.until.isoformat(),
        "node_id": search.target_node_id,
        "asked_at": search.asked_at.isoformat(),
        "expires_at": search.expires_at.isoformat(),
        "is_open": search.is_open,
        "answers": answers,
    }


@router.post(
    "/searches",
    status_code=201,
    summary="Ask the children for a subject's passages, for a case (跨区域研判)",
    responses=error_responses(400, 404),
)
def ask_children(context: Context, body: CrossSearchAsk) -> dict[str, Any]:
    """Needs a case number of your jurisdiction and a reason (400 naming the missing field;
    404 for a case not of your jurisdiction); a child outside your jurisdiction is 403.
    Audited (`cascade.search.ask`). The answer lists each child asked, status `pending`."""
    return search_json(cross_search_service(context).ask(ask_of(body)), rows=False)


@router.get("/searches", summary="Your cross-node searches, newest first, with each child's status")
def list_searches(context: Context) -> list[dict[str, Any]]:
    return [search_json(s, rows=False) for s in cross_search_service(context).list_mine()]


@router.get(
    "/searches/{request_id}",
    summary="One of your cross-node searches with the children's answers (audited)",
    responses=error_responses(404),
)
def read_search(
    context: Context,
    request_id: str,
    node_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Each child's status (`pending`, `answered` with its passages, `refused` with its
    reason, `timed_out`), identifiers masked; every read is audited (`cascade.search.read`)."""
    if len(request_id) > 64:
        raise BadRequestError("a request id has at most 64 characters", field="request_id")
    return search_json(cross_search_service(context).read(request_id, node_id), rows=True)


@router.get(
    "/search-requests",
    summary="A child fetches the search requests waiting for its answer (node credential)",
    responses=error_responses(400),
)
async def pending_searches(
    node: NodeDep,
    user: UserDep,
    node_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    """Each request signed for the credential that fetches it (docs/cascade.md)."""
    pending = await anyio.to_thread.run_sync(lambda: delivery(node).pending_for(node_id, user))
    return Response(ENCODER.encode(pending), media_type=CONTENT_TYPE)


@router.post(
    "/search-answers",
    summary="A child answers a search request: its passages, or its refusal (node credential)",
    responses=error_responses(400, 404, 409, 413, 415),
)
async def answer_search(request: Request, node: NodeDep, user: UserDep) -> dict[str, str]:
    answer = _decoded(ANSWER_DECODER, await _msgpack_body(request, node))
    status = await anyio.to_thread.run_sync(lambda: delivery(node).take_answer(answer, user))
    return {"status": status}
