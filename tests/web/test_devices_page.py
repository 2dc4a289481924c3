"""The devices page: register a device, issue and rotate its credentials, see its protocol,
session, last seen and rejected input; every credential action audited, forms with CSRF."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from fastapi.testclient import TestClient

from tests.ingest.factories import access_event
from tests.web.conftest import FAST_HASHER, PASSWORD, log_in
from zhian.access.service import AccessService
from zhian.audit.service import AuditService
from zhian.ingest.viid.fake import DeviceEmulator
from zhian.ingest.viid.repository import ViidRepository
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.device_views import protocols

VIID_ID = "33010000001190000001"  # 20 digits: a GA/T 1400 camera
_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_NEW_TOKEN = re.compile(r'<code id="new-token">([^<]+)</code>')
_NEW_PASSWORD = re.compile(r'<code id="new-password">([^<]+)</code>')


@pytest.fixture
def integrator(node: Node, clock: ManualClock) -> str:
    """An integrator (devices.manage) placed at the station that owns community C1."""
    with node.db.session() as session:
        AccessService(session, password_hasher=FAST_HASHER).create_user(
            "integrator",
            PASSWORD,
            role="integrator",
            jurisdiction_id="J-STATION",
            display_name="测试·integrator",
            now=clock.now(),
        )
    return "integrator"


def form_token(html: str) -> str:
    found = _FORM_TOKEN.search(html)
    assert found, "the page carries no form with a CSRF token"
    return found.group(1)


def register(client: TestClient, **fields: str) -> tuple[int, str, str]:
    """Post the registration form the way a browser does: the form's own CSRF field."""
    page = client.get("/devices")
    assert page.status_code == 200 and 'id="register-form"' in page.text
    data = {
        "csrf_token": form_token(page.text),
        "id": VIID_ID,
        "kind": "face_camera",
        "name": "东门人脸抓拍",
        "community_id": "C1",
        "latitude": "30.27",
        "longitude": "120.15",
        **fields,
    }
    header = client.headers.pop("X-CSRF-Token", None)  # only the form field proves it
    try:
        response = client.post("/devices", data=data)
    finally:
        if header is not None:
            client.headers["X-CSRF-Token"] = header
    return response.status_code, response.headers.get("location", ""), response.text


def audit_actions(node: Node, device_id: str) -> list[tuple[str, dict[str, object]]]:
    with node.db.session() as session:
        entries = AuditService(session, clock=node.clock).search(
            record_type="device", record_id=device_id
        )
    return [(entry.action, dict(entry.details)) for entry in reversed(entries)]


