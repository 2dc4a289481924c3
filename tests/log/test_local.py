"""The embedded event log: numbering, segments, crash recovery, group commit, failures."""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zhian.log import EventLogError, LocalEventLog, LogClosedError
from zhian.log import recovery as recovery_module
from zhian.log import segments as segments_module
from zhian.log.segments import HEADER, segment_name


def make_records(start: int, count: int, size: int = 40) -> list[bytes]:
    """Distinct, recognisable payloads: record `i` starts with its number."""
    return [f"{i:08d}".encode().ljust(size, b".") for i in range(start, start + count)]


def segment_paths(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.seg"))


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "log"


@pytest.fixture
def open_log(log_dir: Path) -> Iterator[Callable[..., LocalEventLog]]:
    """Open logs on `log_dir`; every log still open is closed after the test."""
    opened: list[LocalEventLog] = []

    def _open(**options: object) -> LocalEventLog:
        log = LocalEventLog(log_dir, **options)  # type: ignore[arg-type]
        opened.append(log)
        return log

    yield _open
    for log in opened:
        log.close()


def test_append_then_read_round_trip(open_log: Callable[..., LocalEventLog]) -> None:
    log = open_log()
    assert log.durable_seq == 0
    assert log.read(0, 10) == []

    assert log.append([b"a", b"bb", b"ccc"]) == 3
    assert log.append([b"dddd"]) == 4

    assert log.durable_seq == 4
    assert log.read(0, 10) == [(1, b"a"), (2, b"bb"), (3, b"ccc"), (4, b"dddd")]
    assert log.read(1, 2) == [(2, b"bb"), (3, b"ccc")]
    assert log.read(4, 10) == []
    assert log.read(2, 0) == []
    assert list(log.iter_records(after_seq=2)) == [(3, b"ccc"), (4, b"dddd")]


def test_sequential_and_random_reads_agree(
    open_log: Callable[..., LocalEventLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small blocks and a small index stride put block edges and index entries everywhere.
    monkeypatch.setattr(segments_module, "READ_BLOCK_BYTES", 100)
    monkeypatch.setattr(segments_module, "INDEX_STRIDE", 16)
    log = open_log(fsync=False, segment_bytes=2_000)
    expected = make_records(1, 600)
    for start in range(0, 600, 37):
        log.append(expected[start : start + 37])

    tailed: list[bytes] = []
    after = 0
    while chunk := log.read(after, 7):
        assert [seq for seq, _ in chunk] == list(range(after + 1, after + 1 + len(chunk)))
        tailed.extend(payload for _, payload in chunk)
        after = chunk[-1][0]
    assert tailed == expected

    rng = random.Random(7)
    for _ in range(200):
        after = rng.randrange(0, 600)
        limit = rng.randrange(1, 50)
        got = log.read(after, limit)
        assert got == list(
            zip(range(after + 1, 601), expected[after : after + limit], strict=False)
        )


def test_numbering_continues_after_restart(log_dir: Path) -> None:
    with LocalEventLog(log_dir) as log:
        log.append(make_records(1, 5))
    with LocalEventLog(log_dir) as log:
        assert log.durable_seq == 5
        assert log.append(make_records(6, 3)) == 8
        assert [payload for _, payload in log.iter_records()] == make_records(1, 8)


def test_segments_roll_and_are_named_by_first_seq(log_dir: Path) -> None:
    with LocalEventLog(log_dir, segment_bytes=1_000) as log:
        for start in range(1, 201, 10):
            log.append(make_records(start, 10))
        paths = segment_paths(log_dir)
        assert len(paths) > 3
        assert paths[0].name == segment_name(1) == "00000000000000000001.seg"
        assert all(path.stat().st_size < 1_000 + 10 * (HEADER.size + 40) for path in paths)
        assert [payload for _, payload in log.read(0, 500)] == make_records(1, 200)

    first_seqs = [int(path.stem) for path in paths]
    # A batch never straddles two segments: every segment starts a batch.
    assert all((seq - 1) % 10 == 0 for seq in first_seqs)
    with LocalEventLog(log_dir, segment_bytes=1_000) as log:
        assert log.durable_seq == 200
        assert [payload for _, payload in log.iter_records()] == make_records(1, 200)
        assert log.append([b"next"]) == 201
        assert log.read(200, 5) == [(201, b"next")]


def test_large_records_cross_read_blocks(
    open_log: Callable[..., LocalEventLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segments_module, "READ_BLOCK_BYTES", 64)
    monkeypatch.setattr(recovery_module, "SCAN_BLOCK_BYTES", 64)
    records = [os.urandom(size) for size in (10, 500, 3, 1_000, 56, 57, 200)]
    log = open_log()
    log.append(records)
    assert [payload for _, payload in log.read(0, 10)] == records
    log.close()
    reopened = open_log()
    assert reopened.durable_seq == len(records)
    assert [payload for _, payload in reopened.read(2, 3)] == records[2:5]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data + HEADER.pack(100, 0) + b"half", id="half-a-record"),
        pytest.param(lambda data: data + b"\x07\x00", id="half-a-header"),
        pytest.param(lambda data: data + os.urandom(333), id="garbage"),
        pytest.param(lambda data: data + bytes(4096), id="zeros"),
    ],
)
def test_torn_tail_is_cut_off(log_dir: Path, damage: Callable[[bytes], bytes]) -> None:
    with LocalEventLog(log_dir, segment_bytes=1_000) as log:
        for start in range(1, 61, 6):
            log.append(make_records(start, 6))
    last = segment_paths(log_dir)[-1]
    intact_size = last.stat().st_size
    last.write_bytes(damage(last.read_bytes()))

    with LocalEventLog(log_dir, segment_bytes=1_000) as log:
        assert log.durable_seq == 60
        assert last.stat().st_size == intact_size
        assert [payload for _, payload in log.iter_records()] == make_records(1, 60)
        assert log.append([b"after"]) == 61
    with LocalEventLog(log_dir, segment_bytes=1_000) as log:
        assert log.read(59, 5) == [(60, make_records(60, 1)[0]), (61, b"after")]


def test_a_bad_checksum_in_the_last_record_loses_it_without_reusing_its_number(
    log_dir: Path,
) -> None:
    with LocalEventLog(log_dir) as log:
        log.append(make_records(1, 10))
    path = segment_paths(log_dir)[0]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))

    with LocalEventLog(log_dir) as log:
        # Record 10 was acknowledged: its number stays used, a recorded gap.
        assert log.durable_seq == 10
        assert [(loss.first_seq, loss.last_seq) for loss in log.losses()] == [(10, 10)]
        assert log.append([b"again"]) == 11
        assert log.read(8, 5) == [(9, make_records(9, 1)[0]), (11, b"again")]
    kept = log.losses()[0].kept_aside
    assert kept is not None and (log_dir / "damaged" / kept).read_bytes() == data[-48:]


