"""The native intake API: per-item outcomes, idempotency, quarantine, whole-request errors."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.ingest.conftest import bearer
from tests.ingest.factories import access_event
from zhian.access.scope import JurisdictionScope
from zhian.kit.clock import ManualClock
from zhian.node import Node


def post_json(client: TestClient, token: str, body: object) -> dict[str, object]:
    response = client.post("/api/v1/events", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_single_event_is_accepted_and_stored(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    result = post_json(client, tokens["DOOR1"], access_event("e1", clock.now()))

    assert result["accepted"] == 1
    assert result["items"] == [{"index": 0, "status": "accepted", "id": "e1", "device_id": "DOOR1"}]
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert node.store.count_event("DOOR1", "e1") == 1


def test_bad_items_do_not_sink_good_neighbours(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    now = clock.now()
    good = access_event("good-1", now)
    wrong_type = access_event("bad-type", now, direction=5)
    missing = access_event("bad-missing", now)
    del missing["method"]
    unknown_type = {"type": "gunshot", "id": "x", "device_id": "DOOR1", "time": now.isoformat()}
    good_too = access_event("good-2", now)

    result = post_json(client, tokens["DOOR1"], [good, wrong_type, missing, unknown_type, good_too])

    assert (result["accepted"], result["rejected"]) == (2, 3)
    items = result["items"]
    assert isinstance(items, list)
    assert [item["status"] for item in items] == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert items[1]["errors"] == [{"field": "direction", "reason": "Expected `str`, got `int`"}]
    assert items[2]["errors"] == [{"field": "method", "reason": "is required"}]
    assert items[3]["errors"][0]["field"] == "type"
    assert "expected one of access" in items[3]["errors"][0]["reason"]

    held = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert [json.loads(item.raw) for item in held] == [wrong_type, missing, unknown_type]
    assert {item.reason_code for item in held} == {"invalid"}
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert node.store.queries.count_by_type().get("access", 0) == 2


def test_ndjson_reports_line_numbers_and_keeps_malformed_lines(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    now = clock.now()
    lines = [
        json.dumps(access_event("n1", now)),
        "",
        '{"type": "access", "id": "broken"',
        json.dumps(access_event("n2", now)),
    ]
    response = client.post(
        "/api/v1/events",
        content="\n".join(lines).encode(),
        headers={**bearer(tokens["DOOR1"]), "Content-Type": "application/x-ndjson"},
    )

    result = response.json()
    assert response.status_code == 200
    assert [(i["line"], i["status"]) for i in result["items"]] == [
        (1, "accepted"),
        (3, "rejected"),
        (4, "accepted"),
    ]
    assert "malformed" in result["items"][1]["errors"][0]["reason"]
    [held] = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert held.raw == b'{"type": "access", "id": "broken"'
    assert held.reason_code == "malformed"


def test_resending_is_reported_as_duplicate_and_stored_once(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    batch = [access_event("d1", clock.now()), access_event("d2", clock.now())]
    first = post_json(client, tokens["DOOR1"], batch)
    again = post_json(client, tokens["DOOR1"], [*batch, access_event("d1", clock.now())])

    assert first["accepted"] == 2
    assert (again["accepted"], again["duplicate"]) == (0, 3)
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert node.store.count_event("DOOR1", "d1") == 1
    assert node.store.count_event("DOOR1", "d2") == 1


def test_duplicates_are_recognised_after_a_restart(
    settings, clock: ManualClock, tokens: dict[str, str], node: Node
) -> None:
    node.intake.submit_raw(
        [json.dumps(access_event("r1", clock.now())).encode()],
        source="test",
        sender_id="DOOR1",
        content_type="application/json",
    )
    node.close()
    with Node.open(settings, clock) as reopened:
        result = reopened.intake.submit_raw(
            [json.dumps(access_event("r1", clock.now())).encode()],
            source="test",
            sender_id="DOOR1",
            content_type="application/json",
        )
        assert (result.accepted, result.duplicate) == (0, 1)


def test_device_authentication(
    client: TestClient, tokens: dict[str, str], clock: ManualClock
) -> None:
    event = access_event("a1", clock.now())

    missing = client.post("/api/v1/events", json=event)
    wrong = client.post("/api/v1/events", json=event, headers=bearer("not-a-token"))

    assert missing.status_code == 401
    assert missing.json()["error"]["field"] == "Authorization"
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == "the device token is not valid"
    # A disabled device's own token is refused saying why (OFF1 is registered disabled).
    retired = client.post("/api/v1/events", json=event, headers=bearer(tokens["OFF1"]))
    assert retired.status_code == 401
    assert "device 'OFF1' is disabled" in retired.json()["error"]["message"]


def test_device_rules_per_item(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    now = clock.now()
    result = post_json(
        client,
        tokens["G1"],
        [
            access_event("via-gateway", now, device_id="DOOR1"),
            access_event("stranger", now, device_id="NOPE"),
            access_event("retired", now, device_id="OFF1"),
            access_event("not-mine", now, device_id="CAM1"),
        ],
    )
    items = result["items"]
    assert isinstance(items, list)
    assert items[0]["status"] == "accepted"
    assert items[1]["errors"] == [{"field": "device_id", "reason": "unknown device 'NOPE'"}]
    assert [item.get("code") for item in items] == [
        None,
        "unknown_device",
        "disabled_device",
        "wrong_sender",
    ]
    assert items[2]["errors"] == [{"field": "device_id", "reason": "device 'OFF1' is disabled"}]
    assert items[3]["errors"][0]["field"] == "device_id"
    assert "may not post for 'CAM1'" in items[3]["errors"][0]["reason"]
    codes = {
        item.event_id: item.reason_code
        for item in node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    }
    assert codes == {
        "stranger": "unknown_device",
        "retired": "disabled_device",
        "not-mine": "wrong_sender",
    }


def test_an_event_refused_from_a_well_formed_array_is_quarantined_verbatim(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    # Every item is a valid event, so the array is decoded in one go (framing); the refused
    # one's bytes are still cut from the body as sent, spacing and key order included.
    now = clock.now()
    good = json.dumps(access_event("fine", now, device_id="DOOR1"))
    stranger = json.dumps(access_event("stray", now, device_id="NOPE"), indent=1)
    body = f"[ {good} ,\n{stranger}\t]"
    response = client.post(
        "/api/v1/events",
        content=body.encode(),
        headers={**bearer(tokens["G1"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["rejected"]) == (1, 1)
    assert result["items"][1]["code"] == "unknown_device"
    held = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert [(item.event_id, item.raw) for item in held] == [("stray", stranger.encode())]


def test_event_time_window(client: TestClient, tokens: dict[str, str], clock: ManualClock) -> None:
    now = clock.now()
    result = post_json(
        client,
        tokens["DOOR1"],
        [
            access_event("skewed-ok", now + timedelta(minutes=9)),
            access_event("future", now + timedelta(minutes=11)),
            access_event("ancient", now - timedelta(days=31)),
            {**access_event("naive", now), "time": "2026-11-20T09:00:00"},
        ],
    )
    items = result["items"]
    assert isinstance(items, list)
    assert [i["status"] for i in items] == ["accepted", "rejected", "rejected", "rejected"]
    assert items[1]["errors"][0]["field"] == "time"
    assert "future" in items[1]["errors"][0]["reason"]
    assert "older than" in items[2]["errors"][0]["reason"]
    assert items[3]["errors"][0] == {
        "field": "time",
        "reason": "Expected `datetime` with a timezone component",
    }


def test_whole_request_errors(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    headers = bearer(tokens["DOOR1"])
    event = json.dumps(access_event("w1", clock.now()))

    wrong_type = client.post(
        "/api/v1/events", content=event, headers={**headers, "Content-Type": "text/plain"}
    )
    malformed = client.post(
        "/api/v1/events", content=b"[{oops", headers={**headers, "Content-Type": "application/json"}
    )
    limit = node.settings.intake.max_body_bytes
    too_large = client.post(
        "/api/v1/events",
        content=b"[" + b" " * limit + b"]",
        headers={**headers, "Content-Type": "application/json"},
    )
    too_many = client.post(
        "/api/v1/events",
        content="\n".join([event] * (node.settings.intake.max_batch_items + 1)),
        headers={**headers, "Content-Type": "application/x-ndjson"},
    )

    assert wrong_type.status_code == 415
    assert wrong_type.json()["error"]["field"] == "Content-Type"
    assert malformed.status_code == 400
    assert "not valid JSON" in malformed.json()["error"]["message"]
    assert too_large.status_code == 413
    assert too_many.status_code == 413
    [held] = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert held.raw == b"[{oops"
    assert held.reason_code == "malformed"


def test_face_feature_is_normalised_and_checked(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    now = clock.now().isoformat()
    face = {"type": "face", "device_id": "CAM1", "time": now, "quality": 0.8}
    result = post_json(
        client,
        tokens["CAM1"],
        [
            {**face, "id": "f-list", "feature": [0.5] * 128},
            {**face, "id": "f-short", "feature": [0.5] * 12},
            {**face, "id": "f-b64", "feature": "not base64!"},
            {**face, "id": "f-quality", "quality": 1.5},
        ],
    )
    items = result["items"]
    assert isinstance(items, list)
    assert [i["status"] for i in items] == ["accepted", "rejected", "rejected", "rejected"]
    assert items[1]["errors"] == [
        {"field": "feature", "reason": "has 12 dimensions; expected 128 to 512"}
    ]
    assert items[2]["errors"] == [{"field": "feature", "reason": "is not valid base64"}]
    assert items[3]["errors"][0]["field"] == "quality"


def test_crowd_event_rules(client: TestClient, tokens: dict[str, str], clock: ManualClock) -> None:
    now = clock.now().isoformat()
    crowd = {"type": "crowd", "device_id": "CNT1", "time": now, "zone_id": "Z-PLAZA"}
    result = post_json(
        client,
        tokens["CNT1"],
        [
            {**crowd, "id": "c-occ", "occupancy": 120},
            {**crowd, "id": "c-lines", "count_in": 30, "count_out": 12, "interval_seconds": 60},
            {**crowd, "id": "c-both", "occupancy": 5, "count_in": 1, "count_out": 1},
            {**crowd, "id": "c-none"},
            {**crowd, "id": "c-zone", "zone_id": "Z-NOWHERE", "occupancy": 1},
            {**crowd, "id": "c-interval", "count_in": 3, "count_out": 1},
        ],
    )
    items = result["items"]
    assert isinstance(items, list)
    assert [i["status"] for i in items[:2]] == ["accepted", "accepted"]
    assert "not both" in items[2]["errors"][0]["reason"]
    assert "either occupancy" in items[3]["errors"][0]["reason"]
    assert items[4]["errors"] == [{"field": "zone_id", "reason": "unknown zone 'Z-NOWHERE'"}]
    assert items[5]["errors"] == [
        {"field": "interval_seconds", "reason": "is required with line counts"}
    ]


def test_quarantined_event_replays_after_master_data_fix(
    node: Node, clock: ManualClock, tokens: dict[str, str]
) -> None:
    from zhian.registry.service import RegistryService

    raw = json.dumps(access_event("late-device", clock.now(), device_id="DOOR9")).encode()
    first = node.intake.submit_raw(
        [raw], source="file", sender_id=None, content_type="application/json"
    )
    assert first.rejected == 1

    still = node.replay_quarantine()
    assert (still.accepted, still.still_rejected) == (0, 1)

    with node.db.session() as session:
        report = RegistryService(session).load_rows(
            "devices",
            [
                {
                    "id": "DOOR9",
                    "kind": "door",
                    "name": "New door",
                    "community_id": "C1",
                    "latitude": 30.27,
                    "longitude": 120.15,
                    "is_enabled": True,
                }
            ],
        )
        assert report.rejected == 0
    fixed = node.replay_quarantine()

    assert (fixed.accepted, fixed.still_rejected) == (1, 0)
    assert node.quarantine.list_held(scope=JurisdictionScope.unscoped()) == []
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert node.store.count_event("DOOR9", "late-device") == 1
