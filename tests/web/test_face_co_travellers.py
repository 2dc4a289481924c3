"""Co-travellers (同行) on a face through the API: the faces of captures seen within the
window of the captures matched to the subject's feature at several distinct cameras, with
the plate and resident searches' safeguards (a case of the jurisdiction and a reason,
scoped to the reader's devices, audited with the captures taken for the subject, shown
masked or as a capture reference)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import log_in, submit
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.sim.faces import FaceFeatures

CASE = "A-2026-0005"
REASON = "抢劫案，核查同行人员"
CAMERAS = ("FC1", "FC2", "FC3")
FACES = FaceFeatures(2026)


def camera(device_id: str, community_id: str, latitude: float) -> dict[str, Any]:
    return {"id": device_id, "kind": "face_camera", "name": f"{device_id} 人脸抓拍",
            "community_id": community_id, "building_id": None, "unit_id": None,
            "zone_id": None, "gateway_id": None, "latitude": latitude, "longitude": 120.15,
            "is_enabled": True}  # fmt: skip


OTHER_COMMUNITY = {"id": "C2", "jurisdiction_id": "J-OTHER", "name": "南苑", "kind": "gated",
                   "latitude": 30.0, "longitude": 120.15}  # fmt: skip


def face(
    event_id: str, person: str, when: Any, device_id: str, rng: random.Random
) -> dict[str, Any]:
    return {"type": "face", "id": event_id, "device_id": device_id, "time": when.isoformat(),
            "quality": 0.9, "feature": FACES.capture(person, rng)}  # fmt: skip


@pytest.fixture
def captures(node: Node, clock: ManualClock, client: TestClient) -> None:
    """The subject is caught at three cameras of J-STATION an hour apart and at one of
    J-OTHER; a companion 20 s behind each time, all four; a stranger 10 s after them at one
    camera only; someone 5 minutes behind at all three (outside a 60 s window)."""
    with node.db.session() as session:
        registry = RegistryService(session, identity=node.governance.sealer)
        for entity, rows in (
            ("communities", [OTHER_COMMUNITY]),
            ("devices", [camera("FC1", "C1", 30.27), camera("FC2", "C1", 30.271),
                         camera("FC3", "C1", 30.272), camera("FC9", "C2", 30.0)]),
        ):  # fmt: skip
            report = registry.load_rows(entity, rows)
            assert report.rejected == 0, report.errors
    node.refresh_directory()
    now, rng = clock.now(), random.Random(3)
    events = []
    for i, device in enumerate((*CAMERAS, "FC9")):
        at = now - timedelta(hours=5 - i)
        events.append(face(f"s{i}", "subject", at, device, rng))
        events.append(face(f"c{i}", "companion", at + timedelta(seconds=20), device, rng))
        if device in CAMERAS:
            events.append(face(f"l{i}", "late", at + timedelta(minutes=5), device, rng))
    events.append(face("x1", "stranger", now - timedelta(hours=5, seconds=-10), "FC1", rng))
    submit(node, *events)
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    log_in(client, "station")
    created = client.post("/api/v1/cases", json={
        "id": CASE, "category": "robbery", "time_from": (now - timedelta(hours=12)).isoformat(),
        "latitude": 30.27, "longitude": 120.15, "jurisdiction_id": "J-STATION",
    })  # fmt: skip
    assert created.status_code == 201, created.text


def search(clock: ManualClock, **changes: Any) -> dict[str, Any]:
    now = clock.now()
    body = {"subject_kind": "face", "feature": FACES.enrolled("subject"), "case_number": CASE,
            "reason": REASON, "since": (now - timedelta(days=1)).isoformat(),
            "until": now.isoformat(), "window_seconds": 60, "min_places": 3}  # fmt: skip
    body.update(changes)
    return body


def _post(client: TestClient, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/trajectories/co-travellers", json=body)


def test_the_companion_is_found_and_the_search_audited(
    client: TestClient, clock: ManualClock, node: Node, captures: None
) -> None:
    response = _post(client, search(clock))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject_kind"] == "face" and body["subject_passages"] == 3  # not J-OTHER's
    [found] = body["co_travellers"]  # not the stranger (one camera), nor the one 5 min behind
    assert found["places"] == 3 and found["subject_masked"] == "face FC1/c0"
    assert [p["device_id"] for p in found["pairs"]] == list(CAMERAS)
    assert "key" not in found
    with node.db.session() as session:
        [entry] = node.governance.audit(session).search(action="trajectory.co_travellers")
    assert entry.record_type == "face_event"
    assert entry.record_ids == ["FC3/s2", "FC2/s1", "FC1/s0"]  # newest first, as read
    assert entry.case_number == CASE and entry.purpose == REASON
    assert entry.details["found"] == 1 and entry.details["matched"] == 3
    assert entry.details["compared"] == 10  # every capture at the station's three cameras
    assert FACES.enrolled("subject") not in str(entry.details)


def test_the_window_the_places_and_the_threshold_decide(
    client: TestClient, clock: ManualClock, captures: None
) -> None:
    wide = _post(client, search(clock, window_seconds=600)).json()
    assert sorted(f["subject_masked"] for f in wide["co_travellers"]) == [
        "face FC1/c0",
        "face FC1/l0",
    ]
    two = _post(client, search(clock, min_places=2)).json()
    assert [f["subject_masked"] for f in two["co_travellers"]] == ["face FC1/c0"]
    assert _post(client, search(clock, min_places=4)).json()["co_travellers"] == []
    strict = _post(client, search(clock, min_similarity=0.999)).json()
    assert strict["subject_passages"] == 0 and strict["co_travellers"] == []


def test_scope_purpose_and_a_bad_feature(
    client: TestClient, clock: ManualClock, captures: None
) -> None:
    log_in(client, "command")  # the city also reads J-OTHER's camera: four shared places
    city = _post(client, search(clock, min_places=4))
    assert city.status_code == 200, city.text
    assert [f["places"] for f in city.json()["co_travellers"]] == [4]
    log_in(client, "outsider")
    assert _post(client, search(clock)).status_code == 404
    log_in(client, "grid")
    assert _post(client, search(clock)).status_code == 403
    log_in(client, "station")
    for changes, field in (
        ({"reason": " "}, "reason"),
        ({"feature": "not base64!"}, "feature"),
        ({"feature": None}, "feature"),
        ({"reveal": True}, "reveal"),
    ):
        response = _post(client, search(clock, **changes))
        assert response.status_code == 400, (changes, response.text)
        assert response.json()["error"]["field"] == field


def test_a_faces_trajectory_is_its_matched_captures_in_time_order_audited(
    client: TestClient, clock: ManualClock, node: Node, captures: None
) -> None:
    body = {k: v for k, v in search(clock).items() if k not in ("window_seconds", "min_places")}
    response = client.post("/api/v1/trajectories", json=body)
    assert response.status_code == 200, response.text
    steps = response.json()["steps"]
    assert [s["device_id"] for s in steps] == list(CAMERAS)  # J-OTHER's camera not read
    assert {s["source"] for s in steps} == {"face"} and steps[1]["seconds_since_previous"] == 3600
    with node.db.session() as session:
        [entry] = node.governance.audit(session).search(action="trajectory.read")
    assert entry.record_type == "face_event" and entry.case_number == CASE
    assert sorted(entry.record_ids) == ["FC1/s0", "FC2/s1", "FC3/s2"]
    assert entry.details["compared"] == 10 and entry.details["matched"] == 3


def test_the_page_shows_a_faces_trajectory_and_co_travellers(
    client: TestClient, clock: ManualClock, captures: None
) -> None:
    now = clock.now()
    form = {"subject_kind": "face", "feature": FACES.enrolled("subject"), "case_number": CASE,
            "reason": REASON, "since": f"{now - timedelta(days=1):%Y-%m-%dT%H:%M}",
            "until": f"{now + timedelta(minutes=1):%Y-%m-%dT%H:%M}", "with_co": "1",
            "window_seconds": "60", "min_places": "3", "reveal": "1"}  # fmt: skip
    page = client.post("/trajectories", data=form, params={"lang": "zh"})
    assert page.status_code == 200, page.text
    assert page.text.count('data-source="face"') == 3
    assert 'id="traj-co"' in page.text and "face FC1/c0" in page.text
    assert 'data-places="3"' in page.text and 'class="revealed"' not in page.text
    strict = client.post("/trajectories", data={**form, "min_similarity": "0.999"})
    assert strict.status_code == 200 and 'id="traj-none"' in strict.text