def test_damage_in_an_older_segment_is_kept_aside_and_the_rest_read_on(log_dir: Path) -> None:
    with LocalEventLog(log_dir, segment_bytes=500) as log:
        for start in range(1, 41, 4):
            log.append(make_records(start, 4))
    first, second = segment_paths(log_dir)[:2]
    original = first.read_bytes()
    data = bytearray(original)
    data[HEADER.size * 3 + 40 * 2 + 3] ^= 0x01  # a bit flip inside the third payload
    first.write_bytes(bytes(data))
    lost_through = int(second.stem) - 1

    with LocalEventLog(log_dir, segment_bytes=500) as log:
        [loss] = log.losses()
        assert (loss.first_seq, loss.last_seq) == (3, lost_through)
        assert loss.kept_aside is not None
        kept = log_dir / "damaged" / loss.kept_aside
        assert kept.read_bytes() == bytes(data)
        assert "records 3 to" in kept.with_name(kept.name + ".note").read_text()
        expected = [*range(1, 3), *range(lost_through + 1, 41)]
        assert [seq for seq, _ in log.iter_records()] == expected
        assert log.append([b"after"]) == 41

    # Losing the end of an older segment (a file cut short) is a loss too.
    second.write_bytes(second.read_bytes()[: -(HEADER.size + 40)])
    third_first = int(segment_paths(log_dir)[2].stem)
    with LocalEventLog(log_dir, segment_bytes=500) as log:
        assert (log.losses()[-1].first_seq, log.losses()[-1].last_seq) == (
            third_first - 1,
            third_first - 1,
        )
        assert log.append([b"later"]) == 42


