"""Replayed history (`zhian demo`) carries the simulated time on what the rules do to alerts.

The demo's intake runs ahead of the rule engine: by the time the engine reads a chunk, the
node's clock (`ArrivalClock`) already stands where the replay has reached. An alert the
rules clear in that history must close, and its `cleared` action be stamped, at the time
the history cleared it, as an alert raised in it opens at its own time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.ingest.factories import load_master_data
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter
from zhian.config import load_settings
from zhian.ingest.events import HISTORY_SUFFIX, HeartbeatEvent
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.sim.replay import ArrivalClock

LIVE = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
FAULT_AT = LIVE - timedelta(hours=6)  # the history: a camera faults,
FIXED_AT = FAULT_AT + timedelta(hours=1)  # reports fine an hour later,
REACHED = FAULT_AT + timedelta(hours=3)  # and the replay goes on past it
HISTORY = "sim" + HISTORY_SUFFIX


@pytest.fixture
def replaying(workspace: Path) -> Iterator[tuple[Node, ArrivalClock]]:
    live = ManualClock(LIVE)
    arrival = ArrivalClock(FAULT_AT - timedelta(minutes=1), live=live)
    settings = load_settings(workspace, log={"fsync": False})
    with Node.open(settings, arrival, feed=False) as node:
        load_master_data(node, now=FAULT_AT - timedelta(minutes=1))
        yield node, arrival


def _heartbeat(event_id: str, device_id: str, at: datetime, status: str) -> HeartbeatEvent:
    fault_code = "lens_blocked" if status == "fault" else None
    return HeartbeatEvent(
        id=event_id, device_id=device_id, time=at, status=status, fault_code=fault_code
    )  # type: ignore[arg-type]


def test_a_clear_in_replayed_history_is_stamped_with_the_simulated_time(
    replaying: tuple[Node, ArrivalClock],
) -> None:
    node, arrival = replaying
    chunks = [
        [_heartbeat("h1", "CAM1", FAULT_AT, "fault")],
        [_heartbeat("h2", "CAM1", FIXED_AT, "ok")],
        [_heartbeat("h3", "DOOR1", REACHED, "ok")],
    ]
    # The intake takes every chunk before the rules read any (the engine lags the replay).
    for chunk in chunks:
        arrival.arrive(chunk)
        assert node.intake.submit_events(chunk, source=HISTORY).accepted == 1
    assert arrival.now() == REACHED
    node.rule_engine.drain()

    with node.alerts() as alerts:
        [summary] = alerts.list_alerts(
            AlertFilter(kind="device_fault"), scope=JurisdictionScope.unscoped()
        ).items
        alert = alerts.get_alert(summary.id, scope=JurisdictionScope.unscoped())
    assert alert.state == "closed" and alert.outcome == "resolved"
    assert alert.created_at == FAULT_AT
    assert alert.closed_at == FIXED_AT  # not REACHED, where the replay's clock stood
    times = {action.action: action.at for action in alert.timeline}
    assert times == {"created": FAULT_AT, "cleared": FIXED_AT}
    assert all(deadline.met_at in (None, FIXED_AT) for deadline in alert.deadlines)
