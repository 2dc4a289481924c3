"""Fixtures for GA/T 1400 tests: a node with VIID devices, their credentials, an emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.ingest.factories import load_master_data
from zhian.config import Settings, ViidSettings, load_settings
from zhian.ingest.viid.fake import DeviceEmulator
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.web.app import create_app

FIXTURES = Path(__file__).parent / "fixtures"
CAMERA = "34020000001190000001"  # face camera (the ID in the recorded fixtures)
DOOR = "34020000001190000002"  # face-recognition door reader
GATE = "34020000001190000003"  # vehicle gate
PLATFORM = "34020000005030000009"  # a lower platform / subscriber
PASSWORDS = {
    CAMERA: "cam-secret",
    DOOR: "door-secret",
    GATE: "gate-secret",
    PLATFORM: "plat-secret",
}
SERVER_ID = "34000000005030000001"


def viid_devices() -> list[dict[str, object]]:
    kinds = {CAMERA: "face_camera", DOOR: "door", GATE: "vehicle_gate", PLATFORM: "gateway"}
    return [
        {
            "id": device_id,
            "kind": kind,
            "name": f"VIID {kind}",
            "community_id": "C1",
            "building_id": None,
            "unit_id": None,
            "zone_id": None,
            "gateway_id": PLATFORM if device_id != PLATFORM else None,
            "latitude": 30.27,
            "longitude": 120.15,
            "is_enabled": True,
        }
        for device_id, kind in kinds.items()
    ]


def viid_settings(**overrides: object) -> ViidSettings:
    values: dict[str, object] = {"push_enabled": False, "server_id": SERVER_ID}
    values.update(overrides)
    return ViidSettings.model_validate(values)


@pytest.fixture
def settings(workspace: Path) -> Settings:
    return load_settings(workspace, viid=viid_settings())


def provision(node: Node, clock: ManualClock) -> None:
    load_master_data(node, now=clock.now())
    with node.db.session() as session:
        report = RegistryService(session).load_rows("devices", viid_devices())
        assert report.rejected == 0, report.errors
    node.refresh_directory()
    with node.db.session() as session:
        for device_id, password in PASSWORDS.items():
            node.viid.service.set_password(session, device_id, password)


@pytest.fixture
def node(settings: Settings, clock: ManualClock) -> Iterator[Node]:
    with Node.open(settings, clock) as running:
        provision(running, clock)
        yield running


@pytest.fixture
def client(node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(node)) as test_client:
        yield test_client


@pytest.fixture
def camera(client: TestClient) -> DeviceEmulator:
    return DeviceEmulator(client, CAMERA, PASSWORDS[CAMERA])


@pytest.fixture
def registered(camera: DeviceEmulator) -> DeviceEmulator:
    _challenge, answer = camera.register()
    assert answer.status_code == 200, answer.text
    return camera
