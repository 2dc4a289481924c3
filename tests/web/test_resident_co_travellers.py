"""Co-travellers (同行) of a resident through the API and the page: the keys of door passages
seen within the window of the resident's own passages at several distinct doors, with the
plate search's safeguards (a case of the jurisdiction and a reason, scoped to the reader's
devices, audited under the resident's token, masked keys, a reveal only for a permitted
role and audited)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import log_in, submit
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService

RESIDENT, CARD = "R0001", "CARD-7788"
COMPANION, STRANGER, LATE = "R0005", "R0006", "R0007"
CASE = "A-2026-0003"
REASON = "入室盗窃，核查同行人员"


def door(device_id: str, community_id: str, latitude: float) -> dict[str, Any]:
    return {"id": device_id, "kind": "door", "name": f"{device_id} 门禁",
            "community_id": community_id, "building_id": None, "unit_id": None,
            "zone_id": None, "gateway_id": None, "latitude": latitude, "longitude": 120.15,
            "is_enabled": True}  # fmt: skip


OTHER_COMMUNITY = {"id": "C2", "jurisdiction_id": "J-OTHER", "name": "南苑", "kind": "gated",
                   "latitude": 30.0, "longitude": 120.15}  # fmt: skip
# Three doors of J-STATION (DOOR1 is the master data's) and one of the station beside.
DOORS = ("DOOR1", "DOOR2", "DOOR3")


def access(event_id: str, kind: str, ref: str, when: Any, device_id: str) -> dict[str, Any]:
    return {"type": "access", "id": event_id, "device_id": device_id, "time": when.isoformat(),
            "subject": {"kind": kind, "ref": ref}, "direction": "in", "method": "card",
            "result": "granted"}  # fmt: skip


@pytest.fixture
def passages(node: Node, clock: ManualClock, client: TestClient) -> None:
    """The resident passes three doors of J-STATION an hour apart (by card twice, by their
    own reference once) and a door of J-OTHER; a companion 20 s behind each time, all four;
    a stranger 10 s after them at one door only; someone 5 minutes behind at all three
    (outside a 60 s window)."""
    with node.db.session() as session:
        registry = RegistryService(session, identity=node.governance.sealer)
        for entity, rows in (
            ("houses", [{"id": "H1", "unit_id": "C1-B1-U1", "number": "301", "area_m2": 90,
                         "registered_use": "owner_occupied"}]),
            ("residents", [{"id": RESIDENT, "house_id": "H1", "birth_year": 1985,
                            "is_floating": False, "card_ref": CARD}]),
            ("communities", [OTHER_COMMUNITY]),
            ("devices", [door("DOOR2", "C1", 30.271), door("DOOR3", "C1", 30.272),
                         door("DOOR9", "C2", 30.0)]),
        ):  # fmt: skip
            report = registry.load_rows(entity, rows)
            assert report.rejected == 0, report.errors
    node.refresh_directory()
    now = clock.now()
    events = []
    for i, device in enumerate((*DOORS, "DOOR9")):
        at = now - timedelta(hours=5 - i)
        kind, ref = ("resident", RESIDENT) if device == "DOOR3" else ("card", CARD)
        events.append(access(f"r{i}", kind, ref, at, device))
        events.append(access(f"c{i}", "resident", COMPANION, at + timedelta(seconds=20), device))
        if device in DOORS:
            events.append(access(f"l{i}", "resident", LATE, at + timedelta(minutes=5), device))
    events.append(access("s1", "resident", STRANGER, now - timedelta(hours=5, seconds=-10),
                         "DOOR1"))  # fmt: skip
    submit(node, *events)
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
            "reason": REASON, "since": (now - timedelta(days=1)).isoformat(),
            "until": now.isoformat(), "window_seconds": 60, "min_places": 3}  # fmt: skip
    body.update(changes)
    return body


def test_the_companion_is_found_masked_and_the_search_audited(
    client: TestClient, clock: ManualClock, node: Node, passages: None
) -> None:
    response = client.post("/api/v1/trajectories/co-travellers", json=search(clock))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject_kind"] == "resident" and body["subject_masked"] == "R**01"
    assert body["subject_passages"] == 3  # J-OTHER's door is not the station's to read
    [found] = body["co_travellers"]  # not the stranger (one door), nor the one 5 min behind
    assert found["subject_masked"] == "resident R**05" and found["places"] == 3
    assert [p["device_id"] for p in found["pairs"]] == list(DOORS)
    assert "key" not in found and "plate_masked" not in found
    for clear in (RESIDENT, CARD, COMPANION, STRANGER, LATE):
        assert clear not in response.text
    token = node.governance.sealer.token("subject", RESIDENT)
    with node.db.session() as session:
        [entry] = node.governance.audit(session).search(action="trajectory.co_travellers")
    assert entry.record_type == "resident" and entry.record_ids == [token]
    assert entry.case_number == CASE and entry.purpose == REASON
    assert entry.details["found"] == 1


def test_the_window_and_the_places_decide(
    client: TestClient, clock: ManualClock, passages: None
) -> None:
    """Five minutes behind is a co-traveller for a 10-minute window, not for a minute's; the
    stranger's one shared door is not enough even for `min_places` 2; nobody shares four
    doors of the station."""
    wide = client.post("/api/v1/trajectories/co-travellers",
                       json=search(clock, window_seconds=600)).json()  # fmt: skip
    assert sorted(f["subject_masked"] for f in wide["co_travellers"]) == [
        "resident R**05",
        "resident R**07",
    ]
    two = client.post("/api/v1/trajectories/co-travellers",
                      json=search(clock, min_places=2)).json()  # fmt: skip
    assert [f["subject_masked"] for f in two["co_travellers"]] == ["resident R**05"]
    four = client.post("/api/v1/trajectories/co-travellers",
                       json=search(clock, min_places=4)).json()  # fmt: skip
    assert four["co_travellers"] == []


def test_scope_is_the_readers(client: TestClient, clock: ManualClock, passages: None) -> None:
    """The city's command centre also reads J-OTHER's door: four shared places; another
    station's officer may not search this case; a grid worker may not search at all."""
    log_in(client, "command")
    city = client.post("/api/v1/trajectories/co-travellers", json=search(clock, min_places=4))
    assert city.status_code == 200, city.text
    [found] = city.json()["co_travellers"]
    assert found["places"] == 4
    log_in(client, "outsider")
    outside = client.post("/api/v1/trajectories/co-travellers", json=search(clock))
    assert outside.status_code == 404 and outside.json()["error"]["field"] == "case_number"
    log_in(client, "grid")
    grid = client.post("/api/v1/trajectories/co-travellers", json=search(clock))
    assert grid.status_code == 403