def native_post(client: TestClient, token: str, event: dict[str, object]) -> int:
    response = client.post(
        "/api/v1/events",
        content=json.dumps(event),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return response.status_code


def test_register_issue_rotate_and_use_a_native_token(
    client: TestClient, node: Node, clock: ManualClock, integrator: str
) -> None:
    log_in(client, integrator)
    status, location, _ = register(client)
    assert status == 303 and location.startswith(f"/devices/{VIID_ID}")

    detail = client.get(location)
    assert detail.status_code == 200
    assert "设备已登记" in detail.text and "东门人脸抓拍" in detail.text
    assert "未接入" in detail.text  # no credential, nothing sent
    assert 'id="new-token"' not in detail.text

    issued = client.post(f"/devices/{VIID_ID}/token")
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    token = _NEW_TOKEN.search(issued.text)
    assert token and "只显示这一次" in issued.text
    first = token.group(1)
    assert 'data-protocol="native" data-seen="0"' in issued.text  # a credential, no data yet

    # The token works at once: the page refreshed the intake's directory.
    event = access_event("dp-1", clock.now(), device_id=VIID_ID)
    assert native_post(client, first, event) == 200
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    shown = client.get(f"/devices/{VIID_ID}")
    assert first not in shown.text  # shown once, never again
    assert 'data-protocol="native" data-seen="1"' in shown.text
    assert 'id="device-last-seen">从未上报' not in shown.text

    rotated = client.post(f"/devices/{VIID_ID}/token")
    second = _NEW_TOKEN.search(rotated.text)
    assert second and second.group(1) != first
    assert native_post(client, first, access_event("dp-2", clock.now(), device_id=VIID_ID)) == 401
    later = access_event("dp-3", clock.now(), device_id=VIID_ID)
    assert native_post(client, second.group(1), later) == 200

    assert audit_actions(node, VIID_ID) == [
        ("device.register", {"kind": "face_camera", "community_id": "C1"}),
        ("device.token_issue", {"rotated": False}),
        ("device.token_issue", {"rotated": True}),
    ]
    listing = client.get("/devices?lang=en")
    row = listing.text.split(f'data-device-id="{VIID_ID}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-protocol="native"' in row and "issued" in row


def test_gat1400_password_session_and_protocol(
    client: TestClient, node: Node, integrator: str
) -> None:
    log_in(client, integrator)
    assert register(client)[0] == 303

    weak = client.post(f"/devices/{VIID_ID}/viid-password", data={"password": "short"})
    assert weak.status_code == 400 and 'data-field="password"' in weak.text
    generated = client.post(f"/devices/{VIID_ID}/viid-password", data={"password": ""})
    assert generated.status_code == 200
    assert generated.headers["cache-control"] == "no-store"
    found = _NEW_PASSWORD.search(generated.text)
    assert found and "只显示这一次" in generated.text
    password = found.group(1)
    with node.db.session() as session:
        credential = ViidRepository(session).credential(VIID_ID)
        assert credential is not None
        expected = f"{VIID_ID}:{credential.realm}:{password}"
        assert credential.ha1 == hashlib.md5(expected.encode(), usedforsecurity=False).hexdigest()
    assert password not in client.get(f"/devices/{VIID_ID}").text

    camera = DeviceEmulator(client, VIID_ID, password)
    challenge, answer = camera.register()
    assert challenge.status_code == 401 and answer.status_code == 200
    assert camera.keepalive().status_code == 200
    assert node.feeder.wait_caught_up(timeout_seconds=10)

    page = client.get(f"/devices/{VIID_ID}")
    assert 'data-protocol="gat1400" data-seen="1"' in page.text  # its heartbeats came via VIID
    session_cell = page.text.split('id="device-session">', 1)[1].split("</td>", 1)[0]
    assert "在线" in session_cell and "testclient" in session_cell
    assert "用户名 " + VIID_ID in page.text

    assert [action for action, _ in audit_actions(node, VIID_ID)] == [
        "device.register",
        "device.viid_password_set",
    ]
    assert audit_actions(node, VIID_ID)[1][1] == {"generated": True}
    assert 'data-device-id="DOOR1"' in client.get("/devices").text


def test_registration_errors_name_the_field(
    client: TestClient, node: Node, integrator: str
) -> None:
    log_in(client, integrator)
    status, _, text = register(client, latitude="north")
    assert status == 400 and 'data-field="latitude"' in text
    status, _, text = register(client, kind="toaster")
    assert status == 400 and 'data-field="kind"' in text
    status, _, text = register(client, id="DOOR1")
    assert status == 409 and 'data-field="id"' in text
    status, _, text = register(client, community_id="C-ELSEWHERE")
    assert status == 403 and 'data-field="community_id"' in text
    # Nothing half-registered (the answered form commits its request), and the form keeps
    # what was typed.
    assert client.get(f"/devices/{VIID_ID}").status_code == 404
    assert audit_actions(node, VIID_ID) == []
    assert 'value="东门人脸抓拍"' in text


def test_forms_without_the_csrf_token_are_refused(client: TestClient, integrator: str) -> None:
    log_in(client, integrator)
    client.headers.pop("X-CSRF-Token")
    refused = client.post("/devices/DOOR1/token")
    assert refused.status_code == 403 and 'data-field="csrf_token"' in refused.text


def test_rejected_input_is_listed_with_its_reasons(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    bad = access_event("bad-1", clock.now(), device_id="DOOR1", direction="sideways")
    result = node.intake.submit_raw(
        [json.dumps(bad).encode()],
        source="native",
        sender_id="DOOR1",
        content_type="application/json",
    )
    assert result.rejected == 1
    log_in(client, "station")
    page = client.get("/devices/DOOR1")
    assert page.status_code == 200
    rows = page.text.split('id="rejected"', 1)[1]
    assert "bad-1" in rows and "<code>direction</code>" in rows
    assert 'id="token-form"' not in page.text  # viewing is not managing
    assert 'id="register-form"' not in client.get("/devices").text


def test_devices_of_another_jurisdiction_are_not_disclosed(client: TestClient) -> None:
    log_in(client, "outsider")
    assert client.get("/devices/DOOR1").status_code == 404
    assert 'data-device-id="DOOR1"' not in client.get("/devices").text
    log_in(client, "command")
    assert client.get("/devices/DOOR1").status_code == 200


def test_protocols_come_from_what_was_sent_and_the_credentials_held() -> None:
    assert protocols(
        ["mqtt:zhian/C1/S1/alarm", "viid"], has_token=True, has_viid_credential=False
    ) == [
        {"name": "native", "seen": False},
        {"name": "gat1400", "seen": True},
        {"name": "mqtt", "seen": True},
    ]
    assert protocols([], has_token=False, has_viid_credential=False) == []
    assert protocols(["ferry"], has_token=False, has_viid_credential=True) == [
        {"name": "gat1400", "seen": False},
        {"name": "ferry", "seen": True},
    ]


def test_users_without_the_live_feed_do_not_connect_to_it(
    client: TestClient, integrator: str
) -> None:
    log_in(client, integrator)
    page = client.get("/devices")
    assert page.status_code == 200 and "sse-connect" not in page.text
    log_in(client, "station")
    assert 'sse-connect="/api/v1/live"' in client.get("/devices").text
