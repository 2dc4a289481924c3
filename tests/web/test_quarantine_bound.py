"""The quarantine keeps at most the intake's body limit of raw input per item.

An item over it keeps its first bytes, its original size and the sha256 of the whole, and
says so; replay refuses it (it cannot be resubmitted whole) and the next item is stored.
(The MQTT path: tests/ingest/mqtt/test_oversized_payload.py.)
"""

from __future__ import annotations

from hashlib import sha256

from fastapi.testclient import TestClient

from tests.web.conftest import log_in
from tests.web.test_governance_pages import users, vehicle
from zhian.access.scope import JurisdictionScope
from zhian.kit.clock import ManualClock
from zhian.node import Node

__all__ = ["users"]  # the fixture, used by name

MIB = 1024 * 1024


def padded(item: bytes, size: int) -> bytes:
    """`item` with a padding field that brings it to `size` bytes."""
    head = item[:-1] + b', "note": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


def test_an_item_over_the_limit_is_kept_cut_with_its_size_and_hash_and_not_replayed(
    client: TestClient, node: Node, clock: ManualClock, users: None
) -> None:
    limit = node.settings.intake.max_body_bytes
    huge = padded(vehicle("huge", clock.now(), "XX12345"), limit + 4 * MIB)
    result = node.intake.submit_raw(
        [huge], source="native", sender_id=None, content_type="application/json"
    )
    assert result.items[0].status == "rejected"

    [item] = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert item.raw == huge[:limit]
    assert (item.raw_size, item.raw_sha256) == (len(huge), sha256(huge).hexdigest())
    cut = item.reasons[-1]["reason"]
    assert cut == (
        f"payload of {len(huge):,} bytes over the {limit // MIB} MiB limit: "
        f"the first {limit // MIB} MiB kept, sha256 {sha256(huge).hexdigest()}"
    )

    report = node.replay_quarantine(ids=[item.id])
    assert (report.replayed, report.accepted, report.still_rejected) == (1, 0, 1)
    [still] = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert still.replay_outcome is not None
    assert "cannot be resubmitted whole" in still.replay_outcome
    assert still.raw == huge[:limit]  # never replaced by what a resubmission said

    after = node.intake.submit_raw(
        [vehicle("next", clock.now(), "粤B12345")],
        source="native",
        sender_id=None,
        content_type="application/json",
    )
    assert after.items[0].status == "accepted"

    log_in(client, "integrator")
    page = client.get("/quarantine")
    assert page.status_code == 200
    assert page.text.count('data-reason="invalid"') == 1
    assert f"payload of {len(huge):,} bytes" in page.text
    assert "cannot be resubmitted whole" in page.text


def test_an_item_within_the_limit_is_kept_whole(node: Node, clock: ManualClock) -> None:
    limit = node.settings.intake.max_body_bytes
    exact = padded(vehicle("exact", clock.now(), "XX12345"), limit)
    node.intake.submit_raw(
        [exact], source="native", sender_id=None, content_type="application/json"
    )
    [item] = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert item.raw == exact and item.raw_size is None and item.raw_sha256 is None
