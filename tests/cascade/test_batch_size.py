"""A parent that answers 413 (the batch is larger than its `intake.max_body_bytes`): the
child halves its batch until it fits, sends everything once and in order, and the link
stays up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.cascade.parents import (
    CHILD_ID,
    FaultyLink,
    add_user,
    drain,
    forwarder,
    issue_token,
    open_parent,
    parent_batches,
    parent_events,
    parent_settings,
    submit,
)
from tests.ingest.factories import access_event
from zhian.cascade.forwarder import read_health
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app

BODY_LIMIT = 4096  # bytes: some 15 access events with their device summaries


@pytest.fixture
def parent(tmp_path: Path, clock: ManualClock) -> Iterator[Node]:
    node = open_parent(tmp_path / "district", clock, intake={"max_body_bytes": BODY_LIMIT})
    add_user(node, clock, "installer", "integrator", "J-STATION")
    yield node
    node.close()


def test_a_413_halves_the_batch_until_it_fits_and_nothing_is_lost(
    parent: Node, child: Node, clock: ManualClock
) -> None:
    start = clock.now() - timedelta(minutes=30)
    expected = [f"e-{i:03d}" for i in range(60)]
    for i, event_id in enumerate(expected):  # one log record per event
        submit(child, [access_event(event_id, start + timedelta(seconds=i))])
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    with TestClient(create_app(parent)) as client:
        link = FaultyLink(client)
        forward = forwarder(child, link, parent_settings(credential, batch_events=100))
        assert drain(forward) >= 60
        health = read_health(child.settings.workspace)
        assert health is not None and health.is_up and health.registrations == 1
        assert health.cache_records == 0
    assert parent_events(parent, "DOOR1") == expected
    # Several smaller batches went instead of one of 100 events.
    assert parent_batches(parent, "DOOR1") >= 60 * 200 // BODY_LIMIT
    assert link.requests.count("/api/v1/cascade/batches") > parent_batches(parent, "DOOR1")
