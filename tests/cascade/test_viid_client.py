"""The upward client against a local fake upper platform that goes down and comes back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text

from tests.ingest.viid.conftest import CAMERA, PASSWORDS, SERVER_ID, provision, viid_settings
from zhian.cascade.link import Backoff
from zhian.cascade.viid_client import ViidUpperClient
from zhian.config import Settings, load_settings
from zhian.ingest.viid.fake import DeviceEmulator, FakeUpperPlatform, statuses
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app

UPPER_ID = "33000000005030000001"
UPPER_PASSWORD = "upper-secret"


@pytest.fixture
def upper() -> Iterator[FakeUpperPlatform]:
    platform = FakeUpperPlatform(username=SERVER_ID, password=UPPER_PASSWORD)
    platform.start()
    yield platform
    platform.stop()


@pytest.fixture
def settings(workspace: Path, upper: FakeUpperPlatform) -> Settings:
    return load_settings(
        workspace,
        viid=viid_settings(
            upper_url=upper.url,
            upper_platform_id=UPPER_ID,
            upper_password=SecretStr(UPPER_PASSWORD),
            upper_retries=1,
        ),
    )


def subscribe_for_upper(client: TestClient, upper: FakeUpperPlatform) -> None:
    body = {
        "SubscribeListObject": {
            "SubscribeObject": [
                {
                    "SubscribeID": "330000000000032026112009000000001",
                    "Title": "faces upward",
                    "SubscribeDetail": "12",
                    "ResourceClass": 4,
                    "ResourceURI": SERVER_ID,
                    "ReceiveAddr": f"{upper.url}/VIID/SubscribeNotifications",
                    "ReportInterval": 1,
                    "OperateType": 0,
                    "ResultImageDeclare": "-1",
                }
            ]
        }
    }
    # The upper platform is not registered here; it is recognised by its configured ID.
    response = client.post("/VIID/Subscribes", json=body, headers={"User-Identify": UPPER_ID})
    assert [s["StatusCode"] for s in statuses(response.json())] == [0]


def upload(camera: DeviceEmulator, clock: ManualClock, count: int) -> list[str]:
    faces = [camera.face(clock.now()) for _ in range(count)]
    camera.post("/VIID/Faces", {"FaceListObject": {"FaceObject": faces}})
    return [str(f["FaceID"]) for f in faces]


def push(node: Node, clock: ManualClock) -> None:
    clock.advance(timedelta(seconds=3))
    node.viid.pusher.run_once()


def upper_client(node: Node) -> ViidUpperClient:
    assert node.viid.upper is not None
    return node.viid.upper


def test_everything_cached_while_down_arrives_in_order_once(
    node: Node,
    clock: ManualClock,
    client: TestClient,
    upper: FakeUpperPlatform,
    registered: DeviceEmulator,
) -> None:
    subscribe_for_upper(client, upper)
    link = upper_client(node)
    sent = upload(registered, clock, 3)
    push(node, clock)

    first = link.step()
    assert (first.is_registered, first.delivered, first.backlog) == (True, 1, 0)
    assert upper.registrations == 1

    upper.stop()
    for _ in range(3):  # three pushes while the upper platform is down: 25 faces
        sent += upload(registered, clock, 8 if _ < 2 else 9)
        push(node, clock)
        report = link.step()
        assert report.error and report.delivered == 0
    assert link.backlog() == 3  # one notification per push: 8, 8 and 9 faces
    # The cached notifications name the faces they carry only sealed (#12).
    with node.db.engine.connect() as connection:
        cached = b"".join(
            bytes(payload)
            for payload in connection.execute(text("SELECT payload_enc FROM viid_upper_outbox"))
            .scalars()
            .all()
        )
    assert cached and not any(face_id.encode() in cached for face_id in sent)

    upper.start()  # same port, but it forgot our session
    # Down, the client waits out its pause (doubling per failure, capped) before it
    # registers again: nothing is tried sooner.
    assert link.step().is_waiting and upper.registrations == 1
    assert link.link.next_attempt_at is not None
    clock.set(link.link.next_attempt_at)
    reports = [link.step() for _ in range(3)]

    assert sum(r.delivered for r in reports) == 3
    assert link.backlog() == 0
    assert upper.registrations == 2
    assert upper.face_ids() == sent
    assert len(set(upper.notification_ids())) == len(upper.notification_ids())
    first_notification = upper.received[0].body["SubscribeNotificationListObject"][
        "SubscribeNotificationObject"
    ][0]
    assert "SubImageList" not in first_notification["FaceObjectList"]["FaceObject"][0]  # declare -1


def test_keepalive_failure_makes_the_client_register_again(
    node: Node, clock: ManualClock, upper: FakeUpperPlatform
) -> None:
    link = upper_client(node)
    assert link.step().is_registered
    upper.stop()
    upper.start()  # the upper platform restarted and lost every session
    clock.advance(timedelta(seconds=31))

    report = link.step()

    assert report.is_registered
    assert upper.registrations == 2


def test_the_cache_survives_a_restart_of_this_node(
    settings: Settings, clock: ManualClock, upper: FakeUpperPlatform
) -> None:
    upper.stop()
    with Node.open(settings, clock) as node:
        provision(node, clock)
        with TestClient(create_app(node)) as client:
            subscribe_for_upper(client, upper)
            camera = DeviceEmulator(client, CAMERA, PASSWORDS[CAMERA])
            camera.register()
            sent = upload(camera, clock, 4)
            push(node, clock)
        assert upper_client(node).step().backlog == 1
    upper.start()

    with Node.open(settings, clock) as node:
        report = upper_client(node).step()

    assert (report.delivered, report.backlog) == (1, 0)
    assert upper.face_ids() == sent


def direct_client(node: Node, clock: ManualClock, **overrides: object) -> ViidUpperClient:
    """An upward client over the node's outbox with no jitter, so pauses are exact."""
    settings = node.settings.viid.model_copy(update=overrides)
    return ViidUpperClient(
        db=node.db,
        clock=clock,
        settings=settings,
        cipher=node.governance.cipher(),
        draw=lambda: 0.0,
    )


