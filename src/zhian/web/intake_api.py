"""Native intake endpoints: events and images, for devices holding a token."""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from zhian.errors import BadRequestError, PayloadTooLargeError
from zhian.ingest.native.framing import media_type, split_body
from zhian.ingest.validate import FieldError
from zhian.node import Node
from zhian.web.deps import authenticate_device, node_dependency, read_bounded_body
from zhian.web.openapi_errors import error_responses

# Devices authenticate by their own token (zhian.web.deps), not by a session: no 403.
router = APIRouter(
    prefix="/api/v1",
    tags=["intake"],
    responses=error_responses(401, described={401: "Missing or unknown device token"}),
)

_JSON = "application/json"


@router.post(
    "/events",
    summary="Submit events (one JSON object, a JSON array, or NDJSON)",
    responses={
        200: {"description": "Per-item outcome: accepted, duplicate or rejected with reasons"},
        **error_responses(
            400,
            413,
            415,
            described={
                400: "The body is not JSON at all, or holds no events",
                413: "Body or batch too large",
                415: "Neither JSON (application/json) nor NDJSON (application/x-ndjson)",
            },
        ),
    },
)
async def submit_events(
    request: Request,
    node: Annotated[Node, Depends(node_dependency)],
    sender_id: Annotated[str, Depends(authenticate_device)],
) -> Response:
    settings = node.settings.intake
    content_type = request.headers.get("content-type")
    body = await read_bounded_body(request, settings.max_body_bytes)
    try:
        framed = split_body(body, content_type)
    except BadRequestError as exc:
        node.intake.quarantine_whole(
            body,
            source="native",
            sender_id=sender_id,
            content_type=media_type(content_type),
            error=FieldError(exc.field or "body", exc.message),
        )
        raise
    if len(framed.items) > settings.max_batch_items:
        raise PayloadTooLargeError(
            f"{len(framed.items)} events in one request; the limit is {settings.max_batch_items}",
            field="body",
        )
    result = await node.intake.submit_raw_async(
        framed.items,
        source="native",
        sender_id=sender_id,
        content_type=media_type(content_type),
        decoded=framed.events,
    )
    if framed.lines:
        result = msgspec.structs.replace(
            result,
            items=[
                msgspec.structs.replace(item, line=framed.lines[item.index])
                for item in result.items
            ],
        )
    return Response(msgspec.json.encode(result), media_type=_JSON)


@router.post(
    "/images",
    summary="Upload a JPEG or PNG image; returns the reference events carry",
    status_code=201,
    responses=error_responses(
        400,
        413,
        415,
        described={
            400: "The body is not the image its content type declares",
            413: "Image larger than images.max_bytes",
            415: "Not image/jpeg or image/png",
        },
    ),
)
async def upload_image(
    request: Request,
    node: Annotated[Node, Depends(node_dependency)],
    _sender_id: Annotated[str, Depends(authenticate_device)],
) -> Response:
    body = await read_bounded_body(request, node.settings.images.max_bytes)
    # Off the event loop: checking a picture of up to images.max_pixels takes a while.
    ref = await run_in_threadpool(node.images.save, body, request.headers.get("content-type"))
    return Response(msgspec.json.encode({"ref": ref}), media_type=_JSON, status_code=201)
