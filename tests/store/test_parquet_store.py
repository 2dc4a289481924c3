"""The Parquet event store: files by event type and day, a manifest that makes each batch
count exactly once (a writer killed mid-batch, then reopened), compaction, retention by day
folder with legal holds kept, sealed features and tokens, one writer at a time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.store.factories import START, make_logged
from tests.store.vault import MemoryVault
from zhian.config import load_settings
from zhian.ingest.events import (
    EVENT_TYPES,
    AccessEvent,
    FaceEvent,
    LoggedEvent,
    Subject,
    VehicleEvent,
)
from zhian.store.maintenance import RetentionKeep
from zhian.store.parquet import MANIFEST, ParquetEventStore

ROOT = Path(__file__).resolve().parents[2]


def numbered(logged: list[LoggedEvent], first_seq: int = 1) -> list[tuple[int, LoggedEvent]]:
    return list(enumerate(logged, start=first_seq))


def parquet_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def stored_ids(store: ParquetEventStore) -> Counter[str]:
    rows = store.query(
        "SELECT event_id FROM ("
        + " UNION ALL ".join(f"SELECT event_id FROM {t}_events" for t in EVENT_TYPES)
        + ")"
    )
    return Counter(event_id for (event_id,) in rows)


def test_files_by_type_and_day_and_everything_back_after_reopening(tmp_path: Path) -> None:
    vault = MemoryVault()
    # 1,200 events a second apart from 08:00 on two days: two day folders per type.
    logged = make_logged(600) + make_logged(600, first=601, start=START + timedelta(days=1))
    with ParquetEventStore(tmp_path / "pq", vault) as store:
        store.apply(numbered(logged[:600]))
        store.apply(numbered(logged[600:], first_seq=601))
        assert store.last_seq() == 1200
        assert store.queries.count_by_type() == dict.fromkeys(EVENT_TYPES, 200)
    folders = {
        p.parent.relative_to(tmp_path / "pq").as_posix() for p in parquet_files(tmp_path / "pq")
    }
    assert folders == {
        f"{t}_events/day={day}" for t in EVENT_TYPES for day in ("2025-03-01", "2025-03-02")
    }
    with ParquetEventStore(tmp_path / "pq", vault) as store:
        assert store.last_seq() == 1200
        assert store.count_event("DEV001", "E000000001") == 1
        assert store.queries.count_by_type() == dict.fromkeys(EVENT_TYPES, 200)
        # A replay of what is stored adds nothing.
        store.apply(numbered(logged))
        assert set(stored_ids(store).values()) == {1}


def _manifest_seq(root: Path) -> int:
    try:
        return int(json.loads((root / MANIFEST).read_text())["last_seq"])
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


_WRITER = """
import sys
from pathlib import Path
from tests.store.factories import make_logged
from tests.store.vault import MemoryVault
from zhian.store.parquet import ParquetEventStore

root = Path(sys.argv[1])
logged = make_logged(20_000)
with ParquetEventStore(root, MemoryVault()) as store:
    print("open", flush=True)
    while store.last_seq() < len(logged):
        first = store.last_seq()
        store.apply([(first + i + 1, item) for i, item in enumerate(logged[first:first + 500])])
