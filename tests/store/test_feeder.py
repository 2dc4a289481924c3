"""The store feeder, end to end from a real log on disk to the DuckDB store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.store.factories import encode, make_logged
from tests.store.vault import MemoryVault
from zhian.ingest.events import EVENT_TYPES, LoggedEvent
from zhian.log import LocalEventLog
from zhian.store import EventStore, StoreFeeder, UndecodableRecordError


@pytest.fixture
def log(tmp_path: Path) -> Iterator[LocalEventLog]:
    with LocalEventLog(tmp_path / "log") as event_log:
        yield event_log


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(tmp_path / "events.duckdb", MemoryVault()) as event_store:
        yield event_store


def make_feeder(log: LocalEventLog, store: EventStore) -> StoreFeeder:
    return StoreFeeder(log, store, batch_events=1_000, poll_seconds=0.01)


def append_all(log: LocalEventLog, logged: list[LoggedEvent]) -> None:
    records = encode(logged)
    for start in range(0, len(records), 500):
        log.append(records[start : start + 500])


def assert_stored_exactly_once(store: EventStore, logged: list[LoggedEvent]) -> None:
    assert sum(store.queries.count_by_type().values()) == len(logged)
    parts = " UNION ALL ".join(f"SELECT device_id, event_id FROM {t}_events" for t in EVENT_TYPES)
    distinct = store.query(f"SELECT count(*) FROM (SELECT DISTINCT * FROM ({parts}))")[0][0]
    assert distinct == len(logged)
    for item in logged[:: max(1, len(logged) // 50)]:
        assert store.count_event(item.event.device_id, item.event.id) == 1


def test_feeder_stores_every_logged_event_once(log: LocalEventLog, store: EventStore) -> None:
    logged = make_logged(10_000)
    append_all(log, logged)
    feeder = make_feeder(log, store)
    assert feeder.lag() == 10_000

    feeder.start()
    try:
        assert feeder.wait_caught_up(timeout_seconds=20)
    finally:
        feeder.stop()

    assert feeder.lag() == 0
    assert store.last_seq() == 10_000
    # Event n has type number n % 6; 10,000 = 6 × 1,666 + 4.
    assert store.queries.count_by_type() == {
        "access": 1_666,
        "vehicle": 1_667,
        "face": 1_667,
        "alarm": 1_667,
        "heartbeat": 1_667,
        "crowd": 1_666,
    }
    assert_stored_exactly_once(store, logged)


def test_restarted_feeder_resumes_without_duplicates(tmp_path: Path) -> None:
    first, second, third = (
        make_logged(3_000),
        make_logged(2_000, first=3_001),
        make_logged(1_000, first=5_001),
    )
    vault = MemoryVault()  # the node's key ring stays the same across restarts
    with (
        LocalEventLog(tmp_path / "log") as log,
        EventStore(tmp_path / "events.duckdb", vault) as store,
    ):
        feeder = make_feeder(log, store)
        append_all(log, first)
        feeder.start()
        assert feeder.wait_caught_up(timeout_seconds=20)
        feeder.stop()
        assert not feeder.is_running

        append_all(log, second)
        assert feeder.lag() == 2_000
        feeder.start()
        assert feeder.wait_caught_up(timeout_seconds=20)
        feeder.stop()
        assert_stored_exactly_once(store, first + second)

    # After a restart of the whole process, the store says where to resume.
    with (
        LocalEventLog(tmp_path / "log") as log,
        EventStore(tmp_path / "events.duckdb", MemoryVault()) as store,
    ):
        append_all(log, third)
        feeder = make_feeder(log, store)
        assert feeder.lag() == 1_000
        feeder.start()
        assert feeder.wait_caught_up(timeout_seconds=20)
        feeder.stop()
        assert store.last_seq() == 6_000
        assert_stored_exactly_once(store, first + second + third)


def test_undecodable_record_stops_the_feeder_loudly(
    log: LocalEventLog, store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    log.append(encode(make_logged(10)))
    log.append([b"\xc1 not msgpack"])
    log.append(encode(make_logged(5, first=11)))
    feeder = make_feeder(log, store)

    with caplog.at_level(logging.ERROR, logger="zhian.store.feeder"):
        feeder.start()
        with pytest.raises(UndecodableRecordError, match="log record 11 "):
            feeder.wait_caught_up(timeout_seconds=20)
        feeder.stop()

    # Everything before the bad record is stored; nothing after it is skipped past it.
    assert store.last_seq() == 10
    assert isinstance(feeder.last_error, UndecodableRecordError)
    assert feeder.last_error.seq == 11
    assert feeder.lag() == 6
    assert "stops at a bad log record" in caplog.text


def test_failed_batches_are_retried(
    log: LocalEventLog, store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    append_all(log, make_logged(1_500))
    real_apply = store.apply
    failures = [OSError("database is busy")]

    def apply(batch: list[tuple[int, LoggedEvent]]) -> None:
        if failures:
            raise failures.pop()
        real_apply(batch)

    monkeypatch.setattr(store, "apply", apply)
    feeder = make_feeder(log, store)
    feeder.start()
    try:
        # The feeder retries on its own; a waiter sees only the outcome.
        assert feeder.wait_caught_up(timeout_seconds=20)
    finally:
        feeder.stop()
    assert failures == []
    assert feeder.last_error is None
    assert store.last_seq() == 1_500


def test_an_error_still_there_at_the_timeout_is_raised(
    log: LocalEventLog, store: EventStore
) -> None:
    log.append(encode(make_logged(3)))
    store.close()  # every apply now fails, and keeps failing
    feeder = make_feeder(log, store)
    feeder.start()
    try:
        with pytest.raises(duckdb.Error, match="closed"):
            feeder.wait_caught_up(timeout_seconds=0.3)
        assert feeder.is_running  # still retrying
        assert isinstance(feeder.last_error, duckdb.Error)
    finally:
        feeder.stop()


def test_a_store_behind_the_pruned_log_says_so_and_stores_what_is_left(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logged = make_logged(2_000)
    with LocalEventLog(tmp_path / "small-log", segment_bytes=20_000) as log:
        append_all(log, logged[:1_000])
        append_all(log, logged[1_000:])
        pruned = log.prune_through(log.durable_seq - 1)
        assert pruned, "the test needs at least one pruned segment"
        kept = logged[log.first_seq - 1 :]  # one record per event: record n holds event n
        # A fresh store (say, its file was replaced) starts from record 0.
        with EventStore(tmp_path / "fresh.duckdb", MemoryVault()) as fresh:
            feeder = make_feeder(log, fresh)
            with caplog.at_level(logging.WARNING, logger="zhian.store.feeder"):
                while feeder.feed_once():
                    pass
            assert_stored_exactly_once(fresh, kept)
    warnings = [r.getMessage() for r in caplog.records if "pruned by retention" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert f"now begins at {pruned[-1].last_seq + 1}" in warnings[0]
