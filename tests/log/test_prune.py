"""Pruning the embedded event log: whole old segments go, numbering and reads go on."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zhian.log import EventLogError, LocalEventLog
from zhian.log import local as local_module
from zhian.log.segments import segment_name

# Small segments: a batch of five 40-byte records (+ 8-byte headers) fills one.
SEGMENT_BYTES = 200
BATCH = 5


def make_records(start: int, count: int) -> list[bytes]:
    """Distinct, recognisable payloads: record `i` starts with its number."""
    return [f"{i:08d}".encode().ljust(40, b".") for i in range(start, start + count)]


def fill(log: LocalEventLog, batches: int) -> None:
    for _ in range(batches):
        log.append(make_records(log.durable_seq + 1, BATCH))


def file_first_seqs(directory: Path) -> list[int]:
    return [int(path.stem) for path in sorted(directory.glob("*.seg"))]


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "log"


@pytest.fixture
def open_log(log_dir: Path) -> Iterator[Callable[[], LocalEventLog]]:
    opened: list[LocalEventLog] = []

    def _open() -> LocalEventLog:
        log = LocalEventLog(log_dir, segment_bytes=SEGMENT_BYTES)
        opened.append(log)
        return log

    yield _open
    for log in opened:
        log.close()


def test_prune_drops_only_whole_segments_at_or_below_the_seq(
    open_log: Callable[[], LocalEventLog], log_dir: Path
) -> None:
    log = open_log()
    fill(log, 4)  # segments start at 1, 6, 11, 16; the last is the active one
    assert [s.first_seq for s in log.segments()] == [1, 6, 11, 16]

    # Record 12 is inside the third segment: that one stays, whole.
    removed = log.prune_through(12)

    assert [(s.first_seq, s.last_seq) for s in removed] == [(1, 5), (6, 10)]
    assert file_first_seqs(log_dir) == [11, 16]
    assert [s.first_seq for s in log.segments()] == [11, 16]
    assert log.first_seq == 11 and log.durable_seq == 20


def test_the_active_segment_is_never_pruned(
    open_log: Callable[[], LocalEventLog], log_dir: Path
) -> None:
    log = open_log()
    fill(log, 3)

    removed = log.prune_through(log.durable_seq + 100)

    assert [s.first_seq for s in removed] == [1, 6]
    assert file_first_seqs(log_dir) == [11]
    [active] = log.segments()
    assert active.is_active and (active.first_seq, active.last_seq) == (11, 15)
    assert log.prune_through(10**9) == []
    # Appends go on into the active segment and roll from there.
    assert log.append(make_records(16, BATCH)) == 20
    assert file_first_seqs(log_dir) == [11, 16]


def test_reads_below_the_first_kept_record_start_at_it(
    open_log: Callable[[], LocalEventLog],
) -> None:
    log = open_log()
    fill(log, 4)
    log.prune_through(10)

    # `limit` counts records returned, not the pruned ones skipped.
    assert [seq for seq, _ in log.read(0, 3)] == [11, 12, 13]
    assert log.read(3, 1) == [(11, make_records(11, 1)[0])]
    assert [seq for seq, _ in log.iter_records()] == list(range(11, 21))
    assert [seq for seq, _ in log.iter_records(after_seq=14)] == list(range(15, 21))
    assert log.read(20, 5) == []


def test_reopening_after_a_prune_keeps_numbering(
    open_log: Callable[[], LocalEventLog], log_dir: Path
) -> None:
    log = open_log()
    fill(log, 3)
    log.prune_through(log.durable_seq)  # every segment but the active one
    log.close()

    reopened = open_log()
    assert (reopened.first_seq, reopened.durable_seq) == (11, 15)
    assert reopened.append(make_records(16, 1)) == 16
    assert [seq for seq, _ in reopened.iter_records()] == list(range(11, 17))
    assert reopened.read(15, 1) == [(16, make_records(16, 1)[0])]


def test_a_crash_between_two_deletions_leaves_a_log_that_opens(
    open_log: Callable[[], LocalEventLog], log_dir: Path
) -> None:
    log = open_log()
    fill(log, 4)
    log.close()
    # What a crash after the first of two deletions leaves: the oldest file gone.
    (log_dir / segment_name(1)).unlink()

    reopened = open_log()
    assert reopened.first_seq == 6 and reopened.durable_seq == 20
    assert [seq for seq, _ in reopened.read(0, 100)] == list(range(6, 21))


def test_a_missing_middle_segment_is_a_recorded_loss(
    open_log: Callable[[], LocalEventLog], log_dir: Path
) -> None:
    # Why pruning deletes oldest first: any other order could leave this behind. Should
    # it happen anyway, the log says what is missing and reads skip it.
    log = open_log()
    fill(log, 4)
    log.close()
    (log_dir / segment_name(6)).unlink()

    reopened = open_log()
    assert [(loss.first_seq, loss.last_seq) for loss in reopened.losses()] == [(6, 10)]
    assert [seq for seq, _ in reopened.read(0, 100)] == [*range(1, 6), *range(11, 21)]
    assert [seq for seq, _ in reopened.read(5, 1)] == [11]
    reopened.close()
    # Reported once: the next start finds the gap already in the book.
    assert len(open_log().losses()) == 1


def test_a_failed_deletion_keeps_memory_and_files_in_step(
    open_log: Callable[[], LocalEventLog], log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log()
    fill(log, 4)
    real_unlink = Path.unlink

    def unlink(path: Path, missing_ok: bool = False) -> None:
        if path.name == segment_name(6):
            raise PermissionError(13, "Permission denied", str(path))
        real_unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(EventLogError, match="could not delete"):
        log.prune_through(15)

    assert file_first_seqs(log_dir) == [6, 11, 16]
    assert [s.first_seq for s in log.segments()] == [6, 11, 16]
    assert [seq for seq, _ in log.read(0, 100)] == list(range(6, 21))
    monkeypatch.undo()
    assert [s.first_seq for s in log.prune_through(15)] == [6, 11]
    log.close()
    assert open_log().first_seq == 16


def test_a_read_under_way_keeps_the_records_it_planned(
    open_log: Callable[[], LocalEventLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log()
    fill(log, 4)
    real_read_frames = local_module.read_frames
    pruned: list[int] = []

    def prune_midway(*args: object) -> tuple[int, int]:
        # Retention runs between the planning of this read and its file access.
        if not pruned:
            pruned.extend(s.first_seq for s in log.prune_through(15))
        return real_read_frames(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(local_module, "read_frames", prune_midway)
    records = log.read(0, 100)

    assert pruned == [1, 6, 11]
    assert [seq for seq, _ in records] == list(range(1, 21))
    assert records[0][1] == make_records(1, 1)[0]
    monkeypatch.undo()
    assert [seq for seq, _ in log.read(0, 100)] == list(range(16, 21))


def test_prune_alongside_appenders_and_a_tailing_reader(
    open_log: Callable[[], LocalEventLog], log_dir: Path
) -> None:
    log = open_log()
    appenders, batches_each = 4, 60
    read: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def append_batches() -> None:
        try:
            for _ in range(batches_each):
                log.append([b"x" * 40] * BATCH)
        except BaseException as exc:
            errors.append(exc)

    def tail_and_prune() -> None:
        # A consumer: reads in order, and lets retention drop what it has passed.
        try:
            after = 0
            while not done.is_set() or after < log.durable_seq:
                chunk = log.read(after, 7)
                read.extend(seq for seq, _ in chunk)
                if chunk:
                    after = chunk[-1][0]
                    log.prune_through(after)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=append_batches) for _ in range(appenders)]
    consumer = threading.Thread(target=tail_and_prune)
    consumer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    consumer.join(timeout=30)

    total = appenders * batches_each * BATCH
    assert errors == []
    assert read == list(range(1, total + 1))
    assert log.durable_seq == total
    assert len(file_first_seqs(log_dir)) < appenders * batches_each
    log.close()
    reopened = open_log()
    assert reopened.durable_seq == total
    assert file_first_seqs(log_dir)[0] == reopened.first_seq > 1
