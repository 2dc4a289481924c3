"""JSON nested too deeply for a recursive decoder is refused unread, never a 500.

The class of fault: msgspec and json both recurse once per level, so 100,000 levels raise
RecursionError. Every path checks the depth first (`zhian.ingest.json_depth`), refuses the
item as malformed naming the depth, and the quarantine keeps it verbatim. (MQTT:
tests/ingest/mqtt/test_deep_payloads.py; GA/T 1400: tests/ingest/viid/test_limits.py; the
quarantine page: tests/web/test_quarantine_hostile_items.py.)
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.ingest.conftest import bearer
from tests.ingest.factories import access_event
from tests.ingest.test_one_value_per_payload import NDJSON, encoded, held_raw, stored_nothing
from zhian.ingest.files import read_chunks
from zhian.ingest.json_depth import MAX_JSON_DEPTH, depth_error
from zhian.kit.clock import ManualClock
from zhian.node import Node

LEVELS = 100_000


def deep_bodies() -> dict[str, bytes]:
    """Bodies nested 100,000 levels deep, each a different way in."""
    return {
        "arrays": b"[" * LEVELS + b"]" * LEVELS,
        "objects": b'{"a":' * LEVELS + b"1" + b"}" * LEVELS,
        "inside an event": b'{"type":"access","extra":' + b"[" * LEVELS + b"]" * LEVELS + b"}",
        "unclosed": b"[" * LEVELS,
        # An array is first decoded straight into events (framing); a value it skips while
        # looking for an event's `type` is as deep as the decoder ever goes.
        "in an array, before the type": (
            b'[{"extra":' + b"[" * LEVELS + b"]" * LEVELS + b',"type":"access"}]'
        ),
    }


def test_the_depth_is_counted_outside_strings_only() -> None:
    assert depth_error(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is None
    too_deep = depth_error(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    assert too_deep is not None and f"deeper than {MAX_JSON_DEPTH} levels" in too_deep
    assert depth_error(b'{"note": "' + b"[{" * LEVELS + b'"}') is None
    assert depth_error(b'{"note": "\\"' + b"[" * LEVELS + b'"}') is None  # escaped quote
    assert depth_error(b'["\\\\", ' + b"[" * LEVELS + b"]") is not None  # escaped backslash
    # Many bracket-free levels in sequence are shallow: a batch of events is not deep.
    assert depth_error(b"[" + b",".join([b'{"a":[1]}'] * 10_000) + b"]") is None


@pytest.mark.parametrize(
    "text", [b'"' + b'\\"' * 500_000, b'"\\' * 500_000, b'"[' * 500_000, b"[]" * 500_000]
)
def test_the_depth_scan_stays_linear_on_hostile_text(text: bytes) -> None:
    # CPU time of this process, not wall time: a loaded machine does not fail it, while a
    # quadratic scan of a megabyte would take minutes, far past the bound.
    started = time.process_time()
    depth_error(text)
    assert time.process_time() - started < 5.0


def test_a_deep_json_body_is_refused_naming_the_depth_and_quarantined(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    bodies = deep_bodies()
    for name, body in bodies.items():
        response = client.post(
            "/api/v1/events",
            content=body,
            headers={**bearer(tokens["DOOR1"]), "Content-Type": "application/json"},
        )
        assert response.status_code == 400, (name, response.text)
        assert "deeper than 64 levels" in response.json()["error"]["message"], name

    assert held_raw(node) == sorted((body, "malformed") for body in bodies.values())
    stored_nothing(node)
    batch = b"[" + encoded(access_event("next", clock.now())) + b"]"
    response = client.post(
        "/api/v1/events",
        content=batch,
        headers={**bearer(tokens["DOOR1"]), "Content-Type": "application/json"},
    )
    assert response.json()["accepted"] == 1


def test_a_deep_ndjson_line_is_refused_and_its_neighbours_go_through(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    bodies = deep_bodies()
    for number, deep in enumerate(bodies.values()):
        good = encoded(access_event(f"next-{number}", clock.now()))
        response = client.post(
            "/api/v1/events",
            content=deep + b"\n" + good,
            headers={**bearer(tokens["DOOR1"]), **NDJSON},
        )
        assert response.status_code == 200, response.text
        refused, accepted = response.json()["items"]
        assert (refused["status"], refused["code"]) == ("rejected", "malformed")
        assert "deeper than 64 levels" in refused["errors"][0]["reason"]
        assert accepted["status"] == "accepted"

    assert {raw for raw, _ in held_raw(node)} == set(bodies.values())
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    assert set(node.store.event_id_counts("DOOR1")) == {f"next-{n}" for n in range(len(bodies))}


def test_a_deep_file_line_is_refused_and_quarantined(
    node: Node, tokens: dict[str, str], clock: ManualClock, tmp_path: Path
) -> None:
    path = tmp_path / "events.ndjson"
    deep = deep_bodies()["objects"]
    path.write_bytes(deep + b"\n" + encoded(access_event("next", clock.now())) + b"\n")
    [chunk] = read_chunks(path)
    result = node.intake.submit_raw(
        chunk.items, source="file", sender_id=None, content_type="application/json"
    )
    assert [item.status for item in result.items] == ["rejected", "accepted"]
    assert held_raw(node) == [(deep, "malformed")]