def test_a_refused_registration_is_retried_after_a_doubling_capped_pause(
    node: Node, clock: ManualClock, upper: FakeUpperPlatform
) -> None:
    link = direct_client(
        node,
        clock,
        upper_password=SecretStr("not-the-password"),
        upper_backoff_initial_seconds=2.0,
        upper_backoff_max_seconds=10.0,
    )
    pauses: list[float] = []
    for _ in range(5):
        before = upper.register_requests
        report = link.step()
        assert "register refused" in report.error and not report.is_registered
        assert upper.register_requests == before + 2  # the challenge, then the refused answer
        # Polled again and again before the pause is over: not one request.
        for _ in range(3):
            clock.advance(timedelta(milliseconds=500))
            assert link.step().is_waiting
        assert upper.register_requests == before + 2
        assert link.link.next_attempt_at is not None
        pauses.append((link.link.next_attempt_at - clock.now()).total_seconds() + 1.5)
        clock.set(link.link.next_attempt_at)
    assert pauses == [2.0, 4.0, 8.0, 10.0, 10.0]
    link.stop()


def test_jitter_keeps_each_pause_between_half_and_all_of_it() -> None:
    backoff = Backoff(initial_seconds=1.0, max_seconds=60.0)
    assert backoff.pause_seconds(3, lambda: 0.0) == 4.0
    assert backoff.pause_seconds(3, lambda: 0.999) == pytest.approx(2.002)
    assert backoff.pause_seconds(10_000, lambda: 0.0) == 60.0  # a link down for days


@pytest.mark.parametrize("shape", ["bare", "list"])
def test_lenient_reply_shapes_of_upper_platforms_count_as_acknowledged(
    node: Node, clock: ManualClock, shape: str
) -> None:
    platform = FakeUpperPlatform(username=SERVER_ID, password=UPPER_PASSWORD, reply_shape=shape)
    platform.start()
    try:
        link = direct_client(node, clock, upper_url=platform.url)
        report = link.step()
        assert report.is_registered, report.error
        assert platform.registrations == 1
        link.stop()
    finally:
        platform.stop()
