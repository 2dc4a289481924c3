"""While the demo replays weeks of history, what people do is audited at the wall-clock
time they did it, not at the replay's time; the node's own work keeps the replay's time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.governance.factories import ZHANG_ID
from tests.ingest.factories import load_master_data
from tests.web.session import sign_in
from zhian.access.service import AccessService
from zhian.audit.service import Actor, AuditEntryRead
from zhian.config import load_settings
from zhian.governance.keys import generate_keyring, key_file_path, write_keyring
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.sim.replay import ArrivalClock
from zhian.web.app import create_app

from .conftest import FAST_HASHER, PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REPLAY_DAYS = 22
HOUSES = [
    {"id": "H1", "unit_id": "C1-B1-U1", "number": "301", "area_m2": 90, "registered_use": "rented"}
]
RESIDENTS = [
    {
        "id": "R1",
        "house_id": "H1",
        "birth_year": 1985,
        "is_floating": True,
        "name": "张三丰",
        "id_number": ZHANG_ID,
        "phone": "13812345678",
    }
]
USERS = {"station": ("station_officer", "J-STATION"), "grid": ("grid_worker", "J-STATION")}


@pytest.fixture
def replaying_node(workspace: Path, clock: ManualClock) -> Iterator[tuple[Node, ArrivalClock]]:
    """A node whose clock is 22 days back in a replay, its people on the wall clock."""
    arrival = ArrivalClock(clock.now() - timedelta(days=REPLAY_DAYS), live=clock)
    settings = load_settings(workspace, web={"secret_key": "a" * 40})
    write_keyring(key_file_path(settings.governance, workspace), generate_keyring())
    with Node.open(settings, arrival, feed=False, wall_clock=clock) as node:
        load_master_data(node, now=clock.now())
        with node.db.session() as session:
            registry = RegistryService(
                session, clock=arrival, identity=node.governance.require_sealer()
            )
            for entity, rows in (("houses", HOUSES), ("residents", RESIDENTS)):
                report = registry.load_rows(entity, rows)
                assert report.rejected == 0, report.errors
            access = AccessService(session, password_hasher=FAST_HASHER)
            for username, (role, jurisdiction) in USERS.items():
                access.create_user(
                    username, PASSWORD, role=role, jurisdiction_id=jurisdiction, now=clock.now()
                )
        node.refresh_directory()
        yield node, arrival


def _entries(node: Node, action: str) -> list[AuditEntryRead]:
    with node.db.session() as session:
        return node.governance.audit(session).search(action=action)


def _reveal(client: TestClient, field: str) -> int:
    page = client.get("/residents/R1")
    token = CSRF.search(page.text)
    csrf = token.group(1) if token else client.headers["X-CSRF-Token"]
    response = client.post(
        "/residents/R1/reveal",
        data={"csrf_token": csrf, "field": field, "case_number": "A2026-0042", "reason": "witness"},
    )
    return response.status_code


def test_a_persons_view_reveal_and_refusal_carry_the_wall_clock(
    replaying_node: tuple[Node, ArrivalClock], clock: ManualClock
) -> None:
    node, arrival = replaying_node
    assert arrival.now() == clock.now() - timedelta(days=REPLAY_DAYS)  # mid-replay
    with TestClient(create_app(node), follow_redirects=False) as client:
        sign_in(client, "station", PASSWORD)
        assert _reveal(client, "phone") == 200
    with TestClient(create_app(node), follow_redirects=False) as client:
        sign_in(client, "grid", PASSWORD)
        assert _reveal(client, "phone") == 403  # a grid worker may not reveal

    for action in ("resident.view", "resident.reveal", "resident.reveal.refused"):
        entries = _entries(node, action)
        assert entries, action
        assert {entry.at for entry in entries} == {clock.now()}, action


def test_the_nodes_own_work_keeps_the_replays_time_a_command_the_wall_clock(
    replaying_node: tuple[Node, ArrivalClock], clock: ManualClock
) -> None:
    node, arrival = replaying_node
    with node.db.session() as session:
        audit = node.governance.audit(session)
        by_models = audit.record(Actor.system("models"), "resident.face_features.read")
        by_command = audit.record(Actor.system("cli"), "retention.apply")
        by_user = audit.record(Actor.user(1), "audit.export")
    assert by_models.at == arrival.now()
    assert by_command.at == by_user.at == clock.now()
    with node.db.session() as session:
        assert node.governance.audit(session).verify().ok
