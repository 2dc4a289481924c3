"""Face features in the event store: sealed at rest and bound to their row, an older store
sealed in place on first open, and re-sealed under a new key on rotation."""

from __future__ import annotations

import base64
import random
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from tests.store.factories import START
from tests.store.vault import MemoryVault
from zhian.governance.crypto import DecryptionError
from zhian.ingest.events import FaceEvent, LoggedEvent
from zhian.sim.faces import FaceFeatures
from zhian.store import EventStore

CAMERA = "cam-1"


def captures(count: int, first: int = 0) -> list[FaceEvent]:
    """Captures of `count` different people, a second apart, each with a 128-d feature."""
    faces, rng = FaceFeatures(5), random.Random(first)
    return [
        FaceEvent(
            id=f"f{n}",
            device_id=CAMERA,
            time=START + timedelta(seconds=n),
            quality=0.9,
            feature=faces.capture(f"person-{n}", rng),
            image=f"img:{n}.jpg",
        )
        for n in range(first, first + count)
    ]


def features_of(events: list[FaceEvent]) -> dict[str, str]:
    return {e.id: str(e.feature) for e in events}


def numbered(events: list[FaceEvent], first_seq: int = 1) -> list[tuple[int, LoggedEvent]]:
    return [
        (seq, LoggedEvent(received_at=e.time + timedelta(seconds=1), source="native", event=e))
        for seq, e in enumerate(events, start=first_seq)
    ]


def clear_traces(path: Path, features: dict[str, str]) -> set[str]:
    """The events whose feature lies in the store's files as base64 text or as raw floats."""
    wal = path.with_name(path.name + ".wal")
    data = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    return {
        event_id
        for event_id, text in features.items()
        if text.encode() in data or base64.b64decode(text) in data
    }


def opened_features(store: EventStore) -> dict[str, str]:
    """Every stored feature, opened through the store's protector, by event id."""
    rows = store.query(
        "SELECT device_id, event_id, feature FROM face_events WHERE feature IS NOT NULL"
    )
    return {e: store.protector.open_feature(d, e, sealed) for d, e, sealed in rows}


def write_older_store(path: Path, events: list[FaceEvent]) -> None:
    """The layout before sealing: the feature as clear base64 text (VARCHAR)."""
    with duckdb.connect(str(path)) as old:
        old.execute(
            "CREATE TABLE face_events (seq BIGINT, event_id VARCHAR, device_id VARCHAR, "
            "time TIMESTAMPTZ, received_at TIMESTAMPTZ, source VARCHAR, quality DOUBLE, "
            "subject_kind VARCHAR, subject_ref VARCHAR, feature VARCHAR, image VARCHAR, "
            "subject_masked VARCHAR)"
        )
        for seq, event in enumerate(events, start=1):
            old.execute(
                "INSERT INTO face_events VALUES (?, ?, ?, ?, ?, 'native', 0.9, NULL, NULL, ?, ?, "
                "NULL)",
                [
                    seq,
                    event.id,
                    event.device_id,
                    event.time,
                    event.time,
                    event.feature,
                    event.image,
                ],
            )
        old.execute(
            "CREATE TABLE store_state (consumer VARCHAR PRIMARY KEY, last_seq BIGINT NOT NULL)"
        )
        old.execute("INSERT INTO store_state VALUES ('event_store', ?)", [len(events)])


def test_features_are_sealed_in_the_file_and_open_to_what_came_in(tmp_path: Path) -> None:
    path, vault = tmp_path / "events.duckdb", MemoryVault()
    events = captures(20)
    with EventStore(path, vault) as store:
        store.apply(numbered(events))
        assert clear_traces(path, features_of(events)) == set()  # nor in the write-ahead log
    assert clear_traces(path, features_of(events)) == set()
    with EventStore(path, vault) as store:
        assert opened_features(store) == features_of(events)
        # Completeness (data quality) still sees a feature on every capture.
        assert store.query("SELECT count(*) FROM face_events WHERE feature IS NOT NULL") == [(20,)]


def test_an_older_store_is_sealed_in_place_on_first_open(tmp_path: Path) -> None:
    path, vault = tmp_path / "events.duckdb", MemoryVault()
    older, newer = captures(12), captures(3, first=12)
    older[5] = FaceEvent(id="f5", device_id=CAMERA, time=older[5].time, quality=0.2)  # none
    write_older_store(path, older)
    clear = {e.id: str(e.feature) for e in older if e.feature is not None}
    assert clear_traces(path, clear) == set(clear)  # the check sees clear features

    with EventStore(path, vault) as store:
        rows = store.query("SELECT event_id, feature IS NULL FROM face_events ORDER BY seq")
        assert [event_id for event_id, missing in rows if missing] == ["f5"]
        assert opened_features(store) == clear
        store.apply(numbered(newer, first_seq=13))  # new rows line up with the new layout
        assert opened_features(store) == clear | features_of(newer)
    assert clear_traces(path, clear | features_of(newer)) == set()
    with EventStore(path, vault) as store:  # a second open finds nothing left to seal
        assert opened_features(store) == clear | features_of(newer)


def test_a_feature_sealed_for_one_row_does_not_open_for_another(tmp_path: Path) -> None:
    with EventStore(tmp_path / "events.duckdb", MemoryVault()) as store:
        store.apply(numbered(captures(2)))
        [(sealed,)] = store.query("SELECT feature FROM face_events WHERE event_id = 'f0'")
        assert store.protector.open_feature(CAMERA, "f0", sealed)
        with pytest.raises(DecryptionError):
            store.protector.open_feature(CAMERA, "f1", sealed)
        with pytest.raises(DecryptionError):
            store.protector.open_feature("cam-2", "f0", sealed)


def test_rotation_reseals_every_feature_and_the_census_follows(tmp_path: Path) -> None:
    path, vault = tmp_path / "events.duckdb", MemoryVault()
    events = captures(25)
    with EventStore(path, vault) as store:
        store.apply(numbered(events))
        assert store.sealed_key_counts() == {"k1": 25}
    rotated = vault.ring.with_new_active()
    with EventStore(path, MemoryVault(rotated)) as store:
        assert store.reseal_features() == 25
        assert store.sealed_key_counts() == {"k2": 25}
        assert store.reseal_features() == 0
    # The old key can go: every feature opens with the new key alone.
    with EventStore(path, MemoryVault(rotated.without({"k1"}))) as store:
        assert opened_features(store) == features_of(events)
