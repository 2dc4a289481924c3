"""The live feed and signed webhooks, against a real HTTP receiver on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from sqlalchemy import text

from tests.alerts.factories import Users, draft
from zhian.access.scope import JurisdictionScope
from zhian.alerts.live import MemoryLiveFeed
from zhian.alerts.schemas import LiveMessage
from zhian.alerts.webhooks import SIGNATURE_HEADER
from zhian.kit.clock import ManualClock
from zhian.node import Node

SECRET = "s3cret-for-the-receiver"


def test_live_feed_delivers_what_a_committed_block_did(node: Node, users: Users) -> None:
    async def scenario() -> list[LiveMessage]:
        subscription = node.live_feed.subscribe()
        received: list[LiveMessage] = []

        def act() -> None:
            with node.alerts() as alerts:
                alert_id = alerts.raise_drafts([draft(node.clock.now())])[0]
            with node.alerts() as alerts:
                alerts.sign(alert_id, scope=JurisdictionScope.unscoped(), user_id=users.officer)

        await asyncio.to_thread(act)
        async for message in subscription:
            received.append(message)
            if len(received) == 2:
                subscription.close()
        return received

    messages = asyncio.run(asyncio.wait_for(scenario(), timeout=10))
    assert [m.type for m in messages] == ["alert.created", "alert.transition"]
    assert messages[1].data["to_state"] == "signed" and messages[1].alert is not None
    assert messages[1].alert.state == "signed"


def test_nothing_is_published_when_the_block_fails(node: Node) -> None:
    feed_before = node.live_feed.published
    with pytest.raises(RuntimeError), node.alerts() as alerts:
        alerts.raise_drafts([draft(node.clock.now())])
        raise RuntimeError("the request failed")
    assert node.live_feed.published == feed_before
    with node.alerts() as alerts:
        assert alerts.list_alerts(scope=JurisdictionScope.unscoped()).total == 0


def test_a_slow_subscriber_loses_the_oldest_and_is_told(clock: ManualClock) -> None:
    feed = MemoryLiveFeed(clock, capacity=3)

    async def scenario() -> list[str]:
        subscription = feed.subscribe()
        for n in range(5):
            feed.publish(LiveMessage(type=f"m{n}", at=clock.now()))
        await asyncio.sleep(0)
        out = [(await subscription.__anext__()).type for _ in range(4)]
        subscription.close()
        return out

    assert asyncio.run(scenario()) == ["feed.overflow", "m2", "m3", "m4"]


class _Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[tuple[bytes, str]]] = []
    failures_left = 2

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        if cls.failures_left > 0:
            cls.failures_left -= 1
            self.send_response(503)
        else:
            cls.bodies.append((body, self.headers[SIGNATURE_HEADER]))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.bodies, _Receiver.failures_left = [], 2
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_is_signed_and_retried_with_back_off(
    node: Node, clock: ManualClock, receiver: str
) -> None:
    with node.alerts() as alerts:
        subscription = alerts.webhooks.subscribe(receiver, SECRET, kinds=["alarm_intrusion"])
    with node.alerts() as alerts:
        alerts.raise_drafts([draft(clock.now())])
        alerts.raise_drafts([draft(clock.now(), kind="device_offline", subject="other")])
    worker = node.alert_loop.webhook_worker
    assert worker.deliver_due() == (0, 1)  # 503
    assert worker.deliver_due() == (0, 0)  # not due yet: back-off 1 s
    clock.advance(timedelta(seconds=1))
    assert worker.deliver_due() == (0, 1)  # 503 again; next pause 2 s
    clock.advance(timedelta(seconds=1))
    assert worker.deliver_due() == (0, 0)
    clock.advance(timedelta(seconds=1))
    assert worker.deliver_due() == (1, 0)
    with node.alerts() as alerts:
        [delivery] = alerts.webhooks.deliveries(subscription.id)  # the offline alert is filtered
    assert delivery.status == "delivered" and delivery.attempts == 3
    [(body, signature)] = _Receiver.bodies
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert json.loads(body)["type"] == "alert.created"


def test_webhook_gives_up_after_the_last_attempt(node: Node, clock: ManualClock) -> None:
    with node.alerts() as alerts:
        # Nothing listens on port 9 of loopback: every attempt fails to connect.
        subscription = alerts.webhooks.subscribe("http://127.0.0.1:9/hook", SECRET)
        alerts.raise_drafts([draft(clock.now())])
    for _ in range(node.settings.alerts.webhook_max_attempts):
        node.alert_loop.webhook_worker.deliver_due()
        clock.advance(timedelta(minutes=10))
    with node.alerts() as alerts:
        [delivery] = alerts.webhooks.deliveries(subscription.id)
    assert delivery.status == "failed" and delivery.attempts == 8
    assert delivery.last_error is not None


def test_subscription_input_is_checked(node: Node) -> None:
    from zhian.errors import BadRequestError

    with pytest.raises(BadRequestError) as bad_url, node.alerts() as alerts:
        alerts.webhooks.subscribe("ftp://127.0.0.1/x", SECRET)
    assert bad_url.value.field == "url"
    with pytest.raises(BadRequestError) as short, node.alerts() as alerts:
        alerts.webhooks.subscribe("http://127.0.0.1/x", "short")
    assert short.value.field == "secret"


def test_webhook_messages_are_sealed_at_rest_and_posted_as_written(
    node: Node, clock: ManualClock, users: Users, receiver: str
) -> None:
    # What an officer types can name a person and a phone: a skipped step's reason goes
    # into the webhook message. The queue holds it sealed; the receiver gets it whole.
    reason = "住户王小明（13912345678）不在家，无法入户"
    _Receiver.failures_left = 0
    with node.alerts() as alerts:
        alerts.webhooks.subscribe(receiver, SECRET)
    with node.alerts() as alerts:
        [alert_id] = alerts.raise_drafts([draft(clock.now(), kind="alarm_fire")])
        alerts.tick_step(
            alert_id,
            "evacuate",
            scope=JurisdictionScope.unscoped(),
            user_id=users.command,
            skipped=True,
            reason=reason,
        )
    with node.db.engine.connect() as connection:
        stored = b"".join(
            value if isinstance(value, bytes) else str(value).encode()
            for row in connection.execute(text("SELECT * FROM webhook_deliveries"))
            for value in row
        )
    assert stored and "王小明".encode() not in stored and b"13912345678" not in stored
    assert node.alert_loop.webhook_worker.deliver_due() == (2, 0)
    skipped = [json.loads(body) for body, _signature in _Receiver.bodies]
    assert [m["type"] for m in skipped] == ["alert.created", "procedure.skipped"]
    assert skipped[1]["data"]["reason"] == reason
