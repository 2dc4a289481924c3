"""GA/T 1400 conformance, driven by the device emulator written from the protocol notes."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from tests.ingest.viid.conftest import (
    CAMERA,
    DOOR,
    GATE,
    PASSWORDS,
    PLATFORM,
    provision,
    viid_devices,
    viid_settings,
)
from zhian.access.scope import JurisdictionScope
from zhian.config import load_settings
from zhian.ingest.viid.fake import DeviceEmulator, statuses
from zhian.ingest.viid.objects import FACES
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.web.app import create_app


def only_status(response: object) -> dict[str, object]:
    found = statuses(json.loads(response.text))  # type: ignore[attr-defined]
    assert len(found) == 1, found
    return found[0]


# --- registration and sessions -------------------------------------------------------------


def test_register_is_a_two_step_digest_exchange(camera: DeviceEmulator) -> None:
    challenge, answer = camera.register()

    assert challenge.status_code == 401
    header = challenge.headers["WWW-Authenticate"]
    assert header.startswith("Digest ")
    assert 'realm="zhian-viid"' in header
    assert 'qop="auth"' in header
    assert re.search(r'nonce="[^"]+"', header)
    assert answer.status_code == 200
    status = only_status(answer)
    assert status["StatusCode"] == 0
    assert status["Id"] == CAMERA
    assert status["RequestURL"] == "/VIID/System/Register"
    assert re.fullmatch(r"\d{14}", str(status["LocalTime"]))


def test_wrong_password_is_refused_and_no_session_opens(camera: DeviceEmulator) -> None:
    _challenge, answer = camera.register(password="not-the-password")

    assert answer.status_code == 401
    status = only_status(answer)
    assert status["StatusCode"] != 0
    assert "wrong password" in str(status["StatusString"])
    assert camera.keepalive().status_code == 401


def test_digest_dialects_full_url_uri_and_quoted_nc_are_accepted(client: TestClient) -> None:
    door = DeviceEmulator(client, DOOR, PASSWORDS[DOOR], full_url_uri=True, quote_nc=True)

    _challenge, answer = door.register()

    assert answer.status_code == 200
    assert only_status(answer)["StatusCode"] == 0


def test_a_captured_register_cannot_be_replayed(client: TestClient, camera: DeviceEmulator) -> None:
    _challenge, answer = camera.register()
    assert answer.status_code == 200
    replay = client.post(
        "/VIID/System/Register",
        content=answer.request.content,
        headers=dict(answer.request.headers),
    )
    assert replay.status_code == 401


def test_keepalive_expiry_gives_401_then_reregistering_works(
    registered: DeviceEmulator, clock: ManualClock, node: Node
) -> None:
    assert only_status(registered.keepalive())["StatusCode"] == 0

    clock.advance(timedelta(seconds=60 * 3 + 1))  # three missed keepalives
    expired = registered.keepalive()

    assert expired.status_code == 401
    assert "WWW-Authenticate" in expired.headers
    assert only_status(expired)["StatusCode"] == 4
    _challenge, again = registered.register()
    assert again.status_code == 200
    clock.advance(timedelta(seconds=1))
    assert only_status(registered.keepalive())["StatusCode"] == 0
    # register, keepalive, register, keepalive: each fed the intake a heartbeat (a heartbeat
    # is identified by its time, so the first two, at the same instant, count once)
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert node.store.queries.count_by_type().get("heartbeat", 0) == 3


def test_any_successful_call_refreshes_the_session(
    registered: DeviceEmulator, clock: ManualClock
) -> None:
    clock.advance(timedelta(seconds=150))
    upload = registered.post(
        "/VIID/Faces", {"FaceListObject": {"FaceObject": [registered.face(clock.now())]}}
    )
    assert only_status(upload)["StatusCode"] == 0
    clock.advance(timedelta(seconds=150))  # 300 s after Register, 150 s after the upload

    assert registered.keepalive().status_code == 200


def test_unregister_ends_the_session(registered: DeviceEmulator) -> None:
    assert only_status(registered.unregister())["StatusCode"] == 0
    assert registered.keepalive().status_code == 401


def test_system_time_answers_get_and_post(client: TestClient) -> None:
    for method in ("GET", "POST"):
        body = client.request(method, "/VIID/System/Time").json()
        assert body["SystemTimeObject"]["VIIDServerID"] == "34000000005030000001"
        assert body["SystemTimeObject"]["LocalTime"] == "20261120090000"


# --- uploads --------------------------------------------------------------------------------


def test_face_upload_with_sub_images_becomes_face_events_with_stored_pictures(
    registered: DeviceEmulator, node: Node, clock: ManualClock
) -> None:
    faces = [registered.face(clock.now() - timedelta(seconds=5 * i)) for i in range(2)]

    response = registered.post("/VIID/Faces", {"FaceListObject": {"FaceObject": faces}})

    assert response.status_code == 200
    listed = statuses(response.json())
    assert [s["Id"] for s in listed] == [f["FaceID"] for f in faces]
    assert [s["StatusCode"] for s in listed] == [0, 0]
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert node.store.count_event(CAMERA, faces[0]["FaceID"]) == 1
    stored = node.viid.service.query(
        FACES, f"FaceID={faces[0]['FaceID']}", "/VIID/Faces", requester=CAMERA
    ).body
    assert stored is not None
    subs = stored["FaceListObject"]["FaceObject"][0]["SubImageList"]["SubImageInfoObject"]
    assert [s["Type"] for s in subs] == ["14", "11"]
    for sub in subs:
        assert sub["StoragePath"].startswith("img:")
        assert node.images.exists(sub["StoragePath"])


def test_a_door_reader_face_is_also_an_access_event(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    door = DeviceEmulator(client, DOOR, PASSWORDS[DOOR])
    door.register()
    face = door.face(clock.now())

    response = door.post("/VIID/Faces", {"FaceListObject": {"FaceObject": [face]}})

    assert statuses(response.json())[0]["StatusCode"] == 0
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    counts = node.store.queries.count_by_type()
    assert counts.get("access") == 1
    assert counts.get("face") == 1


def test_vehicle_upload_maps_plate_colour_and_class(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    gate = DeviceEmulator(client, GATE, PASSWORDS[GATE])
    gate.register()
    vehicle = gate.motor_vehicle(clock.now(), plate="浙A12345")

    response = gate.post(
        "/VIID/MotorVehicles", {"MotorVehicleListObject": {"MotorVehicleObject": [vehicle]}}
    )

    assert statuses(response.json())[0]["StatusCode"] == 0
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    vehicles = [e for e in node.store.queries.recent_events(limit=5) if e.type == "vehicle"]
    assert [(e.event_id, e.device_id) for e in vehicles] == [(vehicle["MotorVehicleID"], GATE)]
    # The store keeps the plate as its token; the summary shows it masked.
    assert "浙A***45" in vehicles[0].summary
    assert vehicles[0].identifiers == [node.vault.token("plate", "浙A12345")]


def test_uploads_need_a_live_session(camera: DeviceEmulator, clock: ManualClock) -> None:
    response = camera.post(
        "/VIID/Faces", {"FaceListObject": {"FaceObject": [camera.face(clock.now())]}}
    )

    assert response.status_code == 401
    assert only_status(response)["StatusCode"] == 4


def test_malformed_json_is_status_7_and_quarantined(registered: DeviceEmulator, node: Node) -> None:
    response = registered.post("/VIID/Faces", b'{"FaceListObject": {"FaceObject": [')

    assert response.status_code == 200
    assert only_status(response)["StatusCode"] == 7
    held = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert [h.source for h in held] == ["viid"]
    assert held[0].raw == b'{"FaceListObject": {"FaceObject": ['


def test_wrong_content_is_status_8_naming_the_wrapper(registered: DeviceEmulator) -> None:
    response = registered.post("/VIID/Faces", {"PersonListObject": {"PersonObject": []}})

    status = only_status(response)
    assert status["StatusCode"] == 8
    assert "FaceListObject" in str(status["StatusString"])


def test_xml_is_refused_with_status_5(registered: DeviceEmulator) -> None:
    response = registered.post(
        "/VIID/Faces", "<FaceListObject/>", content_type="application/VIID+XML"
    )

    assert only_status(response)["StatusCode"] == 5


def test_bad_ids_refuse_that_object_only_and_name_the_field(
    registered: DeviceEmulator, node: Node, clock: ManualClock
) -> None:
    good = registered.face(clock.now())
    short_id = registered.face(clock.now(), FaceID="1234")
    bad_device = registered.face(clock.now(), DeviceID="3402")

    response = registered.post(
        "/VIID/Faces", {"FaceListObject": {"FaceObject": [good, short_id, bad_device]}}
    )

    listed = statuses(response.json())
    assert [s["StatusCode"] for s in listed] == [0, 8, 8]
    assert "FaceID" in listed[1]["StatusString"] and "48 digits" in listed[1]["StatusString"]
    assert "DeviceID" in listed[2]["StatusString"] and "20 digits" in listed[2]["StatusString"]
    assert len(node.quarantine.list_held(scope=JurisdictionScope.unscoped())) == 2


def test_a_resend_is_acknowledged_but_stored_once(
    registered: DeviceEmulator, node: Node, clock: ManualClock
) -> None:
    body = {"FaceListObject": {"FaceObject": [registered.face(clock.now())]}}
    first = statuses(registered.post("/VIID/Faces", body).json())[0]
    second = statuses(registered.post("/VIID/Faces", body).json())[0]

    assert (first["StatusCode"], second["StatusCode"]) == (0, 0)
    assert second["StatusString"] == "duplicate"
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert node.store.queries.count_by_type().get("face") == 1


def test_ethnicity_and_origin_fields_are_dropped_unknown_fields_kept(
    registered: DeviceEmulator, node: Node, clock: ManualClock, client: TestClient
) -> None:
    face = registered.face(
        clock.now(), EthicCode="01", NativeCityCode="330100", TabID="vendor-tab", ShotTime="x"
    )
    registered.post("/VIID/Faces", {"FaceListObject": {"FaceObject": [face]}})

    body = client.get(f"/VIID/Faces?FaceID={face['FaceID']}", headers=registered.headers()).json()

    kept = body["FaceListObject"]["FaceObject"][0]
    assert "EthicCode" not in kept and "NativeCityCode" not in kept
    assert kept["TabID"] == "vendor-tab"
    with node.db.session() as session:
        from sqlalchemy import select

        from zhian.ingest.viid.models import ViidObject

        # The kept bodies are sealed at rest (#12): opened, none holds a refused field.
        kept_bodies = [
            node.viid.service.open_body(row) for row in session.scalars(select(ViidObject))
        ]
    assert kept_bodies and all("EthicCode" not in str(body) for body in kept_bodies)


# --- queries --------------------------------------------------------------------------------


def test_face_queries_page_in_both_syntaxes(
    registered: DeviceEmulator, client: TestClient, clock: ManualClock
) -> None:
    faces = [registered.face(clock.now() - timedelta(seconds=i)) for i in range(5)]
    registered.post("/VIID/Faces", {"FaceListObject": {"FaceObject": faces}})
    headers = registered.headers()

    plain = client.get(
        f"/VIID/Faces?DeviceID={CAMERA}&RecordStartNo=3&PageRecordNum=2", headers=headers
    ).json()
    parenthesised = client.get(
        f"/VIID/Faces?(Face.DeviceID='{CAMERA}')&(RecordStartNo=3)&(PageRecordNum=2)",
        headers=headers,
    ).json()

    for body in (plain, parenthesised):
        listed = body["FaceListObject"]
        assert listed["TotalNum"] == 5
        assert [f["FaceID"] for f in listed["FaceObject"]] == [
            faces[2]["FaceID"],
            faces[3]["FaceID"],
        ]
        assert listed["FaceObject"][0]["SubImageList"]["SubImageInfoObject"][0]["Data"]


def test_unsupported_query_condition_is_named(
    registered: DeviceEmulator, client: TestClient
) -> None:
    body = client.get("/VIID/Faces?(Face.GenderCode='1')", headers=registered.headers()).json()

    status = statuses(body)[0]
    assert status["StatusCode"] == 4
    assert "GenderCode" in status["StatusString"]


def test_apes_lists_only_the_devices_the_caller_may_see(
    registered: DeviceEmulator, client: TestClient
) -> None:
    """A device sees itself; a lower platform itself and the devices behind it."""
    platform = DeviceEmulator(client, PLATFORM, PASSWORDS[PLATFORM])
    assert platform.register()[1].status_code == 200

    own = client.get("/VIID/APEs", headers=registered.headers()).json()
    behind = client.get("/VIID/APEs", headers=platform.headers()).json()

    assert [a["ApeID"] for a in own["APEListObject"]["APEObject"]] == [CAMERA]
    assert own["APEListObject"]["TotalNum"] == 1
    apes = {a["ApeID"]: a for a in behind["APEListObject"]["APEObject"]}
    assert set(apes) == {CAMERA, DOOR, GATE, PLATFORM}
    assert apes[CAMERA]["IsOnline"] == "1"
    assert apes[GATE]["IsOnline"] == "0"
    assert apes[GATE]["FunctionType"] == "1"


OTHER = "34020000001190000004"


def test_apes_answers_the_upper_platform_with_every_device(
    workspace: Path, clock: ManualClock
) -> None:
    """The platform this node reports to sees the node's whole jurisdiction."""
    settings = load_settings(workspace, viid=viid_settings(upper_platform_id=PLATFORM))
    with Node.open(settings, clock) as node, TestClient(create_app(node)) as client:
        provision(node, clock)
        # A camera no platform fronts: only the upper platform sees it beside its own.
        other = {**viid_devices()[0], "id": OTHER, "gateway_id": None}
        with node.db.session() as session:
            assert RegistryService(session).load_rows("devices", [other]).rejected == 0
        node.refresh_directory()
        with node.db.session() as session:
            node.viid.service.set_password(session, OTHER, "other-secret")
        platform = DeviceEmulator(client, PLATFORM, PASSWORDS[PLATFORM])
        assert platform.register()[1].status_code == 200

        body = client.get("/VIID/APEs", headers=platform.headers()).json()

    listed = {a["ApeID"] for a in body["APEListObject"]["APEObject"]}
    assert listed == {CAMERA, DOOR, GATE, PLATFORM, OTHER}
