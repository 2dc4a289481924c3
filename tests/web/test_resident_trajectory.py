"""A resident's trajectory through the trajectory API and page: their door passages by card
and by subject reference and the face captures matched to them, in time order, with the
same safeguards as a plate's (a case of the jurisdiction and a reason, scoped, audited
with the resident's token, masked keys)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import log_in, submit
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService

RESIDENT, CARD, NEIGHBOUR = "R0001", "CARD-7788", "R0002"
CASE = "A-2026-0002"
# A door of the station beside (J-OTHER), 30 km away: the station officer does not see it.
OTHER_COMMUNITY = {"id": "C2", "jurisdiction_id": "J-OTHER", "name": "南苑", "kind": "gated",
                   "latitude": 30.0, "longitude": 120.15}  # fmt: skip
OTHER_DOOR = {"id": "DOOR9", "kind": "door", "name": "南苑门禁", "community_id": "C2",
              "building_id": None, "unit_id": None, "zone_id": None, "gateway_id": None,
              "latitude": 30.0, "longitude": 120.15, "is_enabled": True}  # fmt: skip


def access(
    event_id: str, kind: str, ref: str, when: Any, device_id: str = "DOOR1"
) -> dict[str, Any]:
    return {"type": "access", "id": event_id, "device_id": device_id, "time": when.isoformat(),
            "subject": {"kind": kind, "ref": ref}, "direction": "in", "method": "card",
            "result": "granted"}  # fmt: skip


@pytest.fixture
def passages(node: Node, clock: ManualClock, client: TestClient) -> None:
    """The resident's card at the unit door, a face capture matched to them an hour later,
    then (8 h unseen) their own reference at the door; a neighbour passes once; a case of
    J-STATION to search for."""
    with node.db.session() as session:
        registry = RegistryService(session, identity=node.governance.sealer)
        for entity, rows in (
            ("houses", [{"id": "H1", "unit_id": "C1-B1-U1", "number": "301", "area_m2": 90,
                         "registered_use": "owner_occupied"}]),
            ("residents", [{"id": RESIDENT, "house_id": "H1", "birth_year": 1985,
                            "is_floating": False, "card_ref": CARD}]),
            ("communities", [OTHER_COMMUNITY]),
            ("devices", [OTHER_DOOR]),
        ):  # fmt: skip
            report = registry.load_rows(entity, rows)
            assert report.rejected == 0, report.errors
    node.refresh_directory()
    now = clock.now()
    face = {"type": "face", "id": "f1", "device_id": "CAM1", "quality": 0.9,
            "time": (now - timedelta(hours=9)).isoformat(),
            "subject": {"kind": "resident", "ref": RESIDENT}}  # fmt: skip
    submit(node, access("a1", "card", CARD, now - timedelta(hours=10)), face,
           access("a2", "resident", RESIDENT, now - timedelta(hours=1)),
           access("n1", "resident", NEIGHBOUR, now - timedelta(hours=2)),
           access("o1", "card", CARD, now - timedelta(hours=5), device_id="DOOR9"))  # fmt: skip
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    log_in(client, "station")
    created = client.post("/api/v1/cases", json={
        "id": CASE, "category": "burglary", "time_from": (now - timedelta(hours=12)).isoformat(),
        "latitude": 30.27, "longitude": 120.15, "jurisdiction_id": "J-STATION",
    })  # fmt: skip
    assert created.status_code == 201, created.text


def search(clock: ManualClock, **changes: Any) -> dict[str, Any]:
    now = clock.now()
    body = {"subject_kind": "resident", "resident_id": RESIDENT, "case_number": CASE,
            "reason": "入室盗窃，核查行踪", "since": (now - timedelta(days=1)).isoformat(),
            "until": now.isoformat()}  # fmt: skip
    body.update(changes)
    return body


def test_a_residents_trajectory_joins_their_keys_in_time_order_masked_and_audited(
    client: TestClient, clock: ManualClock, node: Node, passages: None
) -> None:
    response = client.post("/api/v1/trajectories", json=search(clock))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject_kind"] == "resident" and body["subject_masked"] == "R**01"
    steps = body["steps"]
    assert [(s["source"], s["device_id"]) for s in steps] == [
        ("access", "DOOR1"),
        ("face", "CAM1"),
        ("access", "DOOR1"),
    ]  # the neighbour's passage is not theirs; their card at J-OTHER's door is not shown
    assert [s["is_gap"] for s in steps] == [False, False, True]  # 8 h unseen
    assert steps[0]["subject_masked"] == "card C******88"
    for clear in (RESIDENT, CARD, NEIGHBOUR):
        assert clear not in response.text
    token = node.governance.sealer.token("subject", RESIDENT)
    with node.db.session() as session:
        [entry] = node.governance.audit(session).search(action="trajectory.read")
    assert entry.record_type == "resident" and entry.record_ids == [token]
    assert entry.case_number == CASE and entry.purpose == "入室盗窃，核查行踪"


def test_a_resident_search_has_the_plate_searchs_safeguards(
    client: TestClient, clock: ManualClock, passages: None
) -> None:
    missing = client.post("/api/v1/trajectories", json=search(clock, resident_id=None))
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "resident_id"
    no_reason = client.post("/api/v1/trajectories", json=search(clock, reason=" "))
    assert no_reason.status_code == 400 and no_reason.json()["error"]["field"] == "reason"
    co = client.post("/api/v1/trajectories/co-travellers", json=search(clock, reason=""))
    assert co.status_code in (400, 422) and "reason" in co.text
    few = client.post("/api/v1/trajectories/co-travellers", json=search(clock, min_places=1))
    assert few.status_code == 400 and few.json()["error"]["field"] == "min_places"
    log_in(client, "outsider")  # another station: the case is not theirs
    assert client.post("/api/v1/trajectories", json=search(clock)).status_code == 404
    log_in(client, "grid")
    assert client.post("/api/v1/trajectories", json=search(clock)).status_code == 403


def test_the_city_sees_the_residents_passages_at_every_station(
    client: TestClient, clock: ManualClock, passages: None
) -> None:
    """Scope is the reader's: the city's command centre sees the door of J-OTHER too."""
    log_in(client, "command")
    response = client.post("/api/v1/trajectories", json=search(clock))
    assert response.status_code == 200, response.text
    devices = [s["device_id"] for s in response.json()["steps"]]
    assert devices == ["DOOR1", "CAM1", "DOOR9", "DOOR1"]


def test_an_unregistered_id_finds_only_its_own_reference(
    client: TestClient, clock: ManualClock, passages: None
) -> None:
    """No registry lookup answers differently for an unknown id: its own reference only."""
    response = client.post("/api/v1/trajectories", json=search(clock, resident_id=NEIGHBOUR))
    assert response.status_code == 200, response.text
    times = [datetime.fromisoformat(s["time"]) for s in response.json()["steps"]]
    assert times == [clock.now() - timedelta(hours=2)]


def test_the_page_shows_a_residents_passages_by_source(
    client: TestClient, clock: ManualClock, node: Node, passages: None
) -> None:
    now = clock.now()
    form = {"subject_kind": "resident", "resident_id": RESIDENT, "case_number": CASE,
            "reason": "入室盗窃，核查行踪", "since": f"{now - timedelta(days=1):%Y-%m-%dT%H:%M}",
            "until": f"{now + timedelta(minutes=1):%Y-%m-%dT%H:%M}", "with_co": "1",
            "window_seconds": "60", "min_places": "3"}  # fmt: skip
    shown = client.post("/trajectories", data=form, params={"lang": "en"})
    assert shown.status_code == 200, shown.text
    assert shown.text.count("data-device=") == 3 and shown.text.count("data-gap=") == 1
    assert 'data-source="face"' in shown.text and "face capture" in shown.text
    assert "R**01" in shown.text and 'id="traj-co"' in shown.text  # the neighbour: once
    assert "No co-traveller found" in shown.text
    assert CARD not in shown.text
    assert RESIDENT not in shown.text.replace(f'value="{RESIDENT}"', "")  # the form echoes it
