"""Trajectory and co-traveller searches through the API: a case of the jurisdiction and
a reason required, passages in time order with masked plates, audited, role-checked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import log_in, submit
from zhian.kit.clock import ManualClock
from zhian.node import Node

PLATE, COMPANION, PASSER = "浙A12345", "浙B67890", "浙C11111"
DEVICES = ("CAM1", "DOOR1", "CNT1")


def vehicle(event_id: str, device: str, plate: str, when: Any) -> dict[str, Any]:
    return {"type": "vehicle", "id": event_id, "device_id": device, "time": when.isoformat(),
            "plate": plate, "plate_color": "blue", "vehicle_class": "car",
            "direction": "in"}  # fmt: skip


@pytest.fixture
def passages(node: Node, clock: ManualClock, client: TestClient) -> None:
    """The plate at three devices an hour apart, a companion 20 s behind each time, and a
    passer-by at one of them; a case of J-STATION to search for."""
    now = clock.now()
    events = []
    for i, device in enumerate(DEVICES):
        at = now - timedelta(hours=3 - i)
        events.append(vehicle(f"p{i}", device, PLATE, at))
        events.append(vehicle(f"c{i}", device, COMPANION, at + timedelta(seconds=20)))
    events.append(vehicle("x1", "CAM1", PASSER, now - timedelta(hours=3, seconds=-10)))
    submit(node, *events)
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    log_in(client, "station")
    created = client.post("/api/v1/cases", json={
        "id": "A-2026-0001", "category": "vehicle_theft",
        "time_from": (now - timedelta(hours=5)).isoformat(), "latitude": 30.27,
        "longitude": 120.15, "jurisdiction_id": "J-STATION",
    })  # fmt: skip
    assert created.status_code == 201, created.text


def search(clock: ManualClock, **changes: Any) -> dict[str, Any]:
    now = clock.now()
    body = {"plate": PLATE, "case_number": "A-2026-0001", "reason": "车辆被盗，追查去向",
            "since": (now - timedelta(days=1)).isoformat(), "until": now.isoformat()}  # fmt: skip
    body.update(changes)
    return body


def test_the_trajectory_is_in_time_order_masked_and_audited(
    client: TestClient, clock: ManualClock, node: Node, passages: None
) -> None:
    response = client.post("/api/v1/trajectories", json=search(clock))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["plate_masked"] == "浙A***45" and body["case_number"] == "A-2026-0001"
    assert [s["device_id"] for s in body["steps"]] == list(DEVICES)
    assert body["steps"][1]["seconds_since_previous"] == 3600
    assert not any(s["is_gap"] or s["is_implausible_speed"] for s in body["steps"])
    assert PLATE not in response.text and COMPANION not in response.text
    with node.db.session() as session:
        [entry] = node.governance.audit(session).search(action="trajectory.read")
    assert entry.case_number == "A-2026-0001" and entry.purpose == "车辆被盗，追查去向"


def test_co_travellers_are_found_and_masked(
    client: TestClient, clock: ManualClock, passages: None
) -> None:
    response = client.post("/api/v1/trajectories/co-travellers",
                           json=search(clock, window_seconds=60, min_places=3))  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject_passages"] == 3
    [found] = body["co_travellers"]
    assert found["plate_masked"] == "浙B***90" and found["places"] == 3
    assert [p["device_id"] for p in found["pairs"]] == list(DEVICES)
    assert COMPANION not in response.text
    two = client.post("/api/v1/trajectories/co-travellers",
                      json=search(clock, window_seconds=60, min_places=2)).json()  # fmt: skip
    assert [c["places"] for c in two["co_travellers"]] == [3]  # the passer-by shares one


def test_a_search_needs_a_case_of_the_jurisdiction_and_a_reason(
    client: TestClient, clock: ManualClock, passages: None
) -> None:
    no_reason = client.post("/api/v1/trajectories", json=search(clock, reason="   "))
    assert no_reason.status_code == 400 and no_reason.json()["error"]["field"] == "reason"
    unknown = client.post("/api/v1/trajectories", json=search(clock, case_number="A-9999"))
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "case_number"
    day_before = (clock.now() - timedelta(days=1)).isoformat()
    reversed_period = search(clock, since=clock.now().isoformat(), until=day_before)
    backwards = client.post("/api/v1/trajectories", json=reversed_period)
    assert backwards.status_code == 400 and backwards.json()["error"]["field"] == "until"
    log_in(client, "outsider")  # another station: the case is not theirs
    assert client.post("/api/v1/trajectories", json=search(clock)).status_code == 404
    log_in(client, "grid")
    assert client.post("/api/v1/trajectories", json=search(clock)).status_code == 403


def test_the_page_shows_the_table_the_map_and_the_co_travellers(
    client: TestClient, clock: ManualClock, node: Node, passages: None
) -> None:
    page = client.get("/trajectories", params={"lang": "en"})
    assert page.status_code == 200 and "Trajectories and co-travellers" in page.text
    assert 'href="/trajectories' in page.text  # the menu entry
    now = clock.now().astimezone(clock.now().tzinfo)
    form = {"plate": PLATE, "case_number": "A-2026-0001", "reason": "车辆被盗，追查去向",
            "since": f"{now - timedelta(days=1):%Y-%m-%dT%H:%M}",
            "until": f"{now + timedelta(minutes=1):%Y-%m-%dT%H:%M}", "with_co": "1",
            "window_seconds": "60", "min_places": "3"}  # fmt: skip
    shown = client.post("/trajectories", data=form)
    assert shown.status_code == 200, shown.text
    assert shown.text.count("data-device=") == 3 and 'id="traj-points"' in shown.text
    assert "浙A***45" in shown.text and "浙B***90" in shown.text and 'data-places="3"' in shown.text
    assert PLATE not in shown.text.replace(f'value="{PLATE}"', "")  # only the form echoes it
    refused = client.post("/trajectories", data={**form, "case_number": ""})
    assert refused.status_code == 400 and 'data-field="case_number"' in refused.text
    with node.db.session() as session:
        audit = node.governance.audit(session)
        assert len(audit.search(action="trajectory.read")) == 1
        assert len(audit.search(action="trajectory.co_travellers")) == 1
    log_in(client, "grid")
    assert client.get("/trajectories").status_code == 403
    assert 'href="/trajectories' not in client.get("/workbench").text


def test_a_co_traveller_plate_is_revealed_only_on_request_and_audited(
    client: TestClient, clock: ManualClock, node: Node, passages: None
) -> None:
    body = search(clock, window_seconds=60, min_places=3, reveal=True)
    response = client.post("/api/v1/trajectories/co-travellers", json=body)
    assert response.status_code == 200, response.text
    [found] = response.json()["co_travellers"]
    assert found["plate"] == COMPANION and found["plate_masked"] == "浙B***90"
    with node.db.session() as session:
        [entry] = node.governance.audit(session).search(action="trajectory.reveal_plates")
    assert entry.case_number == "A-2026-0001" and entry.purpose == body["reason"]
    short = client.post("/api/v1/trajectories/co-travellers", json={**body, "reason": "abc"})
    assert short.status_code == 400 and short.json()["error"]["field"] == "reason"


def test_the_page_reveals_a_co_travellers_plate_on_request_and_audits_it(
    client: TestClient, clock: ManualClock, node: Node, passages: None
) -> None:
    page = client.get("/trajectories", params={"lang": "en"})
    assert 'name="reveal"' in page.text and "Show the co-travellers&#39; plates" in page.text
    now = clock.now()
    form = {"plate": PLATE, "case_number": "A-2026-0001", "reason": "车辆被盗，追查去向",
            "since": f"{now - timedelta(days=1):%Y-%m-%dT%H:%M}",
            "until": f"{now + timedelta(minutes=1):%Y-%m-%dT%H:%M}", "with_co": "1",
            "window_seconds": "60", "min_places": "3"}  # fmt: skip
    masked = client.post("/trajectories", data=form)
    assert masked.status_code == 200 and "浙B***90" in masked.text
    assert COMPANION not in masked.text and 'class="revealed"' not in masked.text
    shown = client.post("/trajectories", data={**form, "reveal": "1"})
    assert shown.status_code == 200, shown.text
    assert f'<td class="revealed">{COMPANION}</td>' in shown.text
    assert PASSER not in shown.text  # only the co-travellers found are opened
    with node.db.session() as session:
        [entry] = node.governance.audit(session).search(action="trajectory.reveal_plates")
    assert entry.case_number == "A-2026-0001" and entry.purpose == form["reason"]
    # A reason too thin: the search is refused, and nothing is revealed.
    thin = client.post("/trajectories", data={**form, "reason": "abc", "reveal": "1"})
    assert thin.status_code == 400 and 'data-field="reason"' in thin.text
    assert COMPANION not in thin.text.replace(f'value="{PLATE}"', "")
    with node.db.session() as session:
        assert len(node.governance.audit(session).search(action="trajectory.reveal_plates")) == 1