"""


@pytest.mark.slow
def test_a_writer_killed_mid_batch_loses_and_doubles_nothing(tmp_path: Path) -> None:
    root = tmp_path / "pq"
    logged = make_logged(20_000)
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    for reach in (2_000, 9_000):
        with subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_WRITER), str(root)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        ) as writer:
            try:
                assert writer.stdout is not None and writer.stdout.readline() == b"open\n"
                # Kill it while it writes: once its manifest passes a point, at once.
                while _manifest_seq(root) < reach:
                    assert writer.poll() is None
                    time.sleep(0.002)
            finally:
                writer.send_signal(signal.SIGKILL)
                writer.wait()
        with ParquetEventStore(root, MemoryVault()) as store:
            reached = store.last_seq()
            assert 0 < reached < len(logged), "kill the writer while it is still writing"
            ids = stored_ids(store)
            # Exactly the events up to the manifest's position, each once.
            assert sorted(ids) == [item.event.id for item in logged[:reached]]
            assert set(ids.values()) == {1}
            listed = json.loads((root / MANIFEST).read_text())["files"]
            assert sorted(str(root / f) for fs in listed.values() for f in fs) == [
                str(p) for p in parquet_files(root)
            ]
    with ParquetEventStore(root, MemoryVault()) as store:
        # The log is read again from an earlier position: what is stored is skipped.
        store.apply(numbered(logged))
        ids = stored_ids(store)
        assert len(ids) == len(logged) and set(ids.values()) == {1}


def test_files_no_manifest_names_are_removed_on_opening(tmp_path: Path) -> None:
    vault = MemoryVault()
    root = tmp_path / "pq"
    with ParquetEventStore(root, vault) as store:
        store.apply(numbered(make_logged(60)))
    # What a crash between writing a batch's files and its manifest leaves behind.
    stray = root / "access_events" / "day=2025-03-09" / "part-stray.parquet"
    stray.parent.mkdir(parents=True)
    pq.write_table(pq.read_table(parquet_files(root)[0], partitioning=None), stray)
    with ParquetEventStore(root, vault) as store:
        assert not stray.exists() and not stray.parent.exists()
        assert sum(store.queries.count_by_type().values()) == 60


def test_small_files_of_a_partition_are_merged(tmp_path: Path) -> None:
    with ParquetEventStore(tmp_path / "pq", MemoryVault(), compact_files=4) as store:
        for first in range(1, 361, 60):
            store.apply(numbered(make_logged(60, first=first), first_seq=first))
        # Six batches, one day: the fourth file of a type merged the four; two more since.
        per_folder = Counter(p.parent for p in store.table_files()["access_events"])
        assert list(per_folder.values()) == [3]
        assert store.compact() == 12
        assert sum(map(len, store.table_files().values())) == 6
        assert store.queries.count_by_type() == dict.fromkeys(EVENT_TYPES, 60)
        assert set(stored_ids(store).values()) == {1}
        # The merged files stay a while for queries that began before (no longer listed).
        assert len(parquet_files(store.path)) > 6
    assert len(parquet_files(tmp_path / "pq")) == 6  # and go when the store closes


def test_the_files_of_a_window_are_those_of_its_utc_days(tmp_path: Path) -> None:
    """`table_files(since, until)`: the files of the UTC days [since, until) touches, from
    the manifest (what the Spark engine is handed for a query over that window)."""
    with ParquetEventStore(tmp_path / "pq", MemoryVault()) as store:
        for day in range(4):  # 2025-03-01 .. 03-04, 08:00 UTC on
            first = 1 + 60 * day
            start = START + timedelta(days=day)
            store.apply(numbered(make_logged(60, first=first, start=start), first_seq=first))

        def days(since: datetime | None, until: datetime | None) -> list[str]:
            files = store.table_files(since, until)["access_events"]
            return sorted({f.parent.name for f in files})

        assert days(None, None) == [f"day=2025-03-0{d}" for d in (1, 2, 3, 4)]
        midnight = datetime(2025, 3, 2, tzinfo=UTC)
        # `until` at midnight leaves that day out; `since` at midnight keeps it.
        assert days(midnight, midnight + timedelta(days=1)) == ["day=2025-03-02"]
        assert days(midnight - timedelta(microseconds=1), midnight) == ["day=2025-03-01"]
        # Local times are UTC days all the same: 2025-03-03 06:00 +08 is 03-02 22:00 UTC.
        local = timezone(timedelta(hours=8))
        since = datetime(2025, 3, 3, 6, tzinfo=local)
        assert days(since, since + timedelta(hours=12)) == ["day=2025-03-02", "day=2025-03-03"]
        assert days(midnight + timedelta(days=1), None) == ["day=2025-03-03", "day=2025-03-04"]
        assert days(None, midnight) == ["day=2025-03-01"]
        assert days(datetime(2025, 4, 1, tzinfo=UTC), None) == []
        with pytest.raises(ValueError, match="since must be timezone-aware"):
            store.table_files(datetime(2025, 3, 2), None)


def _passages(day: datetime, count: int, prefix: str) -> list[LoggedEvent]:
    events = [
        AccessEvent(
            id=f"{prefix}{n}",
            device_id="door-held" if n == 0 else f"door-{n % 3}",
            time=day + timedelta(minutes=n),
            subject=Subject(kind="card", ref=f"CARD{n % 4}"),
            direction="in",
            method="card",
            result="granted",
        )
        for n in range(count)
    ] + [
        VehicleEvent(id=f"{prefix}v{n}", device_id="gate-1", time=day + timedelta(minutes=n),
                     plate="京HOLD01" if n == 0 else f"京A{n:05d}", plate_color="blue",
                     vehicle_class="car", direction="in")
        for n in range(count)
    ]  # fmt: skip
    return [LoggedEvent(received_at=e.time, source="native", event=e) for e in events]


def test_retention_drops_day_folders_and_keeps_held_rows(tmp_path: Path) -> None:
    vault = MemoryVault()
    days = [datetime(2026, 1, d, 9, 0, tzinfo=UTC) for d in (1, 2, 3)]
    logged = [item for n, day in enumerate(days) for item in _passages(day, 10, f"d{n}-")]
    with ParquetEventStore(tmp_path / "pq", vault) as store:
        store.apply(numbered(logged))
        cutoff = datetime(2026, 1, 3, 0, 0, tzinfo=UTC)
        keep = RetentionKeep(
            device_ids=frozenset({"door-held"}),
            plates=frozenset({vault.token("plate", "京HOLD01")}),
            subject_refs=frozenset({vault.token("subject", "CARD3")}),
        )
        # CARD3 is n = 3 and 7, door-held is n = 0: 3 of 10 kept on each day.
        assert store.delete_before("access", cutoff, keep, dry_run=True) == 14
        assert store.delete_before("access", cutoff, keep) == 14
        assert store.delete_before("vehicle", cutoff, keep) == 18
        kept = store.query("SELECT event_id FROM access_events ORDER BY event_id")
        assert [i for (i,) in kept] == [
            "d0-0", "d0-3", "d0-7", "d1-0", "d1-3", "d1-7", *sorted(f"d2-{n}" for n in range(10))
        ]  # fmt: skip
        assert (
            store.count_event("gate-1", "d0-v0") == 1 and store.count_event("gate-1", "d0-v1") == 0
        )
        # Nothing held: the day folders go whole.
        assert store.delete_before("access", cutoff) == 6
        assert store.delete_before("vehicle", cutoff) == 2
    folders = {p.parent.name for p in parquet_files(tmp_path / "pq")}
    assert folders == {"day=2026-01-03"}
    assert not (tmp_path / "pq" / "access_events" / "day=2026-01-01").exists()


def test_tokens_and_sealed_features_only_in_the_files(tmp_path: Path) -> None:
    vault = MemoryVault()
    logged = make_logged(60)
    with ParquetEventStore(tmp_path / "pq", vault) as store:
        store.apply(numbered(logged))
        plates = {item.event.plate for item in logged if isinstance(item.event, VehicleEvent)}
        assert store.query("SELECT count(*) FROM vehicle_events WHERE plate IN (SELECT unnest($p))",
                           {"p": sorted(plates)}) == [(0,)]  # fmt: skip
        ((device_id, event_id, feature),) = store.query(
            "SELECT device_id, event_id, feature FROM face_events LIMIT 1"
        )
        assert vault.open_feature(device_id, event_id, feature) == "AACAPwAAAEAAAEBA"
        assert b"AACAPwAAAEAAAEBA" not in feature
    raw = b"".join(p.read_bytes() for p in parquet_files(tmp_path / "pq"))
    assert all(plate.encode() not in raw for plate in plates)
    # Rotation: every feature sealed anew under the new key, file by file.
    rotated = MemoryVault(vault.ring.with_new_active())
    with ParquetEventStore(tmp_path / "pq", rotated) as store:
        count = sum(isinstance(item.event, FaceEvent) for item in logged)
        assert store.sealed_key_counts() == {"k1": count}
        assert store.reseal_features() == count
        assert store.sealed_key_counts() == {"k2": count}
        assert store.reseal_features() == 0
    new_only = MemoryVault(rotated.ring.without({"k1"}))
    with ParquetEventStore(tmp_path / "pq", new_only) as store:
        rows = store.query("SELECT device_id, event_id, feature FROM face_events")
        assert {new_only.open_feature(*row) for row in rows} == {"AACAPwAAAEAAAEBA"}


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    with (
        ParquetEventStore(tmp_path / "pq", MemoryVault()),
        pytest.raises(duckdb.IOException, match="held by another process"),
    ):
        ParquetEventStore(tmp_path / "pq", MemoryVault())


def test_store_and_batch_settings_refuse_what_does_not_fit(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"store\.type[\s\S]*'duckdb' or 'parquet'"):
        load_settings(tmp_path, store={"type": "sqlite"})
    with pytest.raises(ValueError, match=r"batch\.engine[\s\S]*'duckdb' or 'spark'"):
        load_settings(tmp_path, batch={"engine": "flink"})
    with pytest.raises(ValueError, match=r'set store\.type = "parquet"'):
        load_settings(tmp_path, batch={"engine": "spark"})
    settings = load_settings(tmp_path, store={"type": "parquet"}, batch={"engine": "spark"})
    assert settings.parquet_store_path == tmp_path / "events-parquet"
    assert settings.active_event_store_path == settings.parquet_store_path
