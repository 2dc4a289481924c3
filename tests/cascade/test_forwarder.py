"""A community node forwards to its district: events, alert changes, online summaries, once
each and in order, through an outage, a lost answer and a refused registration."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.cascade.parents import (
    CHILD_ID,
    FaultyLink,
    api,
    drain,
    forwarder,
    issue_token,
    parent_batches,
    parent_events,
    parent_settings,
    submit,
)
from tests.ingest.factories import access_event
from tests.web.conftest import alarm_event
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter
from zhian.cascade.forwarder import READER_NAME, read_health
from zhian.cascade.service import ChildReadService
from zhian.cascade.wire import CONTENT_TYPE, ENCODER, ChildBatch, DeviceSummary
from zhian.devices.service import DeviceService
from zhian.ingest.events import AccessEvent
from zhian.kit.clock import ManualClock
from zhian.node import Node


@pytest.fixture
def link(parent_client: TestClient) -> FaultyLink:
    return FaultyLink(parent_client)


def events_of(
    device_id: str, prefix: str, count: int, clock: ManualClock
) -> list[dict[str, object]]:
    start = clock.now() - timedelta(minutes=30)
    return [
        access_event(f"{prefix}-{i:03d}", start + timedelta(seconds=i), device_id=device_id)
        for i in range(count)
    ]


def test_events_reach_the_parent_once_in_order_under_the_childs_jurisdiction(
    parent: Node, child: Node, link: FaultyLink, credential: str, clock: ManualClock
) -> None:
    doors, cameras = events_of("DOOR1", "d", 25, clock), events_of("CAM1", "c", 5, clock)
    for index, event in enumerate(doors):  # one request (one log record) per door event
        submit(child, [event] + ([cameras[index]] if index < len(cameras) else []))
    forward = forwarder(child, link, parent_settings(credential, batch_events=7))
    assert drain(forward) == 30
    # A late event, taken in last but from before all the others: it arrives last.
    submit(child, [access_event("d-late", clock.now() - timedelta(hours=2), device_id="DOOR1")])
    assert drain(forward) == 1

    assert parent_events(parent, "DOOR1") == [f"d-{i:03d}" for i in range(25)] + ["d-late"]
    assert parent_events(parent, "CAM1") == [f"c-{i:03d}" for i in range(5)]
    assert parent_batches(parent, "DOOR1") > 3  # several batches, arrived in order
    # The parent registered the child's devices in the child's community (C1, J-STATION).
    stored = parent.event_reads.recent_events(limit=1, device_id="DOOR1")[0]
    assert stored.source == f"cascade:{CHILD_ID}"
    # The position is the log reader `parent`'s: retention keeps what is not forwarded.
    positions = {p.name: p.seq for p in child.log.readers.positions()}
    assert positions[READER_NAME] == child.log.durable_seq


def test_an_outage_caches_then_backfills_everything_once_in_order(
    parent: Node, child: Node, link: FaultyLink, credential: str, clock: ManualClock
) -> None:
    forward = forwarder(child, link, parent_settings(credential, batch_events=10))
    submit(child, events_of("DOOR1", "a", 10, clock))
    drain(forward)

    link.down = True
    submit(child, events_of("DOOR1", "b", 35, clock))
    link.requests.clear()
    assert forward.step() == 0
    # One batch tried `attempts` (3) times, then the link is down and the data cached.
    assert link.requests == ["/api/v1/cascade/batches"] * 3
    health = read_health(child.settings.workspace)
    assert health is not None and not health.is_up
    assert health.cache_records > 0 and "ConnectError" in health.last_error

    # Down: nothing is tried before the pause is over; then registration, pause doubling.
    link.requests.clear()
    assert forward.step() == 0 and link.requests == []
    pauses = []
    for _ in range(5):
        assert forward.link.next_attempt_at is not None
        pause = forward.link.next_attempt_at - clock.now()
        pauses.append(pause.total_seconds())
        clock.advance(pause)
        forward.step()
    assert pauses == [1.0, 2.0, 4.0, 8.0, 8.0]  # doubling, capped (no jitter drawn here)
    assert link.requests == ["/api/v1/cascade/hello"] * 5

    # Back: register, back-fill everything in order; the health shows the progress.
    link.down = False
    clock.advance(timedelta(seconds=8))
    assert forward.step() > 0
    health = read_health(child.settings.workspace)
    assert health is not None and health.is_up and health.backfill_percent is not None
    drain(forward)
    expected = [f"a-{i:03d}" for i in range(10)] + [f"b-{i:03d}" for i in range(35)]
    assert parent_events(parent, "DOOR1") == expected
    health = read_health(child.settings.workspace)
    assert health is not None and health.cache_records == 0


def test_a_lost_answer_sends_again_and_the_parent_keeps_one_copy(
    parent: Node, child: Node, link: FaultyLink, credential: str, clock: ManualClock
) -> None:
    forward = forwarder(child, link, parent_settings(credential))
    assert forward.step() == 0 and forward.link.is_up  # registered, nothing to send yet
    submit(child, events_of("DOOR1", "x", 12, clock))
    link.lose_answers = 2  # stored at the parent twice over, answered the third time

    drain(forward)

    assert parent_events(parent, "DOOR1") == [f"x-{i:03d}" for i in range(12)]
    with parent.db.session() as session:
        (child_link,) = ChildReadService(session).children(scope=JurisdictionScope.unscoped())
    assert (child_link.events_accepted, child_link.events_duplicate) == (12, 24)


def test_a_parent_that_never_answers_in_time_takes_the_link_down(
    child: Node, link: FaultyLink, credential: str, clock: ManualClock
) -> None:
    forward = forwarder(child, link, parent_settings(credential))
    submit(child, events_of("DOOR1", "s", 3, clock))
    link.silent = True
    assert forward.step() == 0
    assert not forward.link.is_up and "ReadTimeout" in forward.link.last_error


def test_alert_changes_go_up_and_parent_users_see_them_by_scope(
    parent: Node,
    parent_client: TestClient,
    child: Node,
    link: FaultyLink,
    credential: str,
    clock: ManualClock,
) -> None:
    submit(child, [alarm_event("fire-1", clock.now(), kind="fire")])
    child.rule_engine.drain()
    with child.alerts() as alerts:
        page = alerts.list_alerts(
            AlertFilter(kind="alarm_fire"), page=1, per_page=1, scope=JurisdictionScope.unscoped()
        )
        alert = page.items[0]
        alerts.sign(alert.id, scope=JurisdictionScope.unscoped(), user_id=None, ip=None)
    forward = forwarder(child, link, parent_settings(credential))
    drain(forward)

    command = issue_token(parent, clock, "command")
    seen = api(parent_client, command, "/api/v1/cascade/alerts")
    assert seen.status_code == 200, seen.text
    changes = [(c["alert_id"], c["to_state"]) for c in seen.json()]
    assert changes[-1] == (alert.id, "signed")
    assert {c["node_id"] for c in seen.json()} == {CHILD_ID}
    assert {c["jurisdiction_id"] for c in seen.json()} == {"J-STATION"}

    # Sent again (a lost answer), nothing is doubled.
    link.lose_answers = 1
    with child.alerts() as alerts:
        alerts.dispatch(alert.id, scope=JurisdictionScope.unscoped(), user_id=None, ip=None)
    drain(forward)
    again = api(parent_client, command, "/api/v1/cascade/alerts").json()
    assert len(again) == len(changes) + 1

    # The parent raised no fire alert of its own from the forwarded alarm: the child did.
    parent.rule_engine.drain()
    with parent.alerts() as parent_alerts:
        assert not parent_alerts.list_alerts(
            AlertFilter(kind="alarm_fire"), page=1, per_page=5, scope=JurisdictionScope.unscoped()
        ).items

    # Another station's officer sees none of it; the auditor may not read alerts.
    outsider = issue_token(parent, clock, "outsider")
    assert api(parent_client, outsider, "/api/v1/cascade/alerts").json() == []
    auditor = issue_token(parent, clock, "auditor")
    assert api(parent_client, auditor, "/api/v1/cascade/alerts").status_code == 403
    assert parent_client.get("/api/v1/cascade/alerts").status_code == 401
    children = api(parent_client, command, "/api/v1/cascade/children").json()
    assert [c["node_id"] for c in children] == [CHILD_ID]
    assert api(parent_client, outsider, "/api/v1/cascade/children").json() == []


def _batch(community_id: str, node_id: str = "intruder") -> bytes:
    batch = ChildBatch(
        node_id=node_id,
        sent_at=datetime(2026, 11, 20, 1, 0, tzinfo=UTC),
        devices=[
            DeviceSummary(
                id="NEW1",
                kind="door",
                name="a door",
                community_id=community_id,
                latitude=30.0,
                longitude=120.0,
            )
        ],
    )
    return ENCODER.encode(batch)


def test_a_credential_delivers_only_inside_its_jurisdiction(
    parent: Node, parent_client: TestClient, clock: ManualClock
) -> None:
    elsewhere = issue_token(
        parent, clock, "elsewhere", permissions=("cascade.forward",), name="intruder"
    )
    response = parent_client.post(
        "/api/v1/cascade/batches",
        content=_batch("C1"),
        headers={"Authorization": f"Bearer {elsewhere}", "Content-Type": CONTENT_TYPE},
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["field"] == "devices[0].community_id"
    # A user token without `cascade.forward` may not deliver at all.
    command = issue_token(parent, clock, "command")
    response = parent_client.post(
        "/api/v1/cascade/batches",
        content=_batch("C1"),
        headers={"Authorization": f"Bearer {command}", "Content-Type": CONTENT_TYPE},
    )
    assert response.status_code == 403
    with parent.db.session() as session:
        assert DeviceService(session).get_device("NEW1", scope=JurisdictionScope.unscoped()) is None


def test_events_of_a_known_device_outside_the_credential_are_refused(
    parent: Node, parent_client: TestClient, credential: str, clock: ManualClock
) -> None:
    event = msgspec.json.decode(
        msgspec.json.encode(access_event("k-1", clock.now(), device_id="NEW1")),
        type=AccessEvent,
    )

    def post(token: str, batch: ChildBatch) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": CONTENT_TYPE}
        return parent_client.post(
            "/api/v1/cascade/batches", content=ENCODER.encode(batch), headers=headers
        )

    # The station's credential places NEW1 in C1 with its event; another station's may not
    # send events of it.
    placed = msgspec.msgpack.decode(_batch("C1", CHILD_ID), type=ChildBatch)
    assert post(credential, msgspec.structs.replace(placed, events=[event])).status_code == 200
    elsewhere = issue_token(
        parent, clock, "elsewhere", permissions=("cascade.forward",), name="intruder"
    )
    unnamed = msgspec.structs.replace(placed, node_id="intruder", devices=[], events=[event])
    response = post(elsewhere, unnamed)
    assert response.status_code == 403
    assert response.json()["error"]["field"] == "events[0].device_id"


def test_a_malformed_batch_is_a_clear_400(parent_client: TestClient, credential: str) -> None:
    headers = {"Authorization": f"Bearer {credential}", "Content-Type": CONTENT_TYPE}
    bad = msgspec.msgpack.encode({"node_id": "x", "sent_at": "yesterday"})
    response = parent_client.post("/api/v1/cascade/batches", content=bad, headers=headers)
    assert response.status_code == 400
    assert "sent_at" in response.json()["error"]["message"]
    wrong_type = {**headers, "Content-Type": "application/json"}
    response = parent_client.post("/api/v1/cascade/batches", content=b"{}", headers=wrong_type)
    assert response.status_code == 415


def _jpeg(side_px: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side_px, side_px), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["all", "thumbnails", "structured"])
def test_event_modes_send_images_whole_shrunk_or_not_at_all(
    parent: Node, child: Node, link: FaultyLink, credential: str, clock: ManualClock, mode: str
) -> None:
    ref = child.images.save(_jpeg(800), "image/jpeg")
    vehicle = {
        "type": "vehicle",
        "id": "v-img",
        "device_id": "CAM1",
        "time": clock.now().isoformat(),
        "plate": "浙A12345",
        "plate_color": "blue",
        "vehicle_class": "car",
        "direction": "in",
        "image": ref,
    }
    submit(child, [vehicle])
    drain(forwarder(child, link, parent_settings(credential, events=mode)))

    assert parent_events(parent, "CAM1") == ["v-img"]
    if mode == "all":
        assert parent.images.read(ref) == child.images.read(ref)
    elif mode == "thumbnails":
        assert not parent.images.exists(ref)  # only the thumbnail went up
        with Image.open(io.BytesIO(child.images.read(ref))) as original:
            assert original.size == (800, 800)
        (stored,) = parent.settings.blob_dir.rglob("*.jpg")
        with Image.open(io.BytesIO(parent.images.read(f"img:{stored.stem}.jpg"))) as small:
            assert max(small.size) <= 240
    else:
        assert not parent.images.exists(ref)
        assert not list(parent.settings.blob_dir.rglob("*.jpg"))


def test_a_credential_speaks_only_for_the_node_it_was_issued_for(
    parent_client: TestClient, credential: str
) -> None:
    headers = {"Authorization": f"Bearer {credential}", "Content-Type": CONTENT_TYPE}
    response = parent_client.post(
        "/api/v1/cascade/batches", content=_batch("C1", "community-2"), headers=headers
    )
    assert response.status_code == 403
    assert response.json()["error"]["field"] == "node_id"
    orders = parent_client.get(
        "/api/v1/cascade/orders", params={"node_id": "community-2"}, headers=headers
    )
    assert orders.status_code == 403
