"""The live feed as server-sent events: framing, keep-alive, and the user's jurisdiction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import pytest

from tests.web.conftest import alarm_event, submit
from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import LiveMessage
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.live import live_stream

pytestmark = pytest.mark.anyio


def scope_at(node: Node, jurisdiction_id: str) -> JurisdictionScope:
    """The scope of a station officer placed at `jurisdiction_id` (the subtree)."""
    with node.alerts() as alerts:
        tree = alerts.tree
    return JurisdictionScope.build(
        role=Role.STATION_OFFICER,
        jurisdiction_id=jurisdiction_id,
        parents=tree.parents,
        community_jurisdiction=tree.community_jurisdiction,
    )


async def next_frame(stream: AsyncIterator[str], timeout_seconds: float = 10.0) -> str:
    with anyio.fail_after(timeout_seconds):
        return await anext(stream)


async def next_event(stream: AsyncIterator[str]) -> tuple[str, dict[str, object]]:
    """The next real event, past keep-alive comments."""
    while True:
        frame = await next_frame(stream)
        if frame.startswith(":"):
            continue
        name, data = frame.rstrip("\n").split("\n")
        assert name.startswith("event: ") and data.startswith("data: ")
        return name.removeprefix("event: "), json.loads(data.removeprefix("data: "))


async def test_a_new_alert_reaches_the_stream_of_its_jurisdiction(
    node: Node, clock: ManualClock
) -> None:
    stream = live_stream(node, scope_at(node, "J-STATION"), keepalive_seconds=0.05)
    try:
        assert (await next_frame(stream)).startswith("retry: 3000\n")
        assert await next_frame(stream) == ": keep-alive\n\n"  # idle: a comment, no event
        submit(node, alarm_event("live-1", clock.now(), kind="sos"))
        name, message = await next_event(stream)
        assert name == "alert"
        assert message["type"] == "alert.created"
        alert = message["alert"]
        assert isinstance(alert, dict)
        assert alert["kind"] == "alarm_sos" and alert["tier"] == "major"
        assert alert["title_zh"] and alert["jurisdiction_id"] == "J-STATION"
    finally:
        await stream.aclose()
    assert node.live_feed.subscriber_count == 0


async def test_messages_outside_the_jurisdiction_are_held_back(
    node: Node, clock: ManualClock
) -> None:
    outsider = live_stream(node, scope_at(node, "J-OTHER"), keepalive_seconds=0.05)
    city = live_stream(node, scope_at(node, "J-CITY"), keepalive_seconds=0.05)
    try:
        await next_frame(outsider)
        await next_frame(city)
        submit(node, alarm_event("live-2", clock.now(), kind="fire"))
        name, message = await next_event(city)  # the parent jurisdiction sees it
        assert (name, message["type"]) == ("alert", "alert.created")
        node.live_feed.publish(LiveMessage(type="feed.overflow", at=clock.now(), data={"n": 1}))
        name, message = await next_event(outsider)  # the fire never reached the outsider
        assert (name, message["type"]) == ("feed", "feed.overflow")
    finally:
        await outsider.aclose()
        await city.aclose()
