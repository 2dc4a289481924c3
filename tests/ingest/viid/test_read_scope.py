"""GA/T 1400 queries read back only what the caller's place allows, and percent-encoded
queries are decoded (issue #13)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from fastapi.testclient import TestClient

from tests.ingest.viid.conftest import CAMERA, DOOR, PASSWORDS, PLATFORM, viid_devices
from zhian.ingest.viid.fake import DeviceEmulator, statuses
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService

LONE = "34020000001190000077"  # a camera that no platform fronts


def registered(client: TestClient, device_id: str, password: str) -> DeviceEmulator:
    emulator = DeviceEmulator(client, device_id, password)
    _challenge, answer = emulator.register()
    assert answer.status_code == 200, answer.text
    return emulator


def upload_faces(device: DeviceEmulator, clock: ManualClock, count: int) -> list[str]:
    faces = [device.face(clock.now() - timedelta(seconds=i)) for i in range(count)]
    reply = device.post("/VIID/Faces", {"FaceListObject": {"FaceObject": faces}})
    assert [s["StatusCode"] for s in statuses(reply.json())] == [0] * count, reply.text
    return [face["FaceID"] for face in faces]


def face_ids(client: TestClient, device: DeviceEmulator, query: str) -> list[str]:
    body = client.get(f"/VIID/Faces?{query}", headers=device.headers()).json()
    assert "FaceListObject" in body, body
    return [face["FaceID"] for face in body["FaceListObject"]["FaceObject"]]


def add_lone_camera(node: Node) -> None:
    row = {**viid_devices()[0], "id": LONE, "gateway_id": None}
    with node.db.session() as session:
        assert RegistryService(session).load_rows("devices", [row]).rejected == 0
    node.refresh_directory()
    with node.db.session() as session:
        node.viid.service.set_password(session, LONE, "lone-secret")


def test_each_caller_reads_only_what_its_place_allows(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    add_lone_camera(node)
    camera = registered(client, CAMERA, PASSWORDS[CAMERA])
    door = registered(client, DOOR, PASSWORDS[DOOR])
    lone = registered(client, LONE, "lone-secret")
    platform = registered(client, PLATFORM, PASSWORDS[PLATFORM])
    mine = upload_faces(camera, clock, 2)
    doors = upload_faces(door, clock, 1)
    lones = upload_faces(lone, clock, 1)

    # A device reads back its own objects, whatever it asks for.
    assert sorted(face_ids(client, camera, "PageRecordNum=50")) == sorted(mine)
    assert face_ids(client, camera, f"DeviceID={CAMERA}") == mine
    assert face_ids(client, camera, "(Face.DeviceID LIKE '3402%')") == mine
    assert face_ids(client, camera, f"FaceID={doors[0]}") == []
    # Naming another device is refused, naming the field, not answered with nothing.
    refused = client.get(f"/VIID/Faces?DeviceID={DOOR}", headers=camera.headers()).json()
    [status] = statuses(refused)
    assert status["StatusCode"] == 4 and "DeviceID" in status["StatusString"]
    assert DOOR in status["StatusString"]
    # A lower platform reads the objects of the devices behind it, not of others.
    assert sorted(face_ids(client, platform, "PageRecordNum=50")) == sorted(mine + doors)
    assert face_ids(client, platform, f"DeviceID={DOOR}") == doors
    assert (
        statuses(client.get(f"/VIID/Faces?DeviceID={LONE}", headers=platform.headers()).json())[0][
            "StatusCode"
        ]
        == 4
    )
    assert face_ids(client, lone, "PageRecordNum=50") == lones


def test_a_percent_encoded_query_is_decoded(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    camera = registered(client, CAMERA, PASSWORDS[CAMERA])
    mine = upload_faces(camera, clock, 3)
    wanted = f"(Face.DeviceID='{CAMERA}')&(RecordStartNo=2)&(PageRecordNum=1)"
    whole = quote(wanted, safe="")  # `&` between the conditions encoded too
    parts = "&".join(quote(part, safe="") for part in wanted.split("&"))
    plain = f"DeviceID={quote(CAMERA)}&RecordStartNo=2&PageRecordNum=1"
    for query in (whole, parts, plain, wanted):
        assert face_ids(client, camera, query) == [mine[1]], query
    # An encoded condition Zhian cannot answer is refused by name, never read as no match.
    unknown = quote("(Face.GenderCode='1')&(PageRecordNum=5)", safe="")
    [status] = statuses(client.get(f"/VIID/Faces?{unknown}", headers=camera.headers()).json())
    assert status["StatusCode"] == 4 and "GenderCode" in status["StatusString"]
