"""A replayed history hands the live stream an outage at once, with the rule unchanged.

The device-offline rule counts silence from arrival. Replayed through an `ArrivalClock`,
history arrives at its own times, so the camera the simulator keeps silent across the
hand-over (`scenarios_boundary`) is reported offline within a minute of going live, stays
open while the live stream keeps it silent, and clears itself when it reports again.
Replayed the naive way (everything arriving now), the same history raises nothing yet.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter, AlertSummary
from zhian.config import load_settings
from zhian.devices.service import DeviceService
from zhian.ingest.events import Event
from zhian.kit.clock import Clock, ManualClock
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.sim import District, build_district, stream_events
from zhian.sim.replay import ArrivalClock
from zhian.sim.scenarios_boundary import AFTER_START, boundary_cameras

NOW = datetime(2026, 11, 18, 2, 10, tzinfo=UTC)  # 10:10 in the district
HISTORY = timedelta(hours=3)
CHUNK = 500  # the demo sends 5000 at full scale: minutes of history each


@pytest.fixture(scope="module")
def district() -> District:
    return build_district(seed=7, scale=0.3)


def _open(workspace: Path, district: District, clock: Clock) -> Node:
    node = Node.open(load_settings(workspace, log={"fsync": False}), clock, feed=False)
    folder = workspace / "masterdata"
    district.write_csv(folder)
    reports = import_paths(
        node.db, sorted(folder.glob("*.csv")), identity=node.governance.require_sealer()
    )
    assert all(report.rejected == 0 for report in reports)
    with node.db.session() as session:
        DeviceService(session).issue_tokens(
            [str(r["id"]) for r in district.tables["devices"]], now=clock.now()
        )
    node.refresh_directory()
    node.rule_engine.evaluate()
    return node


def _replay(node: Node, events: Iterator[Event]) -> None:
    """What `zhian demo` does, with the engine's work done in step with each chunk."""
    engine = node.rule_engine
    while chunk := list(itertools.islice(events, CHUNK)):
        assert node.intake.submit_events(chunk, source="sim").rejected == 0
        engine.drain()
        engine.evaluate()


def _offline(node: Node) -> list[AlertSummary]:
    with node.alerts() as alerts:
        return alerts.list_alerts(
            AlertFilter(kind="device_offline"), per_page=100, scope=JurisdictionScope.unscoped()
        ).items


def test_an_outage_across_the_hand_over_shows_within_a_minute(
    tmp_path: Path, district: District
) -> None:
    live = ManualClock(NOW)
    arrival = ArrivalClock(NOW - HISTORY, live=live)
    camera = boundary_cameras(district)[0]
    with _open(tmp_path / "arrival", district, arrival) as node:
        engine = node.rule_engine
        history = stream_events(district, start=NOW - HISTORY, end=NOW, seed=7)
        _replay(node, arrival.follow(history))
        assert not arrival.is_live and arrival.now() < NOW
        arrival.go_live()
        assert arrival.is_live and arrival.now() == NOW
        live.advance(timedelta(seconds=30))
        engine.drain()
        engine.evaluate()
        raised = [a for a in _offline(node) if a.device_id == camera]
        assert len(raised) == 1 and raised[0].state == "new"
        assert raised[0].created_at <= NOW + timedelta(minutes=1)

        # The live stream keeps it silent for a while, then it reports and the alert clears.
        stream = stream_events(district, start=NOW, end=None, seed=8)
        pending: list[Event] = []
        for minute in range(1, AFTER_START // 60 + 8):
            until = NOW + timedelta(minutes=minute)
            live.set(until)
            batch = [*pending]
            pending.clear()
            for event in stream:
                if event.time > until:
                    pending.append(event)
                    break
                batch.append(event)
            if batch:
                node.intake.submit_events(batch, source="sim")
            engine.drain()
            engine.evaluate()
            if minute == AFTER_START // 60 - 1:
                assert not any(a.device_id == camera for a in _live_cleared(node))
        assert any(a.device_id == camera for a in _live_cleared(node))


def _live_cleared(node: Node) -> list[AlertSummary]:
    return [a for a in _offline(node) if a.state == "closed"]


def test_replayed_all_at_once_the_same_history_raises_nothing_yet(
    tmp_path: Path, district: District
) -> None:
    clock = ManualClock(NOW)
    with _open(tmp_path / "naive", district, clock) as node:
        _replay(node, stream_events(district, start=NOW - HISTORY, end=NOW, seed=7))
        clock.advance(timedelta(seconds=30))
        node.rule_engine.evaluate()
        assert _offline(node) == []  # the rule is not bent for the demo
