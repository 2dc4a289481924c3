"""Devices changed by another process reach a running node's intake without a restart."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from tests.ingest.conftest import bearer
from tests.ingest.factories import MASTER_DATA, access_event
from zhian.config import Settings
from zhian.db.engine import Database, make_engine
from zhian.devices.service import DeviceService
from zhian.ingest.events import AccessEvent, Subject
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService


def another_process(settings: Settings) -> Database:
    """A connection of its own, as a CLI import in another process would have."""
    return Database(make_engine(settings.database_url))


def door(device_id: str) -> dict[str, object]:
    [template] = [row for row in MASTER_DATA["devices"] if row["id"] == "DOOR1"]
    return {**template, "id": device_id, "gateway_id": None}


def submit(node: Node, device_id: str, event_id: str, at: datetime) -> str:
    event = AccessEvent(
        id=event_id,
        device_id=device_id,
        time=at,
        subject=Subject(kind="resident", ref="R0001"),
        direction="in",
        method="card",
        result="granted",
    )
    result = node.intake.submit_events([event], source="test")
    return result.items[0].status


def test_a_device_imported_elsewhere_is_accepted_at_its_first_event(
    node: Node, tokens: dict[str, str], settings: Settings, clock: ManualClock
) -> None:
    db = another_process(settings)
    with db.session() as session:
        assert RegistryService(session).load_rows("devices", [door("NEW1")]).rejected == 0
    assert submit(node, "NEW1", "n1", clock.now()) == "accepted"
    db.dispose()


def test_a_device_enabled_or_disabled_elsewhere_is_seen(
    node: Node, tokens: dict[str, str], settings: Settings, clock: ManualClock
) -> None:
    assert submit(node, "OFF1", "o1", clock.now()) == "rejected"  # disabled in the fixture
    db = another_process(settings)
    with db.session() as session:
        DeviceService(session).set_enabled("OFF1", True)
    assert submit(node, "OFF1", "o2", clock.now()) == "accepted"
    with db.session() as session:
        DeviceService(session).set_enabled("OFF1", False)
    # A disabled device raises no miss; the periodic reload (or a restart) sees it.
    node.refresh_directory()
    assert submit(node, "OFF1", "o3", clock.now()) == "rejected"
    db.dispose()


def test_an_unknown_device_stays_unknown_without_a_reload(
    node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    before = node.directory.current
    assert submit(node, "NOPE", "x1", clock.now()) == "rejected"
    assert node.directory.current is before  # looked up, found nothing, nothing reloaded


def test_a_token_issued_elsewhere_authenticates_at_once(
    node: Node,
    client: TestClient,
    tokens: dict[str, str],
    settings: Settings,
    clock: ManualClock,
) -> None:
    db = another_process(settings)
    with db.session() as session:
        assert RegistryService(session).load_rows("devices", [door("NEW2")]).rejected == 0
        token = DeviceService(session).issue_token("NEW2", now=clock.now())
    db.dispose()
    response = client.post(
        "/api/v1/events",
        json=access_event("t1", clock.now(), device_id="NEW2"),
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    stale = client.post(
        "/api/v1/events", json=access_event("t2", clock.now()), headers=bearer("not-a-token")
    )
    assert stale.status_code == 401
