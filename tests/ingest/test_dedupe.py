"""The duplicate index on disk: a restart reads only the log's unindexed tail, and a resent
event is still a duplicate after any kind of stop."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import msgspec
import pytest

from tests.ingest.factories import access_event
from zhian.config import Settings
from zhian.ingest.dedupe import DuplicateIndex, event_key
from zhian.ingest.events import HeartbeatEvent, LoggedBatch
from zhian.ingest.service import record_keys
from zhian.kit.clock import ManualClock
from zhian.log import LocalEventLog
from zhian.node import Node

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def log_batch(log: LocalEventLog, ids: list[str], at: datetime = AT) -> list[str]:
    """Append one intake record of heartbeats; returns their duplicate keys."""
    events = [
        HeartbeatEvent(id=event_id, device_id="DOOR1", time=at, status="ok") for event_id in ids
    ]
    log.append([msgspec.msgpack.encode(LoggedBatch(at, "native", events))])
    return [event_key("DOOR1", event_id) for event_id in ids]


@pytest.fixture
def log(tmp_path: Path) -> Iterator[LocalEventLog]:
    with LocalEventLog(tmp_path / "log", fsync=False) as opened:
        yield opened


def open_index(path: Path | None, log: LocalEventLog, **options: float) -> DuplicateIndex:
    return DuplicateIndex(path, log, record_keys, **options)  # type: ignore[arg-type]


def test_a_claimed_key_is_a_duplicate_until_released(log: LocalEventLog) -> None:
    index = open_index(None, log)
    keys = ["A\x1f1", "A\x1f2", "A\x1f1"]
    assert index.reserve(keys, AT.timestamp()) == [True, True, False]
    assert index.reserve(["A\x1f2", "A\x1f3"], AT.timestamp()) == [False, True]
    index.release(["A\x1f2"])
    assert index.reserve(["A\x1f2"], AT.timestamp()) == [True]
    index.close()
    index.close()  # a second close does nothing


def test_a_clean_stop_leaves_no_tail_to_read(log: LocalEventLog, tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite3"
    index = open_index(path, log)
    assert index.catch_up() == 0
    for n in range(3):
        keys = log_batch(log, [f"e{n}a", f"e{n}b"])
        assert index.reserve(keys, AT.timestamp()) == [True, True]
    index.close()

    reopened = open_index(path, log)
    assert reopened.catch_up() == 0  # nothing read from the log
    assert reopened.indexed_through == 3
    assert reopened.reserve([event_key("DOOR1", "e1b"), "DOOR1\x1fnew"], AT.timestamp()) == [
        False,
        True,
    ]
    reopened.close()


def test_after_a_crash_only_the_unindexed_tail_is_read(log: LocalEventLog, tmp_path: Path) -> None:
    path = tmp_path / "keys.sqlite3"
    index = open_index(path, log, flush_seconds=3600)
    index.reserve(log_batch(log, ["a", "b"]), AT.timestamp())
    assert index.flush_if_due() == 0  # not due: the keys wait in memory
    index.catch_up()  # as a periodic flush would
    index.reserve(log_batch(log, ["c"]), AT.timestamp())
    index.reserve(log_batch(log, ["d", "e"]), AT.timestamp())
    # The process dies here: records 2 and 3 are in the log, not in the file.

    after_crash = open_index(path, log)
    assert after_crash.catch_up() == 3  # c, d, e: the tail only
    assert (
        after_crash.reserve([event_key("DOOR1", x) for x in "abcde"], AT.timestamp()) == [False] * 5
    )
    after_crash.close()


def test_a_flush_is_due_after_enough_keys(log: LocalEventLog, tmp_path: Path) -> None:
    index = open_index(tmp_path / "keys.sqlite3", log, flush_seconds=3600, flush_keys=3)
    index.reserve(log_batch(log, ["a", "b"]), AT.timestamp())
    assert index.flush_if_due() == 0
    index.reserve(log_batch(log, ["c"]), AT.timestamp())
    assert index.flush_if_due() == 3
    assert index.indexed_through == 2
    index.close()


def test_an_index_ahead_of_its_log_is_built_again(tmp_path: Path) -> None:
    """A log folder replaced (restored from an older copy) must not be judged by keys the
    index took from a longer log."""
    path = tmp_path / "keys.sqlite3"
    with LocalEventLog(tmp_path / "old-log", fsync=False) as old:
        index = open_index(path, old)
        for n in range(3):
            index.reserve(log_batch(old, [f"x{n}"]), AT.timestamp())
        index.close()
    with LocalEventLog(tmp_path / "new-log", fsync=False) as new:
        log_batch(new, ["y"])
        rebuilt = open_index(path, new)
        assert rebuilt.catch_up() == 1
        assert rebuilt.reserve(["DOOR1\x1fx0", "DOOR1\x1fy"], AT.timestamp()) == [True, False]
        rebuilt.close()


def test_keys_older_than_the_window_are_forgotten(log: LocalEventLog, tmp_path: Path) -> None:
    index = open_index(tmp_path / "keys.sqlite3", log)
    old = log_batch(log, ["old"], AT - timedelta(days=40))
    index.reserve(old, (AT - timedelta(days=40)).timestamp())
    index.catch_up()
    index.reserve(["DOOR1\x1fpending"], (AT - timedelta(days=40)).timestamp())
    index.reserve(["DOOR1\x1fnew"], AT.timestamp())

    assert index.forget_before(AT - timedelta(days=30)) == 2
    assert len(index) == 1
    index.close()


def test_each_flush_forgets_keys_older_than_the_window(log: LocalEventLog, tmp_path: Path) -> None:
    index = open_index(
        tmp_path / "keys.sqlite3", log, keep_seconds=timedelta(days=30).total_seconds()
    )
    index.reserve(log_batch(log, ["old"], AT - timedelta(days=31)), AT.timestamp())
    index.catch_up()
    assert index.reserve(["DOOR1\x1fold"], AT.timestamp()) == [False]

    index.reserve(log_batch(log, ["new"], AT), AT.timestamp())
    index.catch_up()  # arrival times in the log say "old" is now past the window

    assert len(index) == 1
    assert index.reserve(["DOOR1\x1fold", "DOOR1\x1fnew"], AT.timestamp()) == [True, False]
    index.close()


class CountingKeys:
    """`record_keys` that counts the log records it decodes (reads back from the log)."""

    def __init__(self) -> None:
        self.records_read = 0

    def __call__(self, record: bytes) -> tuple[float, list[str]]:
        self.records_read += 1
        return record_keys(record)


def append_and_hand_over(index: DuplicateIndex, log: LocalEventLog, ids: list[str]) -> list[str]:
    """What the intake does for one batch: reserve, append, hand the keys over."""
    keys = [event_key("DOOR1", event_id) for event_id in ids]
    assert index.reserve(keys, AT.timestamp()) == [True] * len(keys)
    events = [HeartbeatEvent(id=i, device_id="DOOR1", time=AT, status="ok") for i in ids]
    seq = log.append([msgspec.msgpack.encode(LoggedBatch(AT, "native", events))])
    index.logged(seq, keys, AT.timestamp())
    return keys


def wait_until_indexed(index: DuplicateIndex, seq: int) -> None:
    deadline = time.monotonic() + 10
    while index.indexed_through < seq:
        assert time.monotonic() < deadline, "the background flush never came"
        time.sleep(0.01)


def test_the_background_flush_writes_handed_over_keys_without_reading_the_log(
    log: LocalEventLog, tmp_path: Path
) -> None:
    path = tmp_path / "keys.sqlite3"
    counting = CountingKeys()
    index = DuplicateIndex(path, log, counting, flush_seconds=0.05)
    index.start_flushing()
    keys = append_and_hand_over(index, log, ["a", "b"]) + append_and_hand_over(index, log, ["c"])
    wait_until_indexed(index, log.durable_seq)
    assert counting.records_read == 0  # written from memory, not decoded from the log
    assert index.filter_bytes > 0  # built by the thread's first step
    assert index.reserve(keys, AT.timestamp()) == [False] * 3
    # The process dies here (no close): the flushed keys are in the file, no tail to read.
    after_crash = DuplicateIndex(path, log, counting)
    assert after_crash.catch_up() == 0
    assert after_crash.reserve([*keys, "DOOR1\x1fnew"], AT.timestamp()) == [False] * 3 + [True]
    after_crash.close()
    index.close()


def test_a_crash_before_the_flush_finds_the_keys_through_the_log(
    log: LocalEventLog, tmp_path: Path
) -> None:
    path = tmp_path / "keys.sqlite3"
    index = open_index(path, log, flush_seconds=3600)
    index.start_flushing()  # its first flush is an hour away
    keys = append_and_hand_over(index, log, ["a", "b"])
    # The process dies here: the handed-over keys were only in memory.
    after_crash = open_index(path, log)
    assert after_crash.catch_up() == 2  # read back from the durable log
    assert after_crash.reserve(keys, AT.timestamp()) == [False, False]
    after_crash.close()
    index.close()


def test_a_record_nobody_handed_over_is_read_from_the_log(
    log: LocalEventLog, tmp_path: Path
) -> None:
    counting = CountingKeys()
    index = DuplicateIndex(tmp_path / "keys.sqlite3", log, counting, flush_seconds=3600)
    index.reserve(log_batch(log, ["a"]), AT.timestamp())  # appended, never handed over
    handed = append_and_hand_over(index, log, ["b", "c"])
    assert index.catch_up() == 3
    assert counting.records_read == 1  # only the record that was not handed over
    # A hand-over that comes after its record was read from the log is not written twice.
    index.logged(1, [event_key("DOOR1", "a")], AT.timestamp())
    assert index.catch_up() == 0
    assert index.reserve([event_key("DOOR1", "a"), *handed], AT.timestamp()) == [False] * 3
    index.close()


def test_without_a_background_thread_a_hand_over_flushes_when_due(
    log: LocalEventLog, tmp_path: Path
) -> None:
    index = open_index(tmp_path / "keys.sqlite3", log, flush_seconds=3600, flush_keys=3)
    append_and_hand_over(index, log, ["a", "b"])
    assert index.indexed_through == 0  # two keys: not due yet
    append_and_hand_over(index, log, ["c"])
    assert index.indexed_through == 2  # three keys: flushed by the hand-over itself
    index.close()


def test_stored_keys_pass_the_filter_after_a_restart_and_its_growth(
    log: LocalEventLog, tmp_path: Path
) -> None:
    path = tmp_path / "keys.sqlite3"
    # Room for 100 keys at first: the flushes below outgrow the filter twice.
    index = open_index(path, log, filter_keys=100, flush_keys=1)
    index.build_filter()
    ids = [f"k{n}" for n in range(2_000)]
    for start in range(0, len(ids), 100):
        append_and_hand_over(index, log, ids[start : start + 100])
    keys = [event_key("DOOR1", i) for i in ids]
    assert index.reserve(keys, AT.timestamp()) == [False] * len(keys)
    index.close()
    # A new process builds its filter from the file; a stored key must never pass as new.
    reopened = open_index(path, log, filter_keys=100)
    reopened.build_filter()
    assert reopened.reserve(keys, AT.timestamp()) == [False] * len(keys)
    reopened.close()


def indexed_through_on_disk(path: Path) -> int:
    """The mark as the file holds it, read beside the running node (WAL allows a reader)."""
    with closing(sqlite3.connect(path)) as connection:
        row = connection.execute("SELECT value FROM meta WHERE name = 'indexed_through'").fetchone()
    return int(row[0]) if row else 0


def test_a_running_node_indexes_accepted_keys_on_its_own_thread(
    node: Node, tokens: dict[str, str], clock: ManualClock, settings: Settings
) -> None:
    event = msgspec.json.encode(access_event("indexed-1", clock.now()))
    submit = partial(
        node.intake.submit_raw, source="test", sender_id="DOOR1", content_type="application/json"
    )
    assert submit([event]).accepted == 1
    appended = node.log.durable_seq
    deadline = time.monotonic() + 10
    # No request flushes and the node is not closed: only the index's thread writes the file.
    while indexed_through_on_disk(settings.duplicate_index_path) < appended:
        assert time.monotonic() < deadline, "the node's index thread never flushed"
        time.sleep(0.05)
    assert submit([event]).duplicate == 1


def test_processes_sharing_the_file_see_each_others_keys_without_reading_the_log(
    log: LocalEventLog, tmp_path: Path
) -> None:
    """Two intake processes on one workspace (NATS: both append to the stream)."""
    path = tmp_path / "keys.sqlite3"
    counting = CountingKeys()
    first = DuplicateIndex(path, log, counting, flush_seconds=1e-6, shared=True)
    second = DuplicateIndex(path, log, counting, flush_seconds=1e-6, shared=True)
    for index in (first, second):
        index.catch_up()
        index.build_filter()  # a filter in each, as a running process has
    keys_first = append_and_hand_over(first, log, ["a", "b"])
    keys_second = append_and_hand_over(second, log, ["c"])
    first.flush_if_due()
    second.flush_if_due()
    first.flush_if_due()  # now reads what the second wrote into its filter
    assert counting.records_read == 0  # each wrote its own keys; nothing read back
    fresh = event_key("DOOR1", "new")
    assert first.reserve([*keys_second, fresh], AT.timestamp()) == [False, True]
    assert second.reserve(keys_first, AT.timestamp()) == [False, False]
    assert first.indexed_through == second.indexed_through == 2
    first.close()
    second.close()


def test_a_record_no_sharing_process_indexed_is_read_after_the_grace(
    log: LocalEventLog, tmp_path: Path
) -> None:
    """A record appended by a process that died before its flush (or one on another
    machine) is read from the log, but not while its own process may still index it."""
    counting = CountingKeys()
    now = [0.0]
    index = DuplicateIndex(
        tmp_path / "keys.sqlite3",
        log,
        counting,
        flush_seconds=1e-6,
        shared=True,
        shared_grace_seconds=10,
        monotonic=lambda: now[0],
    )
    index.catch_up()
    index.build_filter()
    orphan = log_batch(log, ["x"])  # appended elsewhere, never handed over here
    index.flush_if_due()
    now[0] = 9.0
    index.flush_if_due()
    assert counting.records_read == 0  # its own process may still hand it over
    now[0] = 10.5
    index.flush_if_due()
    assert counting.records_read == 1
    assert index.indexed_through == 1
    assert index.reserve(orphan, AT.timestamp()) == [False]
    index.close()


def test_a_restart_in_shared_mode_reads_every_record_nobody_indexed(
    log: LocalEventLog, tmp_path: Path
) -> None:
    path = tmp_path / "keys.sqlite3"
    index = DuplicateIndex(path, log, record_keys, flush_seconds=3600, shared=True)
    keys = append_and_hand_over(index, log, ["a"])
    # The process dies before its flush: the next start-up reads the record at once.
    restarted = DuplicateIndex(path, log, record_keys, shared=True)
    assert restarted.catch_up() == 1
    assert restarted.reserve(keys, AT.timestamp()) == [False]
    restarted.close()
    index.close()


def test_a_key_another_process_flushed_is_a_duplicate_before_this_one_flushes(
    log: LocalEventLog, tmp_path: Path
) -> None:
    path = tmp_path / "keys.sqlite3"
    first = DuplicateIndex(path, log, record_keys, flush_seconds=1e-6, shared=True)
    second = DuplicateIndex(path, log, record_keys, flush_seconds=3600, shared=True)
    for index in (first, second):
        index.catch_up()
        index.build_filter()
    keys = append_and_hand_over(first, log, ["a", "b"])  # flushed at once (always due)
    assert first.indexed_through == 1
    # The second has not flushed since: its filter lacks the keys, the shared file has them.
    assert second.reserve([*keys, event_key("DOOR1", "c")], AT.timestamp()) == [
        False,
        False,
        True,
    ]
    first.close()
    second.close()
