"""One payload is one JSON value, and the device check meets every event: on every HTTP path.

The class of fault: a payload of several values (`{A},{B}`, `{A} {B}`), a value with
trailing garbage, an empty payload, or a value for another device. Each is refused whole
with its reason, kept verbatim in the quarantine, and nothing of it is stored or alerted;
the next valid payload is still accepted. (MQTT: tests/ingest/mqtt/test_hostile_payloads.py.)
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.ingest.conftest import bearer
from tests.ingest.factories import access_event
from zhian.access.scope import JurisdictionScope
from zhian.alerts.models import Alert
from zhian.ingest.files import read_chunks
from zhian.kit.clock import ManualClock
from zhian.node import Node

NDJSON = {"Content-Type": "application/x-ndjson"}


def fire_alarm(event_id: str, time: datetime, device_id: str) -> dict[str, object]:
    """The level-4 fire alarm an attacker raised for another community's device."""
    return {
        "type": "alarm",
        "id": event_id,
        "device_id": device_id,
        "time": time.isoformat(),
        "kind": "fire",
        "level": 4,
    }


def encoded(event: dict[str, object]) -> bytes:
    return json.dumps(event).encode()


def hostile_payloads(now: datetime) -> dict[str, bytes]:
    """Payloads DOOR1 sends; none may yield an event. Keys say what each one is."""
    own = encoded(access_event("own-1", now))
    other = encoded(fire_alarm("fire-1", now, device_id="CAM1"))
    return {
        "comma-joined": own + b"," + other,
        "comma-joined, other first": other + b"," + own,
        "blank-joined": own + b" " + other,
        "joined without separator": own + other,
        "trailing garbage": own + b"x",
        "trailing NUL": own + b"\x00",
        "an array in one item": b"[" + own + b"," + other + b"]",
    }


def stored_nothing(node: Node) -> None:
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    for device in ("DOOR1", "CAM1"):
        assert node.store.event_id_counts(device) == {}, device
    node.rule_engine.drain()
    with node.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def held_raw(node: Node) -> list[tuple[bytes, str]]:
    held = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    return sorted((item.raw, item.reason_code) for item in held)


def test_a_json_body_of_more_than_one_value_is_refused_whole(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    payloads = hostile_payloads(clock.now())
    del payloads["an array in one item"]  # a JSON array body is a documented batch
    payloads["empty"] = b""
    for name, payload in payloads.items():
        response = client.post(
            "/api/v1/events",
            content=payload,
            headers={**bearer(tokens["DOOR1"]), "Content-Type": "application/json"},
        )
        assert response.status_code == 400, (name, response.text)
        assert response.json()["error"]["field"] == "body", name

    assert held_raw(node) == sorted((p, "malformed") for p in payloads.values())
    stored_nothing(node)
    result = client.post(
        "/api/v1/events", json=access_event("next", clock.now()), headers=bearer(tokens["DOOR1"])
    ).json()
    assert result["accepted"] == 1


def test_an_ndjson_line_of_more_than_one_value_is_refused_and_quarantined(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    payloads = hostile_payloads(clock.now())
    for name, payload in payloads.items():
        response = client.post(
            "/api/v1/events", content=payload, headers={**bearer(tokens["DOOR1"]), **NDJSON}
        )
        assert response.status_code == 200, (name, response.text)
        result = response.json()
        assert (result["accepted"], result["rejected"]) == (0, 1), name
        [item] = result["items"]
        assert item["line"] == 1
        expected = "invalid" if name == "an array in one item" else "malformed"
        assert item["code"] == expected, (name, item)
        if expected == "malformed" and "garbage" not in name and "NUL" not in name:
            assert "more than one JSON value" in item["errors"][0]["reason"], item

    assert {raw for raw, _ in held_raw(node)} == set(payloads.values())
    stored_nothing(node)
    # A hostile line does not sink its neighbours, and the next line is still accepted.
    good = encoded(access_event("next", clock.now()))
    body = payloads["comma-joined"] + b"\n" + good
    response = client.post(
        "/api/v1/events", content=body, headers={**bearer(tokens["DOOR1"]), **NDJSON}
    )
    items = response.json()["items"]
    assert [(i["line"], i["status"]) for i in items] == [(1, "rejected"), (2, "accepted")]


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_an_event_for_another_device_is_refused_on_every_http_path(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock, content_type: str
) -> None:
    other = encoded(fire_alarm("fire-1", clock.now(), device_id="CAM1"))
    own = encoded(access_event("own-1", clock.now()))
    body = other if content_type == "application/json" else own + b"\n" + other
    response = client.post(
        "/api/v1/events",
        content=body,
        headers={**bearer(tokens["DOOR1"]), "Content-Type": content_type},
    )
    assert response.status_code == 200, response.text
    refused = [i for i in response.json()["items"] if i["status"] == "rejected"]
    assert [i["code"] for i in refused] == ["wrong_sender"]
    assert held_raw(node) == [(other, "wrong_sender")]
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert node.store.event_id_counts("CAM1") == {}
    node.rule_engine.drain()
    with node.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_a_gateway_line_of_two_values_is_refused_even_when_one_is_its_own(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    # G1 may post for DOOR1 (its gateway_id) but not for CAM1.
    own = encoded(access_event("own-1", clock.now(), device_id="DOOR1"))
    other = encoded(fire_alarm("fire-1", clock.now(), device_id="CAM1"))
    for line in (own + b"," + other, other + b"," + own):
        response = client.post(
            "/api/v1/events", content=line, headers={**bearer(tokens["G1"]), **NDJSON}
        )
        assert response.json()["items"][0]["code"] == "malformed"
    result = client.post(
        "/api/v1/events", content=own + b"\n" + other, headers={**bearer(tokens["G1"]), **NDJSON}
    ).json()
    assert [(i["status"], i.get("code")) for i in result["items"]] == [
        ("accepted", None),
        ("rejected", "wrong_sender"),
    ]
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert node.store.event_id_counts("CAM1") == {}
    assert node.store.event_id_counts("DOOR1") == {"own-1": 1}


def test_an_empty_ndjson_body_is_refused_and_quarantined(
    client: TestClient, node: Node, tokens: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/events", content=b"\n \n", headers={**bearer(tokens["DOOR1"]), **NDJSON}
    )
    assert response.status_code == 400
    assert held_raw(node) == [(b"\n \n", "malformed")]


def test_a_file_line_of_more_than_one_value_is_refused_and_quarantined(
    node: Node, tokens: dict[str, str], clock: ManualClock, tmp_path: Path
) -> None:
    payloads = hostile_payloads(clock.now())
    path = tmp_path / "events.ndjson"
    for number, payload in enumerate(payloads.values()):
        # Each alone with a valid neighbour: the chunk is one intake call, as `zhian ingest`.
        good = encoded(access_event(f"next-{number}", clock.now()))
        path.write_bytes(payload + b"\n" + good + b"\n")
        [chunk] = read_chunks(path)
        result = node.intake.submit_raw(
            chunk.items, source="file", sender_id=None, content_type="application/json"
        )
        assert [item.status for item in result.items] == ["rejected", "accepted"], payload

    assert {raw for raw, _ in held_raw(node)} == set(payloads.values())
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert node.store.event_id_counts("DOOR1") == {f"next-{n}": 1 for n in range(len(payloads))}
    assert node.store.event_id_counts("CAM1") == {}
