"""GA/T 1400 intake at rest (#12): kept objects name people and plates; after an upload no
plate, ID number, name or phone lies in clear anywhere in the operational database, while
GET /VIID/… still answers with the objects as sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.governance.test_personal_data_at_rest import clear_values_in_database
from tests.ingest.viid.conftest import CAMERA, GATE, PASSWORDS, PLATFORM
from tests.ingest.viid.test_subscriptions import SUBSCRIBE_ID, subscribe
from zhian.ingest.viid.fake import DeviceEmulator, NotificationReceiver, statuses
from zhian.ingest.viid.objects import FACES, MOTOR_VEHICLES
from zhian.kit.clock import ManualClock
from zhian.node import Node

PLATE = "浙A12345"
ID_NUMBER = "110101199003071234"
NAME = "王小明"
PHONE = "13912345678"


def test_kept_objects_are_sealed_and_still_served_whole(
    client: TestClient, registered: DeviceEmulator, node: Node, clock: ManualClock
) -> None:
    face = registered.face(clock.now(), IDNumber=ID_NUMBER, Name=NAME, IDType="111")
    assert registered.post("/VIID/Faces", {"FaceListObject": {"FaceObject": [face]}}).is_success
    gate = DeviceEmulator(client, GATE, PASSWORDS[GATE])
    gate.register()
    vehicle = gate.motor_vehicle(clock.now() - timedelta(seconds=1), plate=PLATE)
    assert gate.post(
        "/VIID/MotorVehicles", {"MotorVehicleListObject": {"MotorVehicleObject": [vehicle]}}
    ).is_success
    # A refused object keeps its raw input in the quarantine, sealed as well.
    refused = gate.motor_vehicle(clock.now(), plate=PLATE, PassTime="not a time")
    refused["OwnerPhone"] = PHONE
    gate.post("/VIID/MotorVehicles", {"MotorVehicleListObject": {"MotorVehicleObject": [refused]}})
    assert node.feeder.wait_caught_up(timeout_seconds=10)

    with node.db.engine.connect() as connection:
        kept = connection.execute(text("SELECT count(*) FROM viid_objects")).scalar_one()
        held = connection.execute(text("SELECT count(*) FROM quarantine_items")).scalar_one()
    assert kept >= 2 and held >= 1
    found = clear_values_in_database(
        Path(node.settings.workspace) / "zhian.db", {PLATE, ID_NUMBER, NAME, PHONE}
    )
    assert found == []

    # Served whole to an authenticated peer: the body is opened, not lost.
    faces = node.viid.service.query(
        FACES, f"FaceID={face['FaceID']}", "/VIID/Faces", requester=CAMERA
    ).body
    assert faces is not None
    [served_face] = faces["FaceListObject"]["FaceObject"]
    assert (served_face["IDNumber"], served_face["Name"]) == (ID_NUMBER, NAME)
    path = "/VIID/MotorVehicles"
    cars = node.viid.service.query(
        MOTOR_VEHICLES, f"MotorVehicleID={vehicle['MotorVehicleID']}", path, requester=GATE
    ).body
    assert cars is not None
    assert cars["MotorVehicleListObject"]["MotorVehicleObject"][0]["PlateNo"] == PLATE


@pytest.fixture
def receiver() -> Iterator[NotificationReceiver]:
    server = NotificationReceiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def platform(client: TestClient) -> DeviceEmulator:
    subscriber = DeviceEmulator(client, PLATFORM, PASSWORDS[PLATFORM])
    assert subscriber.register()[1].status_code == 200
    return subscriber


def test_a_subscription_is_sealed_and_its_title_still_delivered(
    client: TestClient,
    node: Node,
    clock: ManualClock,
    registered: DeviceEmulator,
    platform: DeviceEmulator,
    receiver: NotificationReceiver,
) -> None:
    applicant, reason = "李申请", f"布控 {PLATE} 联系 {PHONE}"
    status = subscribe(platform, receiver, ApplicantName=applicant, Reason=reason, Title=NAME)
    assert status["StatusCode"] == 0
    assert registered.post(
        "/VIID/Faces", {"FaceListObject": {"FaceObject": [registered.face(clock.now())]}}
    ).is_success
    clock.advance(timedelta(seconds=3))
    assert node.viid.pusher.run_once() == 1
    [notification] = receiver.received[0].body["SubscribeNotificationListObject"][
        "SubscribeNotificationObject"
    ]
    assert notification["Title"] == NAME  # opened for the delivery

    # A cancel merges into the kept body: it stays sealed too.
    cancel = {
        "SubscribeObject": {
            "SubscribeID": SUBSCRIBE_ID,
            "OperateType": 1,
            "CancelReason": f"结案 {NAME}",
        }
    }
    answer = client.put(f"/VIID/Subscribes/{SUBSCRIBE_ID}", json=cancel, headers=platform.headers())
    assert [s["StatusCode"] for s in statuses(answer.json())] == [0]
    found = clear_values_in_database(
        Path(node.settings.workspace) / "zhian.db", {applicant, PLATE, PHONE, NAME}
    )
    assert found == []
