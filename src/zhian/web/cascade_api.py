"""The hierarchy's routes (docs/cascade.md): children deliver here with a node credential,
parent users read their children's alerts and links within their scope."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, TypeVar

import anyio.to_thread
import msgspec
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from zhian.access.service import UserRead
from zhian.cascade.service import ChildReadService
from zhian.cascade.wire import (
    BATCH_DECODER,
    CONTENT_TYPE,
    ENCODER,
    HELLO_DECODER,
    KPI_REPORT_DECODER,
    LINK_STATUS_DECODER,
    OVERRIDES_DECODER,
    HelloAck,
)
from zhian.errors import BadRequestError, UnsupportedMediaTypeError
from zhian.node import Node
from zhian.web.auth import current_user
from zhian.web.deps import Context, node_dependency, read_bounded_body
from zhian.web.openapi_errors import error_responses
from zhian.web.page_cache import page_cache_of

router = APIRouter(
    prefix="/api/v1/cascade",
    tags=["cascade"],
    dependencies=[Depends(current_user)],
    responses=error_responses(401, 403),
)

T = TypeVar("T")
NodeDep = Annotated[Node, Depends(node_dependency)]
UserDep = Annotated[UserRead, Depends(current_user)]


async def _msgpack_body(request: Request, node: Node) -> bytes:
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media != CONTENT_TYPE:
        raise UnsupportedMediaTypeError(
            f"send the batch as {CONTENT_TYPE}, not '{media or 'nothing'}'", field="Content-Type"
        )
    return await read_bounded_body(request, node.settings.intake.max_body_bytes)


def _decoded(decoder: msgspec.msgpack.Decoder[T], body: bytes) -> T:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise BadRequestError(f"the body is not valid: {exc}", field="body") from exc
    except msgspec.DecodeError as exc:
        raise BadRequestError(f"the body is not msgpack: {exc}", field="body") from exc


def _delivered(request: Request) -> None:
    """A child's delivery changed what the parent's pages show (its alerts, link, KPIs):
    forget the answers this process keeps, as a commit of its own would. The delivery
    sends no live message, so other web processes of the parent show it within
    `pages.figures_cache_seconds`."""
    cache = page_cache_of(request)
    if cache is not None:
        cache.note_write()


@router.post(
    "/hello",
    summary="A child node registers (again) with this node",
    responses=error_responses(400, 413, 415),
)
async def hello(request: Request, node: NodeDep, user: UserDep) -> Response:
    body = _decoded(HELLO_DECODER, await _msgpack_body(request, node))
    at = await anyio.to_thread.run_sync(lambda: node.children.hello(body.node_id, user))
    _delivered(request)
    answer = ENCODER.encode(HelloAck(node_id=body.node_id, parent_time=at))
    return Response(answer, media_type=CONTENT_TYPE)


@router.post(
    "/batches",
    summary="A child node delivers a batch (events, alert changes, online summaries)",
    responses=error_responses(400, 413, 415),
)
async def deliver_batch(request: Request, node: NodeDep, user: UserDep) -> Response:
    """Everything in the batch must lie in the node credential's jurisdiction (403 naming
    the part otherwise, and nothing is stored). The answer comes once it is durable."""
    batch = _decoded(BATCH_DECODER, await _msgpack_body(request, node))

    ack = await anyio.to_thread.run_sync(lambda: node.children.apply(batch, user))
    _delivered(request)
    return Response(ENCODER.encode(ack), media_type=CONTENT_TYPE)


@router.get(
    "/orders",
    summary="Watchlist orders in force over the child (布控下发), withdrawn ones too (撤控)",
    responses=error_responses(400),
)
async def list_orders(
    node: NodeDep,
    user: UserDep,
    node_id: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    """For the node credential's jurisdiction: entries issued there, above and below it.
    The identifiers travel in the clear to the child, which seals them with its keys."""

    orders_in_force = await anyio.to_thread.run_sync(
        lambda: node.children.orders_for(node_id, user)
    )
    return Response(ENCODER.encode(orders_in_force), media_type=CONTENT_TYPE)


@router.post(
    "/overrides",
    summary="A child node reports the parameter presets it keeps its own value for",
    responses=error_responses(400, 413, 415),
)
async def report_overrides(request: Request, node: NodeDep, user: UserDep) -> dict[str, int]:
    """The set replaces the one the child reported before; every item must be of a
    community in the node credential's jurisdiction (403 naming it otherwise)."""
    report = _decoded(OVERRIDES_DECODER, await _msgpack_body(request, node))
    count = await anyio.to_thread.run_sync(lambda: node.children.report_overrides(report, user))
    _delivered(request)
    return {"overrides": count}


@router.post(
    "/status",
    summary="A child node reports its side of the link (cache depth, back-fill progress)",
    responses=error_responses(400, 413, 415),
)
async def report_status(request: Request, node: NodeDep, user: UserDep) -> dict[str, str]:
    status = _decoded(LINK_STATUS_DECODER, await _msgpack_body(request, node))
    at = await anyio.to_thread.run_sync(lambda: node.children.report_status(status, user))
    _delivered(request)
    return {"received_at": at.isoformat()}


@router.post(
    "/kpis",
    summary="A child node delivers its hourly KPI summaries (per community and hour)",
    responses=error_responses(400, 413, 415),
)
async def deliver_kpis(request: Request, node: NodeDep, user: UserDep) -> dict[str, int]:
    """Every summary must be of a community in the node credential's jurisdiction (403
    naming it otherwise, nothing stored); one sent again replaces the one before."""
    report = _decoded(KPI_REPORT_DECODER, await _msgpack_body(request, node))
    count = await anyio.to_thread.run_sync(lambda: node.children.report_kpis(report, user))
    _delivered(request)
    return {"summaries": count}


@router.get("/overrides", summary="Parameter presets the children of the jurisdiction override")
def list_overrides(context: Context) -> list[dict[str, Any]]:
    return [
        asdict(item) for item in ChildReadService(context.session).overrides(scope=context.scope)
    ]


@router.get(
    "/procedure-overrides",
    summary="Response procedures the children of the jurisdiction keep their own steps for",
)
def list_procedure_overrides(context: Context) -> list[dict[str, Any]]:
    reads = ChildReadService(context.session).procedure_overrides(scope=context.scope)
    return [asdict(item) for item in reads]


@router.get("/children", summary="Child nodes of the jurisdiction and their last contact")
def list_children(context: Context) -> list[dict[str, Any]]:
    return [
        asdict(child) for child in ChildReadService(context.session).children(scope=context.scope)
    ]


@router.get("/alerts", summary="State changes of children's alerts in the jurisdiction")
def list_child_alerts(
    context: Context,
    node_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    changes = ChildReadService(context.session).alert_changes(
        scope=context.scope, node_id=node_id, limit=limit
    )
    return [asdict(change) for change in changes]