def test_concurrent_appenders_and_a_tailing_reader(
    open_log: Callable[..., LocalEventLog],
) -> None:
    log = open_log(segment_bytes=20_000)
    threads_count, batches_per_thread = 6, 40
    ranges: list[tuple[int, int, list[bytes]]] = []
    ranges_lock = threading.Lock()
    tailed: list[tuple[int, bytes]] = []
    writers_done = threading.Event()

    def write(worker: int) -> None:
        rng = random.Random(worker)
        for batch_no in range(batches_per_thread):
            size = rng.randrange(1, 30)
            records = [f"w{worker}-b{batch_no}-r{i}".encode() for i in range(size)]
            last = log.append(records)
            with ranges_lock:
                ranges.append((last - size + 1, last, records))

    def tail() -> None:
        after = 0
        while True:
            finished = writers_done.is_set()
            chunk = log.read(after, 13)
            tailed.extend(chunk)
            if chunk:
                after = chunk[-1][0]
            elif finished:
                return

    reader = threading.Thread(target=tail)
    reader.start()
    writers = [threading.Thread(target=write, args=(n,)) for n in range(threads_count)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    writers_done.set()
    reader.join()

    # Every append got its own consecutive range, and together they cover 1..N.
    ranges.sort()
    assert ranges[0][0] == 1
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(ranges))
    total = ranges[-1][1]
    assert log.durable_seq == total
    expected = [record for _, _, records in ranges for record in records]
    assert [payload for _, payload in log.iter_records()] == expected
    assert tailed == list(zip(range(1, total + 1), expected, strict=True))


def test_append_async(open_log: Callable[..., LocalEventLog]) -> None:
    log = open_log()

    async def append_many() -> list[int]:
        return list(await asyncio.gather(*(log.append_async([b"x"] * 3) for _ in range(10))))

    lasts = asyncio.run(append_many())
    assert sorted(lasts) == list(range(3, 31, 3))
    assert log.durable_seq == 30


def failing_write_for(monkeypatch: pytest.MonkeyPatch, should_fail: Callable[[str], bool]) -> None:
    """Make `os.write` fail with ENOSPC for files whose path `should_fail` picks."""
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        if should_fail(str(Path(f"/proc/self/fd/{fd}").readlink())):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


def test_write_error_reaches_every_waiting_caller(
    open_log: Callable[..., LocalEventLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log()
    log.append([b"before"])
    failing_write_for(monkeypatch, lambda path: path.endswith(".seg"))
    errors: list[BaseException] = []

    def append() -> None:
        try:
            log.append([b"lost"] * 5)
        except EventLogError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=append) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 4
    assert all(isinstance(error.__cause__, OSError) for error in errors)
    assert log.durable_seq == 1

    # Once the disk has room again the log goes on, numbering without a gap.
    monkeypatch.undo()
    assert log.append([b"after"]) == 2
    assert list(log.iter_records()) == [(1, b"before"), (2, b"after")]


def test_failed_roll_removes_the_new_segment(
    log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = LocalEventLog(log_dir, segment_bytes=100)
    log.append(make_records(1, 3))
    first_size = segment_paths(log_dir)[0].stat().st_size
    failing_write_for(monkeypatch, lambda path: not path.endswith(segment_name(1)))

    with pytest.raises(EventLogError, match="No space left"):
        log.append(make_records(4, 2))
    assert segment_paths(log_dir) == [log_dir / segment_name(1)]
    assert (log_dir / segment_name(1)).stat().st_size == first_size

    monkeypatch.undo()
    assert log.append(make_records(4, 2)) == 5
    log.close()
    with LocalEventLog(log_dir, segment_bytes=100) as reopened:
        assert [payload for _, payload in reopened.iter_records()] == make_records(1, 5)


def test_fsync_error_stops_the_log(
    open_log: Callable[..., LocalEventLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log()
    log.append([b"kept"])

    def fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(EventLogError, match="Input/output error"):
        log.append([b"lost"])
    monkeypatch.undo()
    # After a failed fsync nothing unsynced can be trusted: the log refuses new appends.
    with pytest.raises(EventLogError, match="fsync"):
        log.append([b"refused"])
    assert log.read(0, 10) == [(1, b"kept")]


def test_close_finishes_pending_appends_then_refuses(log_dir: Path) -> None:
    log = LocalEventLog(log_dir)
    futures = [log._submit([b"r"] * 10) for _ in range(20)]
    log.close()
    assert [future.result(timeout=5) for future in futures] == list(range(10, 201, 10))
    with pytest.raises(LogClosedError):
        log.append([b"late"])
    with pytest.raises(LogClosedError):
        log.read(0, 1)
    log.close()  # closing twice is harmless
    with LocalEventLog(log_dir) as reopened:
        assert reopened.durable_seq == 200


def test_one_process_opens_a_log_at_a_time(open_log: Callable[..., LocalEventLog]) -> None:
    open_log()
    with pytest.raises(EventLogError, match="already open"):
        open_log()


@pytest.mark.parametrize("records", [[], [b""], [b"ok", b""]])
def test_empty_batches_and_records_are_refused(
    open_log: Callable[..., LocalEventLog], records: list[bytes]
) -> None:
    log = open_log()
    with pytest.raises(ValueError):
        log.append(records)
    assert log.durable_seq == 0
