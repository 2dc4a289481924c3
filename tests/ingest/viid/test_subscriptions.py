"""Subscriptions: round trip to a real local receiver, retries, the three ways to cancel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.ingest.viid.conftest import DOOR, FIXTURES, PASSWORDS, PLATFORM, SERVER_ID
from zhian.ingest.viid.fake import DeviceEmulator, NotificationReceiver, statuses
from zhian.kit.clock import ManualClock
from zhian.node import Node

SUBSCRIBE_ID = "340000000000032026112009000000001"


@pytest.fixture
def receiver() -> Iterator[NotificationReceiver]:
    server = NotificationReceiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def platform(client: TestClient) -> DeviceEmulator:
    subscriber = DeviceEmulator(client, PLATFORM, PASSWORDS[PLATFORM])
    _challenge, answer = subscriber.register()
    assert answer.status_code == 200
    return subscriber


def subscribe(
    platform: DeviceEmulator, receiver: NotificationReceiver, **changes: object
) -> dict[str, object]:
    body = json.loads((FIXTURES / "subscribe_request.json").read_text(encoding="utf-8"))
    item = body["SubscribeListObject"]["SubscribeObject"][0]
    item["ReceiveAddr"] = f"{receiver.url}/VIID/SubscribeNotifications"
    item.update(changes)
    (status,) = statuses(platform.post("/VIID/Subscribes", body).json())
    return status


def upload_faces(camera: DeviceEmulator, clock: ManualClock, count: int) -> list[str]:
    faces = [camera.face(clock.now()) for _ in range(count)]
    response = camera.post("/VIID/Faces", {"FaceListObject": {"FaceObject": faces}})
    assert all(s["StatusCode"] == 0 for s in statuses(response.json()))
    return [str(f["FaceID"]) for f in faces]


def test_round_trip_to_a_local_receiver_in_order_with_pictures(
    node: Node,
    clock: ManualClock,
    registered: DeviceEmulator,
    platform: DeviceEmulator,
    receiver: NotificationReceiver,
) -> None:
    assert subscribe(platform, receiver)["StatusCode"] == 0
    sent = upload_faces(registered, clock, 12)
    clock.advance(timedelta(seconds=3))

    delivered = node.viid.pusher.run_once()

    assert delivered == 12
    assert receiver.object_ids() == sent  # batches of 10 and 2, in order
    first = receiver.received[0]
    assert first.headers["User-Identify"] == SERVER_ID
    notification = first.body["SubscribeNotificationListObject"]["SubscribeNotificationObject"][0]
    assert notification["SubscribeID"] == SUBSCRIBE_ID
    assert len(notification["NotificationID"]) == 33
    subs = notification["FaceObjectList"]["FaceObject"][0]["SubImageList"]["SubImageInfoObject"]
    assert [s["Type"] for s in subs] == ["11"]  # ResultImageDeclare "11": face crops only
    assert subs[0]["Data"]


def test_a_refused_push_is_retried_next_interval_until_acknowledged(
    node: Node,
    clock: ManualClock,
    registered: DeviceEmulator,
    platform: DeviceEmulator,
    receiver: NotificationReceiver,
) -> None:
    subscribe(platform, receiver)
    sent = upload_faces(registered, clock, 3)
    receiver.fail_next = 2
    clock.advance(timedelta(seconds=3))

    assert node.viid.pusher.run_once() == 0
    clock.advance(timedelta(seconds=2))
    assert node.viid.pusher.run_once() == 0  # not due yet: ReportInterval is 5 s
    clock.advance(timedelta(seconds=4))
    assert node.viid.pusher.run_once() == 0  # refused again
    clock.advance(timedelta(seconds=6))
    assert node.viid.pusher.run_once() == 3

    assert receiver.object_ids() == sent


def test_a_reply_nested_too_deeply_counts_as_refused_and_is_retried(
    node: Node,
    clock: ManualClock,
    registered: DeviceEmulator,
    platform: DeviceEmulator,
    receiver: NotificationReceiver,
) -> None:
    subscribe(platform, receiver)
    sent = upload_faces(registered, clock, 2)
    receiver.nest_next = 1
    clock.advance(timedelta(seconds=3))

    assert node.viid.pusher.run_once() == 0  # refused, not a crash of the push loop
    clock.advance(timedelta(seconds=6))
    assert node.viid.pusher.run_once() == 2
    assert receiver.object_ids() == sent


@pytest.mark.parametrize("variant", ["put_one", "post_operate_type", "delete"])
def test_each_cancel_variant_stops_delivery(
    node: Node,
    clock: ManualClock,
    registered: DeviceEmulator,
    platform: DeviceEmulator,
    receiver: NotificationReceiver,
    client: TestClient,
    variant: str,
) -> None:
    subscribe(platform, receiver)
    if variant == "put_one":
        cancel = {
            "SubscribeObject": {
                "SubscribeID": SUBSCRIBE_ID,
                "OperateType": 1,
                "CancelReason": "done",
            }
        }
        response = client.put(
            f"/VIID/Subscribes/{SUBSCRIBE_ID}", json=cancel, headers=platform.headers()
        )
    elif variant == "post_operate_type":
        response = client.post(
            "/VIID/Subscribes",
            json={
                "SubscribeListObject": {
                    "SubscribeObject": [{"SubscribeID": SUBSCRIBE_ID, "OperateType": 1}]
                }
            },
            headers=platform.headers(),
        )
    else:
        response = client.delete(
            f"/VIID/Subscribes?IDList={SUBSCRIBE_ID}", headers=platform.headers()
        )
    assert [s["StatusCode"] for s in statuses(response.json())] == [0]
    upload_faces(registered, clock, 2)
    clock.advance(timedelta(seconds=10))

    assert node.viid.pusher.run_once() == 0
    assert receiver.received == []


def test_receive_addr_outside_the_allowed_networks_is_refused(
    platform: DeviceEmulator, receiver: NotificationReceiver
) -> None:
    status = subscribe(
        platform, receiver, ReceiveAddr="http://203.0.113.7/VIID/SubscribeNotifications"
    )

    assert status["StatusCode"] == 8
    assert "ReceiveAddr" in str(status["StatusString"])


def test_unsupported_subscribe_detail_is_named(
    platform: DeviceEmulator, receiver: NotificationReceiver
) -> None:
    status = subscribe(platform, receiver, SubscribeDetail="3")

    assert status["StatusCode"] == 8
    assert "SubscribeDetail" in str(status["StatusString"])


def test_subscribing_needs_a_session(client: TestClient, receiver: NotificationReceiver) -> None:
    stranger = DeviceEmulator(client, PLATFORM, "wrong")

    response = stranger.post("/VIID/Subscribes", {"SubscribeListObject": {"SubscribeObject": []}})

    assert response.status_code == 401


def test_a_device_subscribes_only_to_what_it_may_read(
    node: Node,
    clock: ManualClock,
    client: TestClient,
    registered: DeviceEmulator,
    receiver: NotificationReceiver,
) -> None:
    door = DeviceEmulator(client, DOOR, PASSWORDS[DOOR])
    assert door.register()[1].status_code == 200
    refused = subscribe(registered, receiver, ResourceURI=DOOR)
    assert refused["StatusCode"] == 8 and "ResourceURI" in refused["StatusString"]
    # Subscribed to "everything" (the server's ID), the camera is pushed its own objects only.
    assert subscribe(registered, receiver, ResourceURI=SERVER_ID)["StatusCode"] == 0
    mine = upload_faces(registered, clock, 2)
    upload_faces(door, clock, 2)
    clock.advance(timedelta(seconds=3))
    node.viid.pusher.run_once()
    assert receiver.object_ids() == mine
