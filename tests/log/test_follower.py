"""The log follower: another process's view of a log folder, never past what is durable."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhian.governance.crypto import FieldCipher
from zhian.governance.keys import generate_keyring
from zhian.log import EventLogError, LocalEventLog, SealedEventLog
from zhian.log.follower import LogFollower
from zhian.log.marker import read_durable_seq
from zhian.log.segments import frame_records

SEGMENT_BYTES = 200  # five 40-byte records (+ headers) fill a segment
BATCH = 5


def make_records(start: int, count: int) -> list[bytes]:
    return [f"{i:08d}".encode().ljust(40, b".") for i in range(start, start + count)]


def fill(log: LocalEventLog, batches: int) -> None:
    for _ in range(batches):
        log.append(make_records(log.durable_seq + 1, BATCH))


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "log"


def test_follower_reads_what_the_writer_made_durable(log_dir: Path) -> None:
    with LocalEventLog(log_dir, fsync=False) as writer:
        follower = LogFollower(log_dir)
        assert follower.durable_seq == 0 and follower.read(0, 10) == []
        writer.append([b"one", b"two"])
        writer.append([b"three"])
        assert follower.durable_seq == 3
        assert follower.read(0, 10) == [(1, b"one"), (2, b"two"), (3, b"three")]
        assert follower.read(1, 1) == [(2, b"two")]
        assert list(follower.iter_records(1)) == [(2, b"two"), (3, b"three")]


def test_follower_never_reads_past_the_published_durable_seq(log_dir: Path) -> None:
    with LocalEventLog(log_dir, fsync=False) as writer:
        writer.append([b"durable"])
        # Bytes on disk that the writer has not published (a group still being written).
        [segment] = sorted(log_dir.glob("*.seg"))
        with segment.open("ab") as out:
            out.write(frame_records([b"not yet"]))
        follower = LogFollower(log_dir)
        assert follower.read(0, 10) == [(1, b"durable")]
        assert list(follower.iter_records()) == [(1, b"durable")]


def test_follower_follows_segment_rolls_and_pruning(log_dir: Path) -> None:
    with LocalEventLog(log_dir, fsync=False, segment_bytes=SEGMENT_BYTES) as writer:
        follower = LogFollower(log_dir)
        fill(writer, 2)
        assert [seq for seq, _ in follower.read(0, 100)] == list(range(1, 11))
        fill(writer, 3)  # new segments after the follower listed the folder
        assert [seq for seq, _ in follower.read(10, 100)] == list(range(11, 26))
        writer.prune_through(15)
        # A reader behind the pruned records resumes at the oldest one kept.
        assert follower.first_seq == 16
        got = follower.read(3, 100)
        assert [seq for seq, _ in got] == list(range(16, 26))
        assert got[0][1] == make_records(16, 1)[0]
        # Sequential reads across a roll after pruning.
        fill(writer, 1)
        assert [seq for seq, _ in follower.read(25, 100)] == list(range(26, 31))
        segments = follower.segments()
        assert segments[0].first_seq == 16 and segments[-1].is_active
        assert segments[-1].last_seq == 30


def test_follower_is_read_only(log_dir: Path) -> None:
    with LocalEventLog(log_dir, fsync=False):
        follower = LogFollower(log_dir)
        with pytest.raises(EventLogError, match="owns it"):
            follower.append([b"x"])
        with pytest.raises(EventLogError, match="prune"):
            follower.prune_through(1)


def test_follower_of_a_folder_not_yet_written_reads_empty(tmp_path: Path) -> None:
    follower = LogFollower(tmp_path / "missing")
    assert follower.durable_seq == 0 and follower.read(0, 10) == []
    assert read_durable_seq(tmp_path / "missing") == 0


def test_follower_sees_a_restarted_writer_and_reads_the_sealed_log(log_dir: Path) -> None:
    cipher = FieldCipher(generate_keyring())
    with SealedEventLog(LocalEventLog(log_dir, fsync=False), cipher) as writer:
        writer.append([b"secret plate"])
    # The writer is gone; a new one recovers the folder and publishes its position again.
    (log_dir / "DURABLE").unlink()
    with SealedEventLog(LocalEventLog(log_dir, fsync=False), cipher) as writer:
        follower = SealedEventLog(LogFollower(log_dir), cipher)
        writer.append([b"second"])
        assert follower.read(0, 10) == [(1, b"secret plate"), (2, b"second")]
        raw = LogFollower(log_dir).read(0, 1)[0][1]
        assert b"secret plate" not in raw


def test_follower_segments_end_where_the_writer_says_across_gaps(log_dir: Path) -> None:
    # Three kinds of gap: a middle segment damaged (its tail recorded lost), a reader found
    # ahead of the log (numbers skipped), and the records before both kept as they are.
    with LocalEventLog(log_dir, segment_bytes=SEGMENT_BYTES) as log:
        fill(log, 3)
    second = sorted(log_dir.glob("*.seg"))[1]
    data = bytearray(second.read_bytes())
    data[2 * (8 + 40) + 9] ^= 0x5A  # the third record of the second segment
    second.write_bytes(bytes(data))
    with LocalEventLog(log_dir, segment_bytes=SEGMENT_BYTES) as log:
        log.readers.register("ahead", log.durable_seq + 4)
        fill(log, 2)
        written = [(info.first_seq, info.last_seq) for info in log.segments()]
        follower = LogFollower(log_dir)
        followed = [(info.first_seq, info.last_seq) for info in follower.segments()]
        assert len(log.losses()) == 2
    assert followed == written
    # The damaged segment kept its first two records; every record is counted once.
    assert written[1][1] == written[1][0] + 1
    with LocalEventLog(log_dir, segment_bytes=SEGMENT_BYTES) as log:
        records = sum(1 for _ in log.iter_records())
    assert sum(last - first + 1 for first, last in followed) == records
