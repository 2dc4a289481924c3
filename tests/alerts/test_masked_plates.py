"""Watchlist hits carry masked identifiers and tokens: in the database, the live feed and
webhooks, on both backends. The clear plate is looked for in the bytes each one holds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.alerts.factories import Users, load_place
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter, LiveMessage
from zhian.alerts.webhooks import WebhookService, WebhookWorker
from zhian.config import load_settings
from zhian.ingest.events import Event, FaceEvent, Subject, VehicleEvent
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.watchlists.schemas import WatchlistEntryCreate

PLATE = "浙A12345"
MASKED = "浙A***45"
SUBJECT_REF = "R0012345"
SECRET = "s3cret-for-the-receiver"


@pytest.fixture
def node(database_url: str, workspace: Path, clock: ManualClock) -> Iterator[Node]:
    """The alert test node, on SQLite and on PostgreSQL."""
    settings = load_settings(workspace, log={"fsync": False}, database={"url": database_url})
    with Node.open(settings, clock, feed=False) as opened:
        load_place(opened, now=clock.now())
        yield opened


def _watch(node: Node, users: Users, clock: ManualClock, **target: str) -> None:
    with node.watchlists() as watchlists:
        watchlists.add(
            WatchlistEntryCreate(
                label="被盗车辆" if "plate" in target else "在逃人员",
                legal_basis_kind="stolen_vehicle" if "plate" in target else "case",  # type: ignore[arg-type]
                legal_basis_ref="CASE-2026-0042",
                jurisdiction_id="J-STN",
                expires_at=clock.now() + timedelta(days=30),
                **target,  # type: ignore[arg-type]
            ),
            user_id=users.officer,
        )
    node.rule_engine.refresh()


def _car(clock: ManualClock, event_id: str = "V1") -> VehicleEvent:
    return VehicleEvent(
        id=event_id,
        device_id="C1-VG1",
        time=clock.now(),
        plate=PLATE,
        plate_color="blue",
        vehicle_class="car",
        direction="in",
    )


def _raise(node: Node, *events: Event) -> list[LiveMessage]:
    """Submit through the intake, run the rules; the live messages that went out."""

    async def scenario() -> list[LiveMessage]:
        subscription = node.live_feed.subscribe()

        def act() -> None:
            result = node.intake.submit_events(list(events), source="test")
            assert result.rejected == 0, result
            node.rule_engine.drain()

        await asyncio.to_thread(act)
        received = []
        async for message in subscription:
            received.append(message)
            if message.type == "alert.created":
                subscription.close()
        return received

    return asyncio.run(asyncio.wait_for(scenario(), timeout=10))


def plain(value: object) -> str:
    """A column value as text, JSON without \\u escapes (SQLite keeps JSON escaped)."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        try:
            return json.dumps(json.loads(value), ensure_ascii=False)
        except ValueError:
            return value
    return str(value)


def _stored_bytes(node: Node) -> bytes:
    """Every row of the alert tables and the webhook queue, as the database returns it."""
    tables = ("alerts", "alert_actions", "webhook_deliveries")
    with node.db.session() as session:
        rows = [
            plain(value)
            for table in tables
            for row in session.execute(text(f"SELECT * FROM {table}"))
            for value in row
        ]
    return "\n".join(rows).encode()


def _delivered(node: Node) -> list[bytes]:
    """What the webhook worker POSTs, caught by a fake transport."""
    bodies: list[bytes] = []

    def receive(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(204)

    @contextmanager
    def webhooks() -> Iterator[WebhookService]:
        with node.db.session() as session:
            yield WebhookService(
                session,
                clock=node.clock,
                settings=node.settings.alerts,
                cipher=node.alert_loop.cipher,
            )

    worker = WebhookWorker(
        webhooks, node.clock, node.settings.alerts, transport=httpx.MockTransport(receive)
    )
    delivered, failed = worker.deliver_due()
    assert failed == 0 and delivered == len(bodies)
    return bodies


def test_a_plate_hit_holds_the_masked_plate_and_a_token_never_the_plate(
    node: Node, users: Users, clock: ManualClock
) -> None:
    with node.alerts() as alerts:
        alerts.webhooks.subscribe("http://receiver.test/hook", SECRET)
    _watch(node, users, clock, target="plate", plate=PLATE)

    pushed = _raise(node, _car(clock))

    stored = _stored_bytes(node)
    assert MASKED.encode() in stored and PLATE.encode() not in stored
    live = b"".join(message.model_dump_json().encode() for message in pushed)
    assert MASKED.encode() in live and PLATE.encode() not in live
    sent = b"".join(_delivered(node))
    assert MASKED.encode() in sent and PLATE.encode() not in sent
    with node.alerts() as alerts:
        [hit] = alerts.list_alerts(
            AlertFilter(kind="watchlist_plate"), scope=JurisdictionScope.unscoped()
        ).items
        detail = alerts.get_alert(hit.id, scope=JurisdictionScope.unscoped())
    figures = detail.evidence.figures
    assert figures["plate_masked"] == MASKED and "plate" not in figures
    assert MASKED in detail.title_zh and MASKED in detail.evidence.explanation_en
    # The token opens the vault (sealed by the rule engine: no store feeder runs here).
    token = figures["plate_token"]
    assert isinstance(token, str) and token.startswith("tok_")
    with node.db.session() as session:
        opened = node.vault.reveal(session, [token])
    assert opened[token].value == PLATE
    # What retention must keep in the vault for as long as the alert is kept.
    with node.alerts() as alerts:
        assert alerts.identifier_tokens() == {token}


def test_a_person_hit_names_the_entry_not_the_subject(
    node: Node, users: Users, clock: ManualClock
) -> None:
    _watch(node, users, clock, target="person", subject_ref=SUBJECT_REF)
    face = FaceEvent(
        id="F1",
        device_id="C1-E1-FACE",
        time=clock.now(),
        quality=0.9,
        subject=Subject(kind="resident", ref=SUBJECT_REF),
    )

    pushed = _raise(node, face)

    with node.alerts() as alerts:
        [hit] = alerts.list_alerts(
            AlertFilter(kind="watchlist_person"), scope=JurisdictionScope.unscoped()
        ).items
        figures = alerts.get_alert(hit.id, scope=JurisdictionScope.unscoped()).evidence.figures
    assert figures["legal_basis_ref"] == "CASE-2026-0042"
    stored = _stored_bytes(node)
    live = b"".join(message.model_dump_json().encode() for message in pushed)
    assert SUBJECT_REF.encode() not in stored and SUBJECT_REF.encode() not in live
