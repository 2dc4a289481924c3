"""A passage's own page: masked subject, its capture served only for that event, to the
device's jurisdiction, each view and image read audited; other jurisdictions get 404."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.kit.test_thumbnails import image_bytes
from tests.web.session import sign_in
from tests.web.test_resident_reveal import PASSWORD, keyed_node  # noqa: F401 (fixture)
from tests.web.test_search import PLATE, _vehicle_event
from tests.web.test_search import node as search_node  # noqa: F401 (fixture)
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app


@pytest.fixture
def client(search_node: Node, clock: ManualClock) -> Iterator[TestClient]:  # noqa: F811
    ref = search_node.images.save(image_bytes(640, 480), "image/png")
    event = {
        **_vehicle_event("v-img", clock.now() - timedelta(minutes=1), PLATE, "in"),
        "image": ref,
    }
    result = search_node.intake.submit_raw(
        [json.dumps(event).encode()],
        source="native",
        sender_id=None,
        content_type="application/json",
    )
    assert result.accepted == 1, result.items
    while search_node.feeder.feed_once():
        pass
    with TestClient(create_app(search_node), follow_redirects=False) as test_client:
        yield test_client


def _audited(node: Node, action: str) -> int:
    with node.db.session() as session:
        return len(node.governance.audit(session).search(action=action))


def test_the_event_page_shows_the_capture_and_audits_each_read(
    client: TestClient,
    search_node: Node,  # noqa: F811
) -> None:
    sign_in(client, "station", PASSWORD)
    page = client.get("/events/GATE1/v-img")
    assert page.status_code == 200
    assert 'id="event-thumb"' in page.text and "浙A***45" in page.text and PLATE not in page.text
    assert _audited(search_node, "event.view") == 1
    thumb = client.get("/events/GATE1/v-img/image?size=thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    full = client.get("/events/GATE1/v-img/image")
    assert full.status_code == 200 and full.content.startswith(b"\x89PNG")
    assert _audited(search_node, "event_image.read") == 2
    plain = client.get("/events/GATE1/v-1")
    assert plain.status_code == 200 and 'id="event-no-image"' in plain.text
    assert client.get("/events/GATE1/v-1/image").status_code == 400


def test_another_jurisdiction_gets_404_and_no_image(client: TestClient) -> None:
    sign_in(client, "outsider", PASSWORD)
    assert client.get("/events/GATE1/v-img").status_code == 404
    assert client.get("/events/GATE1/v-img/image").status_code == 404
    sign_in(client, "grid", PASSWORD)
    assert client.get("/events/GATE1/v-img/image").status_code == 403


def test_alarms_and_heartbeats_have_their_page_too(
    client: TestClient,
    search_node: Node,  # noqa: F811
    clock: ManualClock,
) -> None:
    now = clock.now() - timedelta(minutes=2)
    events = [
        {"type": "alarm", "id": "a-1", "device_id": "GATE1", "time": now.isoformat(),
         "kind": "intrusion", "level": 2, "detail": "barrier forced open"},
        {"type": "heartbeat", "id": "h-1", "device_id": "GATE1", "time": now.isoformat(),
         "status": "fault", "fault_code": "E42"},
    ]  # fmt: skip
    result = search_node.intake.submit_raw(
        [json.dumps(e).encode() for e in events],
        source="native",
        sender_id=None,
        content_type="application/json",
    )
    assert result.accepted == 2, result.items
    while search_node.feeder.feed_once():
        pass
    sign_in(client, "station", PASSWORD)
    alarm = client.get("/events/GATE1/a-1", params={"lang": "en"})
    assert alarm.status_code == 200, alarm.text
    assert 'data-type="alarm"' in alarm.text and "<h1>Event · Alarm</h1>" in alarm.text
    assert "intrusion" in alarm.text and "barrier forced open" in alarm.text
    assert 'id="event-no-image"' in alarm.text and 'id="event-subject"' not in alarm.text
    heartbeat = client.get("/events/GATE1/h-1", params={"lang": "en"})
    assert heartbeat.status_code == 200 and "E42" in heartbeat.text
    assert "Heartbeat" in heartbeat.text
    assert client.get("/events/GATE1/a-1/image").status_code == 400  # no image to serve
    assert _audited(search_node, "event.view") == 2
    device = client.get("/devices/GATE1")
    assert 'href="/events/GATE1/a-1?lang=en"' in device.text
    sign_in(client, "outsider", PASSWORD)
    assert client.get("/events/GATE1/a-1").status_code == 404
