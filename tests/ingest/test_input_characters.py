"""Ids, names and text with control, invisible or bidirectional characters, and face
features with NaN or infinity, are refused per item with the field and the character,
quarantined verbatim, and never stored (docs/events.md, "Characters")."""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from tests.ingest.conftest import bearer
from tests.ingest.factories import access_event
from zhian.access.scope import JurisdictionScope
from zhian.ingest.validate import EventValidator, IntakeDirectory, ItemRejected, decode_event
from zhian.kit.clock import ManualClock
from zhian.node import Node


def _feature(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")


def _bad_items(now: datetime) -> list[tuple[dict[str, Any], str, str]]:
    """(event, field at fault, words its reason must hold) for every kind of bad value."""
    time = now.isoformat()
    face = {"type": "face", "id": "f", "device_id": "CAM1", "time": time, "quality": 0.9}
    nan_feature = _feature([float("nan")] + [0.5] * 127)
    inf_feature = _feature([float("-inf")] + [0.5] * 127)
    return [
        (access_event(" ", now), "id", "is blank"),
        (access_event("e\x00", now), "id", "U+0000 (NUL)"),
        (access_event("e\x1b[31m", now), "id", "U+001B (escape)"),
        (access_event("e\x85", now), "id", "U+0085"),
        (access_event("evil\u202etxt", now), "id", "U+202E (right-to-left override)"),
        (access_event("e\u2066x", now), "id", "U+2066 (left-to-right isolate)"),
        (access_event("e\u200bx", now), "id", "U+200B (zero width space)"),
        (access_event("e1", now, device_id="DOOR1\u202e"), "device_id", "U+202E"),
        (
            access_event("e2", now, subject={"kind": "resident", "ref": "R\x07"}),
            "subject.ref",
            "U+0007",
        ),
        (
            {
                "type": "alarm",
                "id": "a",
                "device_id": "DOOR1",
                "time": time,
                "kind": "fire",
                "level": 4,
                "detail": "smoke \u202eon floor 3",
            },
            "detail",
            "U+202E",
        ),
        (
            {
                "type": "heartbeat",
                "id": "h",
                "device_id": "DOOR1",
                "time": time,
                "status": "fault",
                "fault_code": "E\x00",
            },
            "fault_code",
            "U+0000",
        ),
        ({**face, "feature": nan_feature}, "feature", "NaN or infinite"),
        ({**face, "id": "f2", "feature": inf_feature}, "feature", "NaN or infinite"),
        ({**face, "id": "f3", "feature": [1e39] + [0.5] * 127}, "feature", "too large"),
    ]


def test_each_bad_value_is_refused_named_and_quarantined(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    bad = _bad_items(clock.now())
    good = access_event("fine", clock.now())
    body = [item for item, _, _ in bad] + [good]

    # G1 is the gateway of DOOR1; CAM1's events need its own token, so send them apart.
    door_items = [item for item in body if item["device_id"] != "CAM1"]
    camera_items = [item for item in body if item["device_id"] == "CAM1"]
    replies = []
    for token, items in ((tokens["G1"], door_items), (tokens["CAM1"], camera_items)):
        response = client.post("/api/v1/events", json=items, headers=bearer(token))
        assert response.status_code == 200, response.text
        replies.extend(response.json()["items"])
    outcome = {
        json.dumps(item): reply
        for item, reply in zip(door_items + camera_items, replies, strict=True)
    }

    for item, field, words in bad:
        reply = outcome[json.dumps(item)]
        assert reply["status"] == "rejected", item
        assert reply["code"] == "invalid"
        [error] = reply["errors"]
        assert error["field"] == field
        assert words in error["reason"], error
    assert outcome[json.dumps(good)]["status"] == "accepted"

    held = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert sorted(json.loads(entry.raw)["id"] for entry in held) == sorted(
        item["id"] for item, _, _ in bad
    )
    assert {entry.reason_code for entry in held} == {"invalid"}
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    stored = {kind: n for kind, n in node.store.queries.count_by_type().items() if n}
    assert stored == {"access": 1}


@dataclass(frozen=True)
class _Device:
    id: str
    is_enabled: bool = True
    gateway_id: str | None = None


_NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
_VALIDATOR = EventValidator(max_future_seconds=600, max_age_days=30)
_DIRECTORY = IntakeDirectory(devices={"DOOR1": _Device("DOOR1")})
# The documented alphabet: printable characters (letters, marks, numbers, punctuation,
# symbols) and the ASCII space.
_PRINTABLE = st.characters(categories=("L", "M", "N", "P", "S"), include_characters=" ")
_FORBIDDEN = st.one_of(
    st.characters(categories=("Cc", "Cf")),
    st.sampled_from(["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2069"]),
)


def _outcome(event_id: str) -> object:
    raw = msgspec.json.encode(access_event(event_id, _NOW))
    [checked] = _VALIDATOR.check_batch(
        [decode_event(raw)],
        directory=_DIRECTORY,
        sender_id=None,
        now=_NOW,
        image_exists=lambda _ref: False,
    )
    return checked


@given(
    st.text(_PRINTABLE, max_size=30),
    _FORBIDDEN,
    st.text(_PRINTABLE, max_size=30),
)
def test_any_id_with_a_control_or_bidi_character_is_refused(
    before: str, bad: str, after: str
) -> None:
    checked = _outcome(before + bad + after)
    assert isinstance(checked, ItemRejected)
    assert [error.field for error in checked.errors] == ["id"]
    assert f"U+{ord(bad):04X}" in checked.errors[0].reason


@given(st.text(_PRINTABLE, min_size=1, max_size=64).filter(lambda text: not text.isspace()))
def test_any_id_of_printable_characters_passes(event_id: str) -> None:
    checked = _outcome(event_id)
    assert not isinstance(checked, ItemRejected), checked
    assert checked.id == event_id


@pytest.mark.parametrize("event_id", ["门禁-0001", "e 1", "R#42/α", "👍"])
def test_everyday_ids_pass(event_id: str) -> None:
    assert not isinstance(_outcome(event_id), ItemRejected)