def test_a_companions_key_is_revealed_only_on_request_and_audited(
    client: TestClient, clock: ManualClock, node: Node, passages: None
) -> None:
    response = client.post("/api/v1/trajectories/co-travellers",
                           json=search(clock, reveal=True))  # fmt: skip
    assert response.status_code == 200, response.text
    [found] = response.json()["co_travellers"]
    assert found["key"] == COMPANION and STRANGER not in response.text
    companion = node.governance.sealer.token("subject", COMPANION)
    with node.db.session() as session:
        [entry] = node.governance.audit(session).search(action="trajectory.reveal_keys")
    assert entry.record_ids == [companion] and entry.case_number == CASE
    assert entry.purpose == REASON
    thin = client.post("/api/v1/trajectories/co-travellers",
                       json=search(clock, reveal=True, reason="abc"))  # fmt: skip
    assert thin.status_code == 400 and thin.json()["error"]["field"] == "reason"


def test_the_page_lists_a_residents_co_travellers_and_reveals_on_request(
    client: TestClient, clock: ManualClock, node: Node, passages: None
) -> None:
    now = clock.now()
    form = {"subject_kind": "resident", "resident_id": RESIDENT, "case_number": CASE,
            "reason": REASON, "since": f"{now - timedelta(days=1):%Y-%m-%dT%H:%M}",
            "until": f"{now + timedelta(minutes=1):%Y-%m-%dT%H:%M}", "with_co": "1",
            "window_seconds": "60", "min_places": "3"}  # fmt: skip
    masked = client.post("/trajectories", data=form, params={"lang": "en"})
    assert masked.status_code == 200, masked.text
    assert 'id="traj-co"' in masked.text and "resident R**05" in masked.text
    assert 'data-places="3"' in masked.text and COMPANION not in masked.text
    assert 'class="revealed"' not in masked.text
    shown = client.post("/trajectories", data={**form, "reveal": "1"}, params={"lang": "en"})
    assert shown.status_code == 200, shown.text
    assert f'<td class="revealed">{COMPANION}</td>' in shown.text and "Key in full" in shown.text
    assert STRANGER not in shown.text
    with node.db.session() as session:
        [entry] = node.governance.audit(session).search(action="trajectory.reveal_keys")
    assert entry.case_number == CASE
