"""The daily retention run inside the node: due at the configured hour, once a day, audited."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.store.vault import MemoryVault
from zhian.config import GovernanceSettings, load_settings
from zhian.db.engine import Database
from zhian.governance.context import Governance
from zhian.governance.keys import KeyRing
from zhian.governance.retention import RETENTION_ACTION
from zhian.governance.tasks import RetentionScheduler
from zhian.ingest.events import HeartbeatEvent, LoggedEvent
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.retention_classes import node_retention_registry
from zhian.store.events import EventStore

CST = timezone(timedelta(hours=8))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(tmp_path / "events.duckdb", MemoryVault()) as opened:
        yield opened


def scheduler(
    db: Database,
    store: EventStore,
    ring: KeyRing,
    clock: ManualClock,
    tmp_path: Path,
    **settings: object,
) -> RetentionScheduler:
    governance_settings = GovernanceSettings.model_validate({"retention_hour": 3, **settings})
    return RetentionScheduler(
        db=db,
        registry=node_retention_registry(store, tmp_path / "blobs"),
        settings=governance_settings,
        governance=Governance(governance_settings, clock, ring),
        clock=clock,
        zone=CST,
    )


def runs_on_record(db: Database, ring: KeyRing, clock: ManualClock) -> int:
    with db.session() as session:
        audit = Governance(GovernanceSettings(), clock, ring).audit(session)
        return len(audit.search(action=RETENTION_ACTION))


def test_runs_once_a_day_at_the_configured_hour(
    db: Database, store: EventStore, ring: KeyRing, tmp_path: Path
) -> None:
    clock = ManualClock(datetime(2026, 11, 20, 9, 0, tzinfo=CST))
    old = HeartbeatEvent(
        id="H1", device_id="DOOR1", time=clock.now() - timedelta(days=40), status="ok"
    )
    store.apply([(1, LoggedEvent(old.time, "native", old))])
    job = scheduler(db, store, ring, clock, tmp_path)
    job.recall()  # nothing on record: start-up counts as the last run, no purge at boot
    assert job.tick() is None
    assert store.queries.count_by_type().get("heartbeat") == 1

    clock.set(datetime(2026, 11, 21, 2, 59, tzinfo=CST))
    assert job.tick() is None  # not yet 03:00
    clock.set(datetime(2026, 11, 21, 3, 0, tzinfo=CST))
    report = job.tick()
    assert report is not None and report.by_class()["heartbeat"].removed == 1
    assert store.queries.count_by_type().get("heartbeat", 0) == 0
    assert job.tick() is None  # once per day
    clock.set(datetime(2026, 11, 21, 23, 0, tzinfo=CST))
    assert job.tick() is None
    clock.set(datetime(2026, 11, 22, 3, 30, tzinfo=CST))
    assert job.tick() is not None
    assert runs_on_record(db, ring, clock) == 2


def test_a_node_down_at_the_hour_catches_up_from_the_audit_log(
    db: Database, store: EventStore, ring: KeyRing, tmp_path: Path
) -> None:
    clock = ManualClock(datetime(2026, 11, 20, 3, 5, tzinfo=CST))
    first = scheduler(db, store, ring, clock, tmp_path)
    first.run_now()
    # Restarted two days later at noon: yesterday's and today's 03:00 went by unrun.
    clock.set(datetime(2026, 11, 22, 12, 0, tzinfo=CST))
    second = scheduler(db, store, ring, clock, tmp_path)
    second.recall()
    assert second.last_run_at == datetime(2026, 11, 20, 3, 5, tzinfo=CST)
    assert second.tick() is not None
    assert second.tick() is None
    assert runs_on_record(db, ring, clock) == 2


def test_turned_off_it_never_runs(
    db: Database, store: EventStore, ring: KeyRing, tmp_path: Path
) -> None:
    clock = ManualClock(datetime(2026, 11, 20, 3, 5, tzinfo=CST))
    job = scheduler(db, store, ring, clock, tmp_path, retention_daily=False)
    job.start()
    assert job.tick() is None
    job.stop()
    assert runs_on_record(db, ring, clock) == 0


def test_the_running_node_runs_it_in_its_own_thread(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 11, 20, 1, 0, tzinfo=UTC))  # 09:00 at +08:00
    settings = load_settings(tmp_path / "ws", governance={"retention_hour": 10})
    with Node.open(settings, clock) as node:
        assert node.retention.runs == 0
        clock.advance(timedelta(hours=1, minutes=1))
        node.retention.poke()  # the test's clock moved: look now instead of at the next poll
        deadline = time.monotonic() + 10
        while node.retention.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert node.retention.runs == 1
        with node.db.session() as session:
            [entry] = node.governance.audit(session).search(action=RETENTION_ACTION)
        assert entry.actor_id == "retention-scheduler"
        assert node.retention.last_run_at == clock.now()
