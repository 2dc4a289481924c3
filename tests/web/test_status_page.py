"""The plain status page: behind a login, shows recent events, devices and intake figures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tests.ingest.factories import access_event, load_master_data
from tests.web.session import sign_in
from zhian.access.service import AccessService
from zhian.config import load_settings
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app

PASSWORD = "correct horse battery"


@pytest.fixture
def client(workspace: Path, clock: ManualClock) -> Iterator[TestClient]:
    settings = load_settings(workspace, web={"secret_key": "k" * 40})
    with Node.open(settings, clock) as node:
        load_master_data(node, now=clock.now())
        with node.db.session() as session:
            AccessService(
                session, password_hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
            ).create_user(
                "duty",
                PASSWORD,
                role="station_officer",
                jurisdiction_id="J-STATION",
                now=clock.now(),
            )
        node.intake.submit_raw(
            [json.dumps(access_event(f"s{i}", clock.now())).encode() for i in range(3)],
            source="native",
            sender_id="DOOR1",
            content_type="application/json",
        )
        assert node.feeder.wait_caught_up(timeout_seconds=10)
        with TestClient(create_app(node), follow_redirects=False) as test_client:
            yield test_client


def log_in(client: TestClient) -> None:
    sign_in(client, "duty", PASSWORD)


def test_anonymous_visitors_are_sent_to_the_login(client: TestClient) -> None:
    page = client.get("/status")
    api = client.get("/api/v1/status")

    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")
    assert api.status_code == 401
    assert client.get("/api/v1/health").json()["status"] == "ok"


def test_status_page_shows_events_devices_and_figures(client: TestClient) -> None:
    log_in(client)

    page = client.get("/status")
    english = client.get("/status?lang=en")

    assert page.status_code == 200
    text = page.text
    assert "接入统计" in text and "最新事件" in text
    # Three recent events and the device row; identifiers are marked as not for translation.
    assert text.count('<td translate="no">DOOR1</td>') >= 3
    assert "North gate camera" in text
    assert "从未上报" in text  # CAM1 has sent nothing
    assert 'id="accepted">3<' in text
    assert "Recent events" in english.text and "never" in english.text
    assert "门禁通行" in text and "Access passage" in english.text  # event types by name
    assert "+0800" in text and " UTC<" not in text  # times in the display zone


def test_status_api_reports_intake_and_store(client: TestClient) -> None:
    log_in(client)

    status = client.get("/api/v1/status").json()

    assert status["intake"]["accepted"] == 3
    assert status["stored_by_type"]["access"] == 3
    assert status["store_lag"] == 0
    assert {d["id"] for d in status["devices"]} >= {"DOOR1", "CAM1", "G1"}
