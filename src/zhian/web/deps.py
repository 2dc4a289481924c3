"""Request dependencies shared by routes: the node, device authentication, bounded bodies."""

from __future__ import annotations

from fastapi import Request

from zhian.errors import PayloadTooLargeError, UnauthorizedError
from zhian.node import Node


def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def authenticate_device(request: Request) -> str:
    """The device id behind the request's bearer token; 401 when missing or unknown."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError(
            "send the device token as 'Authorization: Bearer <token>'", field="Authorization"
        )
    device_id = get_node(request).intake.directory.authenticate(token.strip())
    if device_id is None:
        raise UnauthorizedError("the device token is not valid", field="Authorization")
    return device_id


async def read_bounded_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing (413) as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"body is {declared} bytes; the limit is {limit}", field="body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"body exceeds the limit of {limit} bytes", field="body")
        chunks.append(chunk)
    return b"".join(chunks)
