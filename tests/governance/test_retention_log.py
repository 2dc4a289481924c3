"""Retention of the durable intake log: whole segments go once every consumer has read them
and they are past `governance.log_days`; the intake, the store and the ferry go on."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.ingest.factories import load_master_data
from zhian.audit.service import Actor
from zhian.config import GovernanceSettings, IntakeSettings, Settings, load_settings
from zhian.db.engine import Database
from zhian.errors import ConfigurationError
from zhian.governance.context import Governance
from zhian.governance.retention import RetentionReport, RetentionService, check_log_days
from zhian.ingest.events import LoggedBatch, VehicleEvent
from zhian.ingest.ferry.service import ExportWindowPrunedError
from zhian.kit.clock import ManualClock
from zhian.log import EventLog, LocalEventLog
from zhian.node import Node
from zhian.retention_classes import node_retention_registry
from zhian.store.events import EventStore

ACTOR = Actor.system("test")
OLD_PLATE = "浙A88888"
NEW_PLATE = "浙B23456"


def bytes_under(directory: Path) -> bytes:
    """Everything stored in the files of a folder, to look for a value in the clear."""
    return b"".join(path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file())


def plates_in(log: EventLog) -> set[str]:
    """The plates of the vehicle events the log still holds, read back through it."""
    return {
        event.plate
        for _seq, record in log.iter_records()
        for event in msgspec.msgpack.decode(record, type=LoggedBatch).events
        if isinstance(event, VehicleEvent)
    }


# --- the service over a real log, store and checkpoint ----------------------------------


def vehicle(event_id: str, at: datetime, plate: str) -> VehicleEvent:
    return VehicleEvent(
        id=event_id,
        device_id="GATE1",
        time=at,
        plate=plate,
        plate_color="blue",
        vehicle_class="car",
        direction="in",
    )


@pytest.fixture
def log(tmp_path: Path) -> Iterator[LocalEventLog]:
    # One byte per segment: every appended batch starts a segment of its own.
    with LocalEventLog(tmp_path / "log", fsync=False, segment_bytes=1) as opened:
        yield opened


@pytest.fixture
def store(tmp_path: Path, db: Database, governance: Governance) -> Iterator[EventStore]:
    with EventStore(tmp_path / "events.duckdb", governance.vault(db)) as opened:
        yield opened


def fill_log(log: LocalEventLog, now: datetime) -> list[LoggedBatch]:
    """Records 1-3 arrived 40 days ago, 4 five days ago, 5 (the active segment) now."""
    ages = [40, 40, 40, 5, 0]
    batches = []
    for n, days in enumerate(ages, start=1):
        at = now - timedelta(days=days)
        batch = LoggedBatch(at, "native", [vehicle(f"V{n}", at, OLD_PLATE if days else NEW_PLATE)])
        log.append([msgspec.msgpack.encode(batch)])
        batches.append(batch)
    return batches


def consume(
    log: LocalEventLog,
    store: EventStore,
    batches: list[LoggedBatch],
    *,
    store_to: int,
    rules_to: int,
) -> None:
    """The event store has applied records 1..store_to and says so as the log's reader
    "store"; the reader "rules" has acknowledged rules_to."""
    store.apply(
        [
            (seq, logged)
            for seq, batch in enumerate(batches[:store_to], start=1)
            for logged in batch.logged_events()
        ]
    )
    log.readers.ack("store", store_to)
    log.readers.register("rules", rules_to)


def apply(
    db: Database,
    store: EventStore,
    governance: Governance,
    log: LocalEventLog,
    tmp_path: Path,
    *,
    dry_run: bool = False,
    **settings: Any,
) -> RetentionReport:
    with db.session() as session:
        return RetentionService(
            session,
            registry=node_retention_registry(store, tmp_path / "blobs"),
            settings=GovernanceSettings.model_validate(settings),
            clock=governance.clock,
            audit=governance.audit(session),
            log=log,
            intake=IntakeSettings(),
        ).apply(ACTOR, dry_run=dry_run)


def test_segments_read_by_every_consumer_and_past_the_window_go(
    db: Database,
    store: EventStore,
    governance: Governance,
    log: LocalEventLog,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    batches = fill_log(log, clock.now())
    consume(log, store, batches, store_to=5, rules_to=5)
    assert OLD_PLATE.encode() in bytes_under(log.directory)

    dry = apply(db, store, governance, log, tmp_path, dry_run=True)
    assert dry.by_class()["log"].removed == 3
    assert [s.first_seq for s in log.segments()] == [1, 2, 3, 4, 5]

    done = apply(db, store, governance, log, tmp_path)

    outcome = done.by_class()["log"]
    assert (outcome.removed, outcome.retention_days) == (3, 31)
    # Record 4 is five days old: inside the window. Record 5 is the active segment.
    assert [s.first_seq for s in log.segments()] == [4, 5]
    assert log.first_seq == 4 and log.durable_seq == 5
    kept = bytes_under(log.directory)
    assert NEW_PLATE.encode() in kept  # the search finds a plate that is there …
    assert OLD_PLATE.encode() in kept  # … record 4's, five days old, is still kept
    assert [seq for seq, _ in log.iter_records()] == [4, 5]
    with db.session() as session:
        [entry] = governance.audit(session).search(action="retention.apply")
    assert entry.details["log"] == {"removed": 3, "held": 0}


def test_past_the_window_everything_but_the_active_segment_goes(
    db: Database,
    store: EventStore,
    governance: Governance,
    log: LocalEventLog,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    batches = fill_log(log, clock.now())
    consume(log, store, batches, store_to=5, rules_to=5)
    clock.advance(timedelta(days=60))

    report = apply(db, store, governance, log, tmp_path)

    assert report.by_class()["log"].removed == 4
    assert [s.first_seq for s in log.segments()] == [5]
    assert OLD_PLATE.encode() not in bytes_under(log.directory)
    assert NEW_PLATE.encode() in bytes_under(log.directory)


@pytest.mark.parametrize(
    ("store_to", "rules_to", "first_kept"),
    [
        (2, 5, 3),  # the event store has acknowledged records 1-2 only
        (5, 1, 2),  # the rules have acknowledged record 1
        (5, 0, 1),  # the rules registered but have acknowledged nothing
    ],
)
def test_nothing_a_consumer_has_not_read_goes(
    db: Database,
    store: EventStore,
    governance: Governance,
    log: LocalEventLog,
    clock: ManualClock,
    tmp_path: Path,
    store_to: int,
    rules_to: int,
    first_kept: int,
) -> None:
    batches = fill_log(log, clock.now())
    consume(log, store, batches, store_to=store_to, rules_to=rules_to)

    report = apply(db, store, governance, log, tmp_path)

    assert report.by_class()["log"].removed == first_kept - 1
    assert log.first_seq == first_kept


def test_a_log_with_no_registered_reader_keeps_everything(
    db: Database,
    store: EventStore,
    governance: Governance,
    log: LocalEventLog,
    clock: ManualClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fill_log(log, clock.now())
    clock.advance(timedelta(days=60))

    report = apply(db, store, governance, log, tmp_path)

    assert report.by_class()["log"].removed == 0
    assert log.first_seq == 1
    assert "no reader of the log is registered" in caplog.text


def test_the_slowest_reader_decides_and_a_dropped_one_no_longer_holds_back(
    db: Database,
    store: EventStore,
    governance: Governance,
    log: LocalEventLog,
    clock: ManualClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    batches = fill_log(log, clock.now())
    consume(log, store, batches, store_to=5, rules_to=5)
    # A reader that registered once and stopped for good (a forwarder switched off).
    log.readers.register("cascade", 1)

    held = apply(db, store, governance, log, tmp_path)

    assert held.by_class()["log"].removed == 1
    assert "log reader 'cascade' has acknowledged only up to 1" in caplog.text
    assert log.readers.drop("cascade")
    assert apply(db, store, governance, log, tmp_path).by_class()["log"].removed == 2
    assert log.first_seq == 4


def test_a_longer_window_keeps_more(
    db: Database,
    store: EventStore,
    governance: Governance,
    log: LocalEventLog,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    batches = fill_log(log, clock.now())
    consume(log, store, batches, store_to=5, rules_to=5)

    report = apply(db, store, governance, log, tmp_path, log_days=45)

    assert report.by_class()["log"].removed == 0
    assert log.first_seq == 1


def test_a_log_window_shorter_than_the_duplicate_window_is_refused(
    settings: Settings,
    db: Database,
    store: EventStore,
    governance: Governance,
    log: LocalEventLog,
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigurationError, match=r"governance\.log_days = 20 "):
        apply(db, store, governance, log, tmp_path, log_days=20)
    short = load_settings(settings.workspace, governance={"log_days": 30})
    with pytest.raises(ConfigurationError, match=r"duplicate window of 30\.007 days"):
        Node(short, ManualClock(datetime(2026, 11, 20, 9, 0).astimezone()))
    assert not settings.log_dir.exists()  # refused before anything was opened
    # A shorter intake window allows a shorter log window.
    check_log_days(GovernanceSettings(log_days=8), IntakeSettings(max_age_days=7))
    with pytest.raises(ConfigurationError):
        check_log_days(GovernanceSettings(log_days=8), IntakeSettings(max_age_days=8))


# --- through a running node -------------------------------------------------------------

# One batch of this many face captures (with features) fills more than a 1 MiB segment.
FACES_PER_BATCH = 1500
FEATURE = base64.b64encode(struct.pack("<128f", *[i / 128 for i in range(128)])).decode()


def batch_of_faces(tag: str, at: datetime, plate: str) -> list[bytes]:
    events: list[dict[str, Any]] = [
        {
            "type": "face",
            "id": f"{tag}-f{i}",
            "device_id": "CAM1",
            "time": at.isoformat(),
            "quality": 0.8,
            "feature": FEATURE,
        }
        for i in range(FACES_PER_BATCH)
    ]
    events.append(
        {
            "type": "vehicle",
            "id": f"{tag}-v",
            "device_id": "CAM1",
            "time": at.isoformat(),
            "plate": plate,
            "plate_color": "blue",
            "vehicle_class": "car",
            "direction": "in",
        }
    )
    return [msgspec.json.encode(event) for event in events]


def vehicle_raw(event_id: str, at: datetime, plate: str) -> bytes:
    return msgspec.json.encode(
        {
            "type": "vehicle",
            "id": event_id,
            "device_id": "CAM1",
            "time": at.isoformat(),
            "plate": plate,
            "plate_color": "blue",
            "vehicle_class": "car",
            "direction": "in",
        }
    )


def submit(node: Node, raws: list[bytes]) -> tuple[int, int, int]:
    result = node.intake.submit_raw(
        raws, source="test", sender_id=None, content_type="application/json"
    )
    return result.accepted, result.duplicate, result.rejected


def caught_up(node: Node) -> None:
    assert node.feeder.wait_caught_up(timeout_seconds=30)
    assert node.rule_engine.wait_caught_up(timeout_seconds=30)


@pytest.fixture
def node_settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        tmp_path / "ws",
        database={"url": database_url},
        log={"segment_bytes": 1024 * 1024, "fsync": False},
        governance={"retention_daily": False},
    )


def test_a_node_prunes_its_log_and_keeps_working_after_a_restart(
    node_settings: Settings, clock: ManualClock
) -> None:
    start = clock.now()
    with Node.open(node_settings, clock) as node:
        load_master_data(node, now=start)
        for n in range(3):
            raws = batch_of_faces(f"old{n}", start - timedelta(minutes=1), OLD_PLATE)
            assert submit(node, raws) == (len(raws), 0, 0)
        clock.advance(timedelta(days=32))
        fresh = vehicle_raw("fresh", clock.now(), NEW_PLATE)
        assert submit(node, [fresh]) == (1, 0, 0)
        caught_up(node)
        # The checkpoint on record is what a restart resumes from: stopping commits it.
        node.rule_engine.stop()
        # Both readers registered themselves and acknowledged what they committed.
        assert [(p.name, p.seq) for p in node.log.readers.positions()] == [
            ("rules", 4),
            ("store", 4),
        ]
        log_dir = node.settings.log_dir
        assert [s.first_seq for s in node.log.segments()] == [1, 2, 3, 4]
        # The log is sealed at rest: its files show no plate, yet it holds both.
        assert OLD_PLATE.encode() not in bytes_under(log_dir)
        assert NEW_PLATE.encode() not in bytes_under(log_dir)
        assert plates_in(node.log) == {OLD_PLATE, NEW_PLATE}
        stored_before = len(bytes_under(log_dir))

        with node.db.session() as session:
            dry = RetentionService(
                session,
                registry=node_retention_registry(node.store, node.settings.blob_dir),
                settings=node.settings.governance,
                clock=clock,
                audit=node.governance.audit(session),
                log=node.log,
                intake=node.settings.intake,
            ).apply(ACTOR, dry_run=True)
        assert dry.by_class()["log"].removed == 3
        assert node.log.first_seq == 1

        report = node.retention.run_now()

        assert report.by_class()["log"].removed == 3
        assert node.log.first_seq == 4
        assert plates_in(node.log) == {NEW_PLATE}
        assert len(bytes_under(log_dir)) < stored_before / 100  # the faces' segments went
        with node.db.session() as session:
            [entry] = node.governance.audit(session).search(action="retention.apply")
        assert entry.details["log"]["removed"] == 3

        # The ferry cannot export from the pruned part of the log, and says so.
        from tests.ingest.ferry.conftest import ferry_of

        ferry = ferry_of(node)
        with pytest.raises(ExportWindowPrunedError, match="no longer in the durable log"):
            ferry.export(
                since=start - timedelta(hours=1),
                until=clock.now(),
                out_dir=node_settings.workspace / "out",
            )
        earliest = ferry.earliest_exportable()
        assert earliest is not None and start < earliest <= clock.now() + timedelta(minutes=10)

    with Node.open(node_settings, clock) as node:
        assert (node.log.first_seq, node.log.durable_seq) == (4, 4)
        load_master_data(node, now=clock.now())
        # The duplicate index was rebuilt from what the log kept.
        assert submit(node, [fresh]) == (0, 1, 0)
        # An event of a pruned record is past the intake's age limit: refused, not taken twice.
        old_again = vehicle_raw("old0-v", start - timedelta(minutes=1), OLD_PLATE)
        assert submit(node, [old_again]) == (0, 0, 1)
        # Numbering, the store and the rules go on from where they were.
        assert submit(node, [vehicle_raw("after", clock.now(), NEW_PLATE)]) == (1, 0, 0)
        caught_up(node)
        assert node.log.durable_seq == 5 and node.store.last_seq() == 5
        assert node.store.has_event("CAM1", "after")


def test_the_cli_shows_the_log_class_and_refuses_a_short_window(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from zhian.cli.main import app

    workspace = tmp_path / "ws"
    with Node.open(load_settings(workspace), ManualClock(datetime(2026, 11, 20).astimezone())):
        pass  # a node's workspace: database, event store and log folder
    runner = CliRunner()

    result = runner.invoke(app, ["retention", "apply", "--dry-run", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.output.splitlines() if "│ log " in line]
    assert "31 d" in row

    (workspace / "zhian.toml").write_text("[governance]\nlog_days = 3\n", encoding="utf-8")
    result = runner.invoke(app, ["retention", "apply", "-w", str(workspace)])
    assert result.exit_code == 2
    assert "governance.log_days = 3" in result.output


def test_rotation_keeps_a_key_the_log_uses_until_retention_prunes_its_records(
    tmp_path: Path, database_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from zhian.cli.main import app
    from zhian.governance.keys import load_keyring

    def keys(command: str) -> str:
        result = CliRunner().invoke(app, ["keys", command, "-w", str(settings.workspace)])
        assert result.exit_code == 0, result.output
        return result.output

    monkeypatch.setenv("ZHIAN_DATABASE__URL", database_url)
    # The smallest segments: each batch of faces fills one of its own.
    settings = load_settings(
        tmp_path / "ws",
        log={"segment_bytes": 1024 * 1024, "fsync": False},
        governance={"retention_daily": False},
    )
    start = clock.now()
    with Node.open(settings, clock) as node:  # makes the ring: k1
        load_master_data(node, now=start)
        for n in range(3):
            raws = batch_of_faces(f"old{n}", start - timedelta(minutes=1), OLD_PLATE)
            assert submit(node, raws) == (len(raws), 0, 0)

    output = keys("rotate")
    assert "Kept k1: 3 intake-log records until retention prunes them." in output
    assert "Retired keys" not in output
    ring = load_keyring(settings.governance, settings.workspace)
    assert (ring.active, set(ring.keys)) == ("k2", {"k1", "k2"})
    [k1_row] = [line for line in keys("status").splitlines() if "k1" in line]
    # key id, active, intake-log records, sealed values (all re-sealed under k2)
    assert [cell.strip() for cell in k1_row.split("│")][1:5] == ["k1", "", "3", "0"]

    clock.advance(timedelta(days=32))
    with Node.open(settings, clock) as node:  # reads k1's records, seals new ones with k2
        assert plates_in(node.log) == {OLD_PLATE}
        assert submit(node, [vehicle_raw("fresh", clock.now(), NEW_PLATE)]) == (1, 0, 0)
        caught_up(node)
        node.rule_engine.stop()  # commits the rules' checkpoint
        assert node.retention.run_now().by_class()["log"].removed == 3

    output = keys("rotate")
    assert "Retired keys: k1" in output
    assert "Kept k2: 1 intake-log records" in output
    ring = load_keyring(settings.governance, settings.workspace)
    assert (ring.active, set(ring.keys)) == ("k3", {"k2", "k3"})
