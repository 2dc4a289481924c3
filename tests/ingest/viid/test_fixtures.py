"""Recorded payload shapes from the protocol notes, including the lenient variants."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.ingest.viid.conftest import FIXTURES, GATE, PASSWORDS
from zhian.ingest.viid.fake import DeviceEmulator, statuses
from zhian.ingest.viid.wire import is_acknowledged, parse_time
from zhian.node import Node


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def upload(
    device: DeviceEmulator, path: str, name: str, content_type: str
) -> list[dict[str, object]]:
    response = device.post(path, fixture(name), content_type=content_type)
    assert response.status_code == 200, response.text
    return statuses(response.json())


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("faces_standard.json", "application/VIID+JSON;charset=UTF-8"),
        ("faces_standard.json", "application/viid+json"),  # lower case (jinanspot)
        ("faces_standard.json", "application/json"),  # plain (haoxianrui, CargoX)
        ("faces_facelist_dialect.json", "application/VIID+JSON"),  # FaceList inner key (fliad)
        ("faces_gbk.json.gbk", "application/VIID+JSON"),  # GBK bytes (Dahua)
    ],
)
def test_face_fixtures_are_accepted(
    registered: DeviceEmulator, node: Node, name: str, content_type: str
) -> None:
    listed = upload(registered, "/VIID/Faces", name, content_type)

    assert [s["StatusCode"] for s in listed] == [0]
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert node.store.queries.count_by_type().get("face") == 1


def test_gbk_text_survives_decoding(registered: DeviceEmulator, client: TestClient) -> None:
    upload(registered, "/VIID/Faces", "faces_gbk.json.gbk", "application/VIID+JSON")
    face_id = json.loads(fixture("faces_gbk.json.gbk").decode("gbk"))["FaceListObject"][
        "FaceObject"
    ][0]["FaceID"]

    body = client.get(f"/VIID/Faces?FaceID={face_id}", headers=registered.headers()).json()

    assert body["FaceListObject"]["FaceObject"][0]["Name"] == "张三"


def test_person_fixture_drops_refused_fields_and_keeps_vendor_fields(
    registered: DeviceEmulator, node: Node
) -> None:
    listed = upload(registered, "/VIID/Persons", "persons_easy1400.json", "application/VIID+JSON")

    assert [s["StatusCode"] for s in listed] == [0]
    with node.db.session() as session:
        from sqlalchemy import select

        from zhian.ingest.viid.models import ViidObject

        # The kept body is sealed at rest (#12): opened, it is what is kept.
        (row,) = session.scalars(select(ViidObject).where(ViidObject.kind == "Persons"))
        kept = node.viid.service.open_body(row)
    for refused in ("EthicCode", "NativeCityCode", "IsSuspiciousPerson"):
        assert refused not in kept
    assert kept["VendorExtra"] == {"Score": 97}


def test_vehicle_fixture_with_colortype_quirk_and_dashed_time(
    client: TestClient, node: Node
) -> None:
    gate = DeviceEmulator(client, GATE, PASSWORDS[GATE])
    gate.register()

    listed = upload(
        gate, "/VIID/MotorVehicles", "motor_vehicles_colortype.json", "application/VIID+JSON"
    )

    assert [s["StatusCode"] for s in listed] == [0]
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    (vehicle,) = [e for e in node.store.queries.recent_events(limit=5) if e.type == "vehicle"]
    assert vehicle.time == parse_time("20261120085900")
    # The store keeps the plate as its token; the summary shows it masked.
    assert "浙B***21" in vehicle.summary
    assert vehicle.identifiers == [node.vault.token("plate", "浙B54321")]


def test_image_fixture_stores_the_picture_and_maps_its_faces(
    registered: DeviceEmulator, node: Node
) -> None:
    listed = upload(registered, "/VIID/Images", "images_with_faces.json", "application/VIID+JSON")

    assert [s["StatusCode"] for s in listed] == [0]
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert node.store.queries.count_by_type().get("face") == 1


def test_malformed_fixture_is_status_7(registered: DeviceEmulator) -> None:
    listed = upload(registered, "/VIID/Faces", "malformed.json", "application/VIID+JSON")

    assert [s["StatusCode"] for s in listed] == [7]


def test_register_fixture_with_protocol_version_registers(client: TestClient) -> None:
    first = client.post(
        "/VIID/System/Register",
        content=fixture("register_request.json"),
        headers={"Content-Type": "application/viid+json"},
    )
    assert first.status_code == 401


@pytest.mark.parametrize(
    ("name", "is_ok"),
    [
        ("response_status_string_code.json", True),  # StatusCode "0" (xiezhihui98, easy1400)
        ("response_status_list_spelling.json", True),  # ResponseStatusList (Easy1400 docs)
        ("response_status_failure_string.json", False),  # StatusCode "500"
    ],
)
def test_peer_replies_are_read_leniently(name: str, is_ok: bool) -> None:
    assert is_acknowledged(json.loads(fixture(name))) is is_ok
