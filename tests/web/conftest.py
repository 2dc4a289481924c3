"""A node with a small district slice, users per role and alarm events for the page tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tests.ingest.factories import load_master_data
from tests.web.session import sign_in
from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.alerts.schemas import AlertFilter, AlertSummary
from zhian.config import load_settings
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.web.app import create_app

PASSWORD = "correct horse battery"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
# username -> (role, jurisdiction); J-OTHER is a station beside the one owning the devices.
USERS: dict[str, tuple[str, str | None]] = {
    "command": ("command_centre", "J-CITY"),
    "station": ("station_officer", "J-STATION"),
    "grid": ("grid_worker", "J-STATION"),
    "analyst": ("analyst", "J-CITY"),
    "outsider": ("station_officer", "J-OTHER"),
}


def alarm_event(
    event_id: str, time: datetime, kind: str = "fire", level: int = 2, device_id: str = "DOOR1"
) -> dict[str, Any]:
    return {
        "type": "alarm",
        "id": event_id,
        "device_id": device_id,
        "time": time.isoformat(),
        "kind": kind,
        "level": level,
        "detail": "",
    }


def submit(node: Node, *events: dict[str, Any]) -> None:
    """Events through the one intake path, as a device would send them."""
    result = node.intake.submit_raw(
        [json.dumps(event).encode() for event in events],
        source="native",
        sender_id=None,
        content_type="application/json",
    )
    assert result.accepted == len(events), result.items


def wait_for_alert(node: Node, kind: str) -> AlertSummary:
    """The newest alert of `kind`, once the rule engine has read the log.

    The test drives the engine itself (its thread would take up to a poll interval): what
    the intake acknowledged is durable, so one drain sees it.
    """
    node.rule_engine.drain()
    with node.alerts() as alerts:
        page = alerts.list_alerts(
            AlertFilter(kind=kind), page=1, per_page=1, scope=JurisdictionScope.unscoped()
        )
    assert page.items, f"no {kind} alert after the rule engine read the log"
    return page.items[0]


@pytest.fixture
def node_settings() -> dict[str, Any]:
    """Settings sections a test module overrides (see tests/web/test_stats_pages.py)."""
    return {}


@pytest.fixture
def node(workspace: Path, clock: ManualClock, node_settings: dict[str, Any]) -> Iterator[Node]:
    settings = load_settings(workspace, web={"secret_key": "k" * 40}, **node_settings)
    with Node.open(settings, clock) as opened:
        # load_master_data refreshes the directory, so the running rules place by it.
        load_master_data(opened, now=clock.now())
        with opened.db.session() as session:
            report = RegistryService(session).load_rows(
                "jurisdictions",
                [{"id": "J-OTHER", "parent_id": "J-CITY", "level": "station", "name": "南站"}],
            )
            assert report.rejected == 0, report.errors
            access = AccessService(session, password_hasher=FAST_HASHER)
            for username, (role, jurisdiction) in USERS.items():
                access.create_user(
                    username,
                    PASSWORD,
                    role=role,
                    jurisdiction_id=jurisdiction,
                    display_name=f"测试·{username}",
                    now=clock.now(),
                )
        opened.refresh_directory()
        yield opened


@pytest.fixture
def client(node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(node), follow_redirects=False) as test_client:
        yield test_client


def log_in(client: TestClient, username: str = "command") -> None:
    sign_in(client, username, PASSWORD)


@pytest.fixture
def fire(node: Node, clock: ManualClock) -> AlertSummary:
    """A major alert (fire, with a response procedure) at the devices' station."""
    submit(node, alarm_event("fire-1", clock.now(), kind="fire"))
    return wait_for_alert(node, "alarm_fire")


@pytest.fixture
def tamper(node: Node, clock: ManualClock) -> AlertSummary:
    """A minor alert (tamper) at the same station: the grid worker's to sign."""
    submit(node, alarm_event("tamper-1", clock.now(), kind="tamper", device_id="CAM1"))
    return wait_for_alert(node, "alarm_tamper")


def hold_still(node: Node) -> None:
    """Stop the loops that change figures on their own timers (the rule engine's device
    online samples, the SLA clock's breaches), after one SLA check: a test that compares a
    report or a page with the API then reads the same state in both."""
    node.rule_engine.stop()
    node.alert_loop.sla_monitor.stop()
    node.alert_loop.sla_monitor.tick()
