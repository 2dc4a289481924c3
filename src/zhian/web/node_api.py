"""The node's control API: CLI commands on this machine send their log and store work here.

Only a process that can read the workspace's running-node marker (mode 0600, written by
`zhian serve`, `zhian.kit.running`) holds the token these routes ask for; without a
marker (a node not started by `zhian serve`) every route answers 404. Paths in requests
name files on this machine: the CLI and the node share it. Not part of the public API.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import msgspec
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from zhian.errors import BadRequestError, NotFoundError, UnauthorizedError
from zhian.ingest.ferry.package import PackageRejected
from zhian.ingest.json_depth import depth_error
from zhian.kit.running import read_marker
from zhian.node_operations import PACKAGE_REJECTED, InProcessOperations, encode_result
from zhian.web.deps import get_node, read_bounded_body

PREFIX = "/api/v1/node"
RequestT = TypeVar("RequestT")


def operations(request: Request) -> InProcessOperations:
    """The node's operations, for a bearer of the running-node token."""
    node = get_node(request)
    marker = read_marker(node.settings.workspace)
    if marker is None:
        raise NotFoundError("this node takes no control requests", field="path")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not marker.accepts(token.strip()):
        raise UnauthorizedError("the running-node token is not valid", field="Authorization")
    return InProcessOperations(node)


Operations = Annotated[InProcessOperations, Depends(operations)]
router = APIRouter(prefix=PREFIX, include_in_schema=False)


class ReplayRequest(msgspec.Struct, frozen=True):
    ids: list[int] | None = None
    reason_code: str | None = None


class ExportRequest(msgspec.Struct, frozen=True):
    since: datetime
    until: datetime
    out_dir: str


class PathRequest(msgspec.Struct, frozen=True):
    path: str


def _json(result: object) -> Response:
    return Response(encode_result(result), media_type="application/json")


async def _decode(request: Request, wanted: type[RequestT]) -> RequestT:
    body = await request.body()
    # The decoder recurses: a body nested too deep is refused before it is read (#12).
    too_deep = depth_error(body)
    if too_deep is not None:
        raise BadRequestError(too_deep, field="body")
    try:
        return msgspec.json.decode(body, type=wanted)
    except msgspec.DecodeError as exc:
        raise BadRequestError(str(exc), field="body") from None


@router.post("/ingest")
async def ingest(request: Request, ops: Operations, refresh_directory: bool = False) -> Response:
    """NDJSON lines, each one raw event as read from a file."""
    node = get_node(request)
    body = await read_bounded_body(request, node.settings.intake.max_body_bytes)
    items = [line for line in (raw.strip() for raw in body.split(b"\n")) if line]
    counts = await run_in_threadpool(ops.ingest, items, refresh_directory=refresh_directory)
    return _json(counts)


@router.post("/wait-stored")
def wait_stored(ops: Operations, timeout_seconds: Annotated[float, Query(le=600)]) -> Response:
    return _json({"caught_up": ops.wait_stored(timeout_seconds)})


@router.post("/quarantine/replay")
async def replay(request: Request, ops: Operations) -> Response:
    wanted = await _decode(request, ReplayRequest)
    return _json(await run_in_threadpool(ops.replay_quarantine, wanted.ids, wanted.reason_code))


@router.post("/ferry/export")
async def ferry_export(request: Request, ops: Operations) -> Response:
    wanted = await _decode(request, ExportRequest)
    out_dir = Path(wanted.out_dir)
    return _json(await run_in_threadpool(ops.ferry_export, wanted.since, wanted.until, out_dir))


@router.post("/ferry/import")
async def ferry_import(request: Request, ops: Operations) -> Response:
    wanted = await _decode(request, PathRequest)
    try:
        return _json(await run_in_threadpool(ops.ferry_import, Path(wanted.path)))
    except PackageRejected as refused:
        error = {"code": PACKAGE_REJECTED, "message": refused.reason, "field": refused.file}
        return JSONResponse({"error": error}, status_code=422)


@router.post("/ferry/watch-once")
async def ferry_watch_once(request: Request, ops: Operations) -> Response:
    wanted = await _decode(request, PathRequest)
    return _json(await run_in_threadpool(ops.ferry_watch_once, Path(wanted.path)))


@router.post("/retention/apply")
def retention_apply(ops: Operations, dry_run: bool = False) -> Response:
    return _json(ops.apply_retention(dry_run=dry_run))


@router.get("/quality")
def quality(ops: Operations, since: datetime, until: datetime) -> Response:
    return _json(ops.quality_report(since, until))


@router.post("/models/run")
def models_run(
    ops: Operations, model: str | None = None, as_of: datetime | None = None
) -> Response:
    """One run of the batch models over the stored events (`zhian models run`)."""
    return _json(ops.run_models(model, as_of))


@router.post("/directory/refresh")
def refresh_directory(ops: Operations) -> Response:
    """Reload devices: a command changed them in the database (a token rotated)."""
    ops.refresh_directory()
    return _json({"refreshed": True})


@router.get("/devices/{device_id}/check")
def device_check(ops: Operations, device_id: str) -> Response:
    return _json(ops.device_check(device_id))
