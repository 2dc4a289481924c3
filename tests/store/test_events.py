"""The DuckDB event store: schema, transactional apply, replays and the read helpers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from tests.store.factories import START, make_logged
from tests.store.vault import MemoryVault
from zhian.ingest.events import (
    EVENT_TYPES,
    AccessEvent,
    AlarmEvent,
    CrowdEvent,
    Event,
    FaceEvent,
    HeartbeatEvent,
    LoggedEvent,
    Subject,
    VehicleEvent,
)
from zhian.store import EventStore, schema, writer

CST = timezone(timedelta(hours=8))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(tmp_path / "events.duckdb", MemoryVault()) as event_store:
        yield event_store


def numbered(logged: list[LoggedEvent], first_seq: int = 1) -> list[tuple[int, LoggedEvent]]:
    return list(enumerate(logged, start=first_seq))


def logged(event: Event) -> LoggedEvent:
    return LoggedEvent(received_at=event.time + timedelta(seconds=1), source="native", event=event)


def test_one_table_per_event_type(store: EventStore) -> None:
    tables = list(schema.EVENT_TABLES.values())
    assert [table.event_type for table in tables] == list(EVENT_TYPES)
    assert [table.name for table in tables] == [f"{t}_events" for t in EVENT_TYPES]
    assert store.queries.count_by_type() == dict.fromkeys(EVENT_TYPES, 0)
    assert store.last_seq() == 0


def test_apply_then_count_and_find(store: EventStore) -> None:
    batch = numbered(make_logged(600))
    store.apply(batch)

    assert store.last_seq() == 600
    assert store.queries.count_by_type() == dict.fromkeys(EVENT_TYPES, 100)
    assert store.count_event("DEV001", "E000000001") == 1
    assert store.has_event("DEV001", "E000000001")
    assert not store.has_event("DEV002", "E000000001")


def test_recent_events_summaries(store: EventStore) -> None:
    at = datetime(2025, 3, 1, 16, 0, tzinfo=CST)
    events: list[Event] = [
        AccessEvent(
            id="a1",
            device_id="door-1",
            time=at,
            subject=Subject(kind="resident", ref="R00012"),
            direction="in",
            method="face",
            result="granted",
        ),
        VehicleEvent(
            id="v1",
            device_id="gate-1",
            time=at + timedelta(seconds=1),
            plate="粤B12345",
            plate_color="blue",
            vehicle_class="car",
            direction="out",
        ),
        FaceEvent(id="f1", device_id="cam-1", time=at + timedelta(seconds=2), quality=0.871),
        AlarmEvent(
            id="al1", device_id="smoke-1", time=at + timedelta(seconds=3), kind="smoke", level=3
        ),
        HeartbeatEvent(
            id="h1",
            device_id="door-1",
            time=at + timedelta(seconds=4),
            status="fault",
            fault_code="E12",
        ),
        CrowdEvent(
            id="c1",
            device_id="cam-2",
            time=at + timedelta(seconds=5),
            zone_id="Z01",
            count_in=12,
            count_out=3,
            interval_seconds=60,
        ),
    ]
    store.apply(numbered([logged(event) for event in events]))

    recent = store.queries.recent_events()
    assert [(item.type, item.summary) for item in recent] == [
        ("crowd", "zone Z01 · in 12 · out 3 · 60 s"),
        ("heartbeat", "fault · E12"),
        ("alarm", "smoke · level 3"),
        ("face", "quality 0.87 · no match"),
        ("vehicle", "out · 粤B***45 · blue · car"),
        ("access", "in · face · granted · resident R***12"),
    ]
    # The summaries name the tokens they mask, for an audited reveal.
    assert recent[-2].identifiers == [store.protector.token("plate", "粤B12345")]
    assert recent[-1].identifiers == [store.protector.token("subject", "R00012")]
    assert recent[0].identifiers == []
    access = recent[-1]
    assert access.seq == 1
    assert access.event_id == "a1"
    assert access.source == "native"
    # Stored as the same instant, handed back in UTC.
    assert access.time == at
    assert access.time.tzinfo == UTC
    assert access.received_at == at + timedelta(seconds=1)

    assert [item.event_id for item in store.queries.recent_events(limit=2)] == ["c1", "h1"]
    assert [item.event_id for item in store.queries.recent_events(device_id="door-1")] == [
        "h1",
        "a1",
    ]


def test_device_last_seen_and_events_per_minute(store: EventStore) -> None:
    # Event n comes from DEVICES[n % 20] at START + n seconds, n = 1..150.
    store.apply(numbered(make_logged(150)))

    last_seen = store.queries.device_last_seen()
    assert len(last_seen) == 20
    assert last_seen["DEV010"] == START + timedelta(seconds=150)
    assert last_seen["DEV009"] == START + timedelta(seconds=149)
    assert last_seen["DEV011"] == START + timedelta(seconds=131)

    per_minute = store.queries.events_per_minute(since=START + timedelta(seconds=60))
    assert per_minute == [
        (START + timedelta(minutes=1), 60),
        (START + timedelta(minutes=2), 31),
    ]
    with pytest.raises(ValueError):
        store.queries.events_per_minute(since=datetime(2025, 3, 1))


def test_feature_lists_are_sealed_as_base64(store: EventStore) -> None:
    face = FaceEvent(id="f", device_id="cam", time=START, quality=0.5, feature=[1.0, 2.0, 3.0])
    store.apply([(1, logged(face))])
    (feature,) = store.query("SELECT feature FROM face_events")[0]
    assert store.protector.open_feature("cam", "f", feature) == "AACAPwAAAEAAAEBA"


def test_replayed_seqs_are_skipped(store: EventStore) -> None:
    batch = numbered(make_logged(60))
    store.apply(batch[:40])
    store.apply(batch[:40])
    assert store.last_seq() == 40
    assert sum(store.queries.count_by_type().values()) == 40

    store.apply(batch[30:])  # overlaps what is stored
    assert store.last_seq() == 60
    assert sum(store.queries.count_by_type().values()) == 60
    assert all(store.count_event(item.event.device_id, item.event.id) == 1 for _, item in batch)
    assert store.event_id_counts("DEV001") == {"E000000001": 1, "E000000021": 1, "E000000041": 1}

    store.apply([])
    assert store.last_seq() == 60


def test_a_failing_insert_leaves_nothing_of_the_batch(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.apply(numbered(make_logged(12)))
    before = store.queries.count_by_type()
    real_insert = writer.insert_rows

    def insert(connection: object, table: schema.EventTable, rows: pa.Table) -> None:
        if table.event_type == "alarm":
            raise OSError("disk full")
        real_insert(connection, table, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(writer, "insert_rows", insert)
    batch = numbered(make_logged(60, first=13), first_seq=13)
    with pytest.raises(OSError, match="disk full"):
        store.apply(batch)
    # Tables inserted before the failure roll back with it.
    assert store.queries.count_by_type() == before
    assert store.last_seq() == 12

    monkeypatch.undo()
    store.apply(batch)
    assert store.last_seq() == 72
    assert sum(store.queries.count_by_type().values()) == 72


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    batch = numbered(make_logged(30))
    vault = MemoryVault()  # the node's key ring stays the same across restarts
    with EventStore(path, vault) as store:
        store.apply(batch)
    with EventStore(path, vault) as store:
        assert store.last_seq() == 30
        store.apply(batch)  # a replay of what the log already delivered
        assert sum(store.queries.count_by_type().values()) == 30


def test_reads_run_while_batches_are_applied(store: EventStore) -> None:
    batches = [numbered(make_logged(500, first=n), first_seq=n) for n in range(1, 5001, 500)]
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            while not done.is_set():
                counts = store.queries.count_by_type()
                assert sum(counts.values()) % 500 == 0  # a batch is seen whole or not at all
                store.queries.recent_events(limit=10)
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    for batch in batches:
        store.apply(batch)
    done.set()
    reader.join()
    assert errors == []
    assert sum(store.queries.count_by_type().values()) == 5000


def test_naive_received_at_is_taken_as_utc(store: EventStore) -> None:
    event = HeartbeatEvent(id="h", device_id="door-1", time=START, status="ok")
    naive = datetime(2025, 3, 1, 8, 0, 5)  # what an old log record may hold
    store.apply([(1, LoggedEvent(received_at=naive, source="native", event=event))])
    (summary,) = store.queries.recent_events()
    assert summary.received_at == naive.replace(tzinfo=UTC)


def test_identifiers_are_kept_as_tokens_and_their_values_only_sealed_in_the_vault(
    tmp_path: Path,
) -> None:
    vault = MemoryVault()
    at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    events: list[Event] = [
        AccessEvent(
            id=f"a{n}",
            device_id="door-1",
            time=at + timedelta(seconds=n),
            subject=Subject(kind="card", ref="C98765432"),
            direction="in",
            method="card",
            result="granted",
        )
        for n in range(3)
    ] + [
        VehicleEvent(
            id="v1",
            device_id="gate-1",
            time=at,
            plate="京AD12345",
            plate_color="green",
            vehicle_class="car",
            direction="in",
        )
    ]
    path = tmp_path / "events.duckdb"
    with EventStore(path, vault) as store:
        store.apply(numbered([logged(event) for event in events]))
        card, plate = vault.token("subject", "C98765432"), vault.token("plate", "京AD12345")
        assert store.query("SELECT DISTINCT subject_ref, subject_masked FROM access_events") == [
            (card, "C******32")
        ]
        assert store.query("SELECT plate, plate_masked FROM vehicle_events") == [
            (plate, "京A****45")
        ]
        assert store.identifier_tokens() == {card, plate}
    # No clear value anywhere in the file; each sealed once, in the vault, not the store.
    raw = path.read_bytes()
    assert b"C98765432" not in raw and "京AD12345".encode() not in raw
    assert sorted(row["token"] for row in vault.rows) == sorted([card, plate])  # type: ignore[type-var]
    sealed = {str(row["token"]): row["sealed"] for row in vault.rows}
    assert all(b"C98765432" not in value for value in sealed.values())  # type: ignore[operator]


def test_a_store_written_before_tokenisation_is_tokenised_in_place(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"

    # The layout of an older store: the plate in clear and no masked column.
    with duckdb.connect(str(path)) as old:
        old.execute(
            "CREATE TABLE vehicle_events (seq BIGINT, event_id VARCHAR, device_id VARCHAR, "
            "time TIMESTAMPTZ, received_at TIMESTAMPTZ, source VARCHAR, plate VARCHAR, "
            "plate_color VARCHAR, vehicle_class VARCHAR, direction VARCHAR, image VARCHAR)"
        )
        old.execute(
            "INSERT INTO vehicle_events VALUES (1, 'v1', 'gate-1', '2026-03-01 08:00:00+00', "
            "'2026-03-01 08:00:01+00', 'native', '沪C54321', 'blue', 'car', 'in', NULL)"
        )
    vault = MemoryVault()
    with EventStore(path, vault) as store:
        assert store.query("SELECT plate, plate_masked FROM vehicle_events") == [
            (vault.token("plate", "沪C54321"), "沪C***21")
        ]
        assert [row["kind"] for row in vault.rows] == ["plate"]
        # New rows line up with the upgraded layout.
        store.apply(
            [
                (
                    2,
                    logged(
                        VehicleEvent(
                            id="v2",
                            device_id="gate-1",
                            time=datetime(2026, 3, 1, 9, tzinfo=UTC),
                            plate="沪C54321",
                            plate_color="blue",
                            vehicle_class="car",
                            direction="out",
                        )
                    ),
                )
            ]
        )
        assert store.query("SELECT count(DISTINCT plate), count(*) FROM vehicle_events") == [(1, 2)]
