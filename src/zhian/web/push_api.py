"""Web Push subscriptions of the signed-in user's browsers (docs/phone.md): the node's
VAPID public key to subscribe with, and keeping or removing a subscription."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from zhian.alerts.push import PushNotifier, PushService, application_server_key
from zhian.errors import NotFoundError
from zhian.node import Node
from zhian.web.auth import current_user
from zhian.web.deps import Context
from zhian.web.openapi_errors import error_responses

router = APIRouter(
    prefix="/api/v1/push",
    tags=["push"],
    dependencies=[Depends(current_user)],
    responses=error_responses(401, 403),
)


class SubscriptionKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")

    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class SubscriptionRequest(BaseModel):
    """A browser's `PushSubscription.toJSON()`."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=1, max_length=1000)
    keys: SubscriptionKeys


class EndpointRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(min_length=1, max_length=1000)


def _notifier(node: Node) -> PushNotifier:
    notifier = node.alert_loop.push
    if notifier is None:
        raise NotFoundError("Web Push is off on this node (push.enabled)", field="push")
    return notifier


def _service(context: Context) -> PushService:
    node = context.node
    return PushService(context.session, clock=node.clock, settings=node.settings.push)


@router.get(
    "/key", summary="The VAPID public key a browser subscribes with", responses=error_responses(404)
)
def vapid_key(context: Context) -> JSONResponse:
    vapid = _notifier(context.node).vapid
    return JSONResponse({"public_key": application_server_key(vapid)})


@router.post(
    "/subscriptions",
    summary="Keep this browser's push subscription for the signed-in user",
    status_code=201,
    responses=error_responses(400, 404),
)
def subscribe(context: Context, body: SubscriptionRequest) -> JSONResponse:
    _notifier(context.node)
    kept = _service(context).subscribe(
        context.user.id, body.endpoint, body.keys.p256dh, body.keys.auth
    )
    return JSONResponse(kept.model_dump(mode="json"), status_code=201)


@router.post(
    "/subscriptions/remove",
    summary="Stop pushing to this browser",
    responses=error_responses(400),
)
def unsubscribe(context: Context, body: EndpointRequest) -> JSONResponse:
    removed = _service(context).unsubscribe(context.user.id, body.endpoint)
    return JSONResponse({"removed": removed})
