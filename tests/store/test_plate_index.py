"""The plate index (`store.plate_index`): a plate's passages read the same with it or
without it, retention still deletes indexed rows, and turning it off drops it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.store.vault import MemoryVault
from zhian.ingest.events import LoggedEvent, VehicleEvent
from zhian.store import EventStore
from zhian.store.engines import open_event_store
from zhian.store.settings import StoreSettings

AT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PLATES = ("浙A12345", "浙B67890", "沪C24680")


def _passages(count: int) -> list[tuple[int, LoggedEvent]]:
    events = [
        VehicleEvent(
            id=f"v{n}",
            device_id=f"gate-{n % 4}",
            time=AT + timedelta(minutes=n),
            plate=PLATES[n % len(PLATES)],
            plate_color="blue",
            vehicle_class="car",
            direction="in",
        )
        for n in range(count)
    ]
    return [
        (seq, LoggedEvent(received_at=e.time, source="native", event=e))
        for seq, e in enumerate(events, start=1)
    ]


def _indexes(store: EventStore) -> list[str]:
    rows = store.query(
        "SELECT index_name FROM duckdb_indexes() WHERE table_name = 'vehicle_events'"
    )
    return [name for (name,) in rows]


def _open(path: Path, vault: MemoryVault, *, plate_index: bool) -> EventStore:
    settings = StoreSettings(plate_index=plate_index)
    return open_event_store(settings, path / "events.duckdb", path / "parquet", vault)


def test_a_plates_passages_read_the_same_with_the_index_or_without(tmp_path: Path) -> None:
    vault = MemoryVault()
    answers = []
    for plate_index in (True, False):
        folder = tmp_path / str(plate_index)
        with _open(folder, vault, plate_index=plate_index) as store:
            store.apply(_passages(300))
            assert bool(_indexes(store)) is plate_index
            token = vault.token("plate", PLATES[1])
            passages = store.plate_passages(token, AT, AT + timedelta(days=1), 1000)
            answers.append([(p.event_id, p.device_id) for p in passages])
    assert answers[0] == answers[1]
    assert len(answers[0]) == 100
    assert [event_id for event_id, _ in answers[0][:3]] == ["v1", "v4", "v7"]


def test_retention_deletes_indexed_rows_and_the_index_follows(tmp_path: Path) -> None:
    vault = MemoryVault()
    with _open(tmp_path, vault, plate_index=True) as store:
        store.apply(_passages(300))
        cutoff = AT + timedelta(minutes=150)
        assert store.delete_before("vehicle", cutoff) == 150
        token = vault.token("plate", PLATES[0])
        passages = store.plate_passages(token, AT, AT + timedelta(days=1), 1000)
        assert [p.event_id for p in passages][:2] == ["v150", "v153"]
        assert len(passages) == 50


def test_turning_the_index_off_drops_it_at_the_next_start(tmp_path: Path) -> None:
    vault = MemoryVault()
    with _open(tmp_path, vault, plate_index=True) as store:
        store.apply(_passages(30))
        assert _indexes(store) == ["vehicle_events_plate"]
    with _open(tmp_path, vault, plate_index=False) as store:
        assert _indexes(store) == []
        assert store.last_seq() == 30
