"""`GET /api/v1/live`: the alerts live feed as server-sent events, for every page.

Each message goes out as `event: <first segment of its type>` ("alert", "procedure",
"incident", "feed") with the whole `LiveMessage` as JSON data, so a page can listen to
one name (`hx-trigger="sse:alert"`) and still tell `alert.created` from `alert.transition`.
A user sees only messages about alerts of their jurisdiction scope.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import LiveMessage
from zhian.node import Node
from zhian.web.deps import Context
from zhian.web.openapi_errors import error_responses

router = APIRouter(tags=["live"], responses=error_responses(401, 403))

# Reconnect delay the browser uses after the stream drops.
RETRY_MILLISECONDS = 3000


def is_visible(message: LiveMessage, scope: JurisdictionScope) -> bool:
    """Whether a user of `scope` may see `message`: the repositories' rule
    (`JurisdictionScope.contains_alert`) applied to a message already in hand."""
    if scope.is_unscoped or message.type.startswith("feed."):
        return True
    if message.alert is not None:
        return scope.contains_alert(
            message.alert.jurisdiction_id, message.alert.escalated_to_jurisdiction_id
        )
    supervisor = message.data.get("supervisor_jurisdiction_id")
    return isinstance(supervisor, str) and scope.contains(supervisor)


def sse_frame(message: LiveMessage) -> str:
    """One server-sent event; the JSON has no raw newlines, so it fits one `data:` line."""
    return f"event: {message.type.split('.', 1)[0]}\ndata: {message.model_dump_json()}\n\n"


async def live_stream(
    node: Node, scope: JurisdictionScope, keepalive_seconds: float
) -> AsyncIterator[str]:
    subscription = node.live_feed.subscribe()
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n: connected\n\n"
        while True:
            try:
                message = await asyncio.wait_for(anext(subscription), keepalive_seconds)
            except TimeoutError:
                yield ": keep-alive\n\n"  # keeps proxies from closing an idle stream
                continue
            except StopAsyncIteration:
                return
            if is_visible(message, scope):
                yield sse_frame(message)
    finally:
        subscription.close()


@router.get(
    "/api/v1/live",
    summary="Live feed of alert messages (server-sent events) for the user's jurisdiction",
    response_class=StreamingResponse,
)
def live(context: Context) -> StreamingResponse:
    node = context.node
    return StreamingResponse(
        live_stream(node, context.scope, node.settings.pages.live_keepalive_seconds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
