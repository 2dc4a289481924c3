"""GA/T 1400 (视图库) routes under /VIID for devices, lower platforms and subscribers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio.to_thread
import msgspec
from fastapi import APIRouter, Depends, Request, Response

from zhian.ingest.viid.objects import KINDS, ObjectKind
from zhian.ingest.viid.service import ViidReply
from zhian.ingest.viid.wire import CONTENT_TYPE
from zhian.node import Node
from zhian.web.deps import node_dependency, read_bounded_body

router = APIRouter(prefix="/VIID", tags=["GA/T 1400"])
NodeDep = Annotated[Node, Depends(node_dependency)]


def _respond(reply: ViidReply) -> Response:
    content = b"" if reply.body is None else msgspec.json.encode(reply.body)
    return Response(
        content, status_code=reply.status, media_type=CONTENT_TYPE, headers=reply.headers
    )


async def _body(request: Request, node: Node) -> bytes:
    return await read_bounded_body(request, node.settings.intake.max_body_bytes)


def _identify(request: Request) -> str | None:
    value = request.headers.get("user-identify")
    return value.strip() if value else None


@router.post("/System/Register", summary="Register (Digest: 401 challenge, then 200)")
async def register(request: Request, node: NodeDep) -> Response:
    body = await _body(request, node)
    remote = request.client.host if request.client else ""
    reply = await anyio.to_thread.run_sync(
        lambda: node.viid.service.register(
            authorization=request.headers.get("authorization"),
            body=body,
            content_type=request.headers.get("content-type"),
            path=request.url.path,
            remote=remote,
        )
    )
    return _respond(reply)


@router.post("/System/Keepalive", summary="Keepalive: refreshes the session, feeds a heartbeat")
async def keepalive(request: Request, node: NodeDep) -> Response:
    body = await _body(request, node)
    reply = await anyio.to_thread.run_sync(
        lambda: node.viid.service.keepalive(
            user_identify=_identify(request),
            body=body,
            content_type=request.headers.get("content-type"),
            path=request.url.path,
        )
    )
    return _respond(reply)


@router.post("/System/UnRegister", summary="Unregister: ends the session")
async def unregister(request: Request, node: NodeDep) -> Response:
    body = await _body(request, node)
    reply = node.viid.service.unregister(
        user_identify=_identify(request),
        body=body,
        content_type=request.headers.get("content-type"),
        path=request.url.path,
    )
    return _respond(reply)


# One operation per method: a shared route would give both the same OpenAPI operation id.
@router.get("/System/Time", summary="System time (校时)", operation_id="viid_system_time_get")
@router.post("/System/Time", summary="System time (校时)", operation_id="viid_system_time_post")
async def system_time(node: NodeDep) -> Response:
    return _respond(ViidReply(200, node.viid.service.system_time()))


def _uploader(kind: ObjectKind) -> Callable[[Request, Node], Awaitable[Response]]:
    async def upload(request: Request, node: NodeDep) -> Response:
        body = await _body(request, node)
        sender = node.viid.service.session_of(_identify(request), request.url.path)
        if isinstance(sender, ViidReply):
            return _respond(sender)
        reply = await anyio.to_thread.run_sync(
            lambda: node.viid.service.upload(
                kind,
                sender=sender,
                body=body,
                content_type=request.headers.get("content-type"),
                path=request.url.path,
            )
        )
        return _respond(reply)

    upload.__name__ = f"upload_{kind.path.lower()}"
    return upload


def _querier(kind: ObjectKind) -> Callable[[Request, Node], Awaitable[Response]]:
    async def query(request: Request, node: NodeDep) -> Response:
        sender = node.viid.service.session_of(_identify(request), request.url.path)
        if isinstance(sender, ViidReply):
            return _respond(sender)
        raw = request.url.query
        reply = await anyio.to_thread.run_sync(
            lambda: node.viid.service.query(kind, raw, request.url.path, requester=sender)
        )
        return _respond(reply)

    query.__name__ = f"list_{kind.path.lower()}"
    return query


for _kind in KINDS.values():
    router.add_api_route(
        f"/{_kind.path}",
        _uploader(_kind),
        methods=["POST"],
        summary=f"Upload {_kind.wrapper}",
    )
    router.add_api_route(
        f"/{_kind.path}",
        _querier(_kind),
        methods=["GET"],
        summary=f"Query {_kind.path} (both query syntaxes, paged)",
    )


@router.post("/Images", summary="Upload ImageListObject (pictures and their objects)")
async def upload_images(request: Request, node: NodeDep) -> Response:
    body = await _body(request, node)
    sender = node.viid.service.session_of(_identify(request), request.url.path)
    if isinstance(sender, ViidReply):
        return _respond(sender)
    reply = await anyio.to_thread.run_sync(
        lambda: node.viid.service.upload_images(
            sender=sender,
            body=body,
            content_type=request.headers.get("content-type"),
            path=request.url.path,
        )
    )
    return _respond(reply)


@router.get("/APEs", summary="Collection devices (APEListObject)")
async def list_apes(request: Request, node: NodeDep) -> Response:
    sender = node.viid.service.session_of(_identify(request), request.url.path)
    if isinstance(sender, ViidReply):
        return _respond(sender)
    return _respond(await anyio.to_thread.run_sync(node.viid.service.apes, sender))


async def _subscriber(request: Request, node: Node) -> str | Response:
    who = _identify(request)
    if who is None or not node.viid.subscriptions.may_subscribe(who):
        reply = node.viid.service.session_of(who, request.url.path)
        if isinstance(reply, ViidReply):
            return _respond(reply)
    return who or ""


@router.post(
    "/Subscribes", summary="Subscribe, modify or cancel", operation_id="viid_subscribes_post"
)
@router.put(
    "/Subscribes", summary="Subscribe, modify or cancel", operation_id="viid_subscribes_put"
)
async def post_subscribes(request: Request, node: NodeDep) -> Response:
    body = await _body(request, node)
    who = await _subscriber(request, node)
    if isinstance(who, Response):
        return who
    reply = await anyio.to_thread.run_sync(
        lambda: node.viid.subscriptions.post(
            subscriber=who,
            body=body,
            content_type=request.headers.get("content-type"),
            path=request.url.path,
        )
    )
    return _respond(reply)


@router.put("/Subscribes/{subscription_id}", summary="Modify or cancel one subscription")
async def put_subscribe(subscription_id: str, request: Request, node: NodeDep) -> Response:
    body = await _body(request, node)
    who = await _subscriber(request, node)
    if isinstance(who, Response):
        return who
    reply = await anyio.to_thread.run_sync(
        lambda: node.viid.subscriptions.put_one(
            subscription_id,
            subscriber=who,
            body=body,
            content_type=request.headers.get("content-type"),
            path=request.url.path,
        )
    )
    return _respond(reply)


@router.delete("/Subscribes", summary="Delete subscriptions (?IDList=a,b)")
async def delete_subscribes(request: Request, node: NodeDep) -> Response:
    who = await _subscriber(request, node)
    if isinstance(who, Response):
        return who
    id_list = request.query_params.get("IDList", "")
    reply = await anyio.to_thread.run_sync(
        lambda: node.viid.subscriptions.delete(id_list, request.url.path)
    )
    return _respond(reply)
