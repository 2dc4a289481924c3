"""The intake log sealed at rest: no plate, subject ref or face feature in the clear on disk,
records read back exactly as appended, and a log from before sealing still readable."""

from __future__ import annotations

import asyncio
import base64
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from zhian.governance.crypto import FieldCipher
from zhian.governance.keys import generate_keyring
from zhian.ingest.events import FaceEvent, LoggedBatch, Subject, VehicleEvent
from zhian.log import LocalEventLog, LogCorruptError, SealedEventLog
from zhian.log.sealed import is_sealed

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PLATE = "浙A12345"
SUBJECT_REF = "R-0042"
FEATURE = base64.b64encode(struct.pack("<128f", *[i / 256 for i in range(128)])).decode()
# The intake keeps a feature as base64 text, so that is what the log would hold.
CLEAR_VALUES = [PLATE.encode(), SUBJECT_REF.encode(), FEATURE.encode()]


def record(n: int) -> bytes:
    """One intake record (a msgpack LoggedBatch) with a plate, a subject and a feature."""
    events = [
        VehicleEvent(
            id=f"v{n}",
            device_id="GATE1",
            time=AT,
            plate=PLATE,
            plate_color="blue",
            vehicle_class="car",
            direction="in",
        ),
        FaceEvent(
            id=f"f{n}",
            device_id="CAM1",
            time=AT,
            quality=0.9,
            subject=Subject(kind="resident", ref=SUBJECT_REF),
            feature=FEATURE,
        ),
    ]
    return msgspec.msgpack.encode(LoggedBatch(AT + timedelta(seconds=n), "native", events))


def files_of(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file())


def clear_values_in(directory: Path) -> list[bytes]:
    data = files_of(directory)
    return [value for value in CLEAR_VALUES if value in data]


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(generate_keyring())


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    return tmp_path / "log"


@pytest.fixture
def sealed_log(log_dir: Path, cipher: FieldCipher) -> Iterator[SealedEventLog]:
    with SealedEventLog(LocalEventLog(log_dir, fsync=False), cipher) as log:
        yield log


def test_records_are_sealed_on_disk_and_read_back_as_appended(
    sealed_log: SealedEventLog, log_dir: Path
) -> None:
    records = [record(n) for n in range(5)]
    assert sealed_log.append(records[:2]) == 2
    assert sealed_log.append(records[2:4]) == 4
    assert asyncio.run(_append_async(sealed_log, records[4:])) == 5

    assert clear_values_in(log_dir) == []
    assert all(is_sealed(stored) for _, stored in sealed_log.stored_records())
    assert sealed_log.read(0, 10) == list(enumerate(records, start=1))
    assert sealed_log.read(3, 1) == [(4, records[3])]
    assert list(sealed_log.iter_records(1)) == list(enumerate(records[1:], start=2))


async def _append_async(log: SealedEventLog, records: list[bytes]) -> int:
    return await log.append_async(records)


def test_the_same_records_without_sealing_lie_in_the_clear(log_dir: Path) -> None:
    # The check above can fail: the unwrapped log keeps every value readable on disk.
    with LocalEventLog(log_dir, fsync=False) as log:
        log.append([record(n) for n in range(2)])
    assert clear_values_in(log_dir) == CLEAR_VALUES


def test_a_log_from_before_sealing_reads_back_and_goes_on_sealed(
    log_dir: Path, cipher: FieldCipher
) -> None:
    old = [record(n) for n in range(3)]
    with LocalEventLog(log_dir, fsync=False) as clear:
        clear.append(old)
    new = [record(n) for n in range(3, 5)]
    with SealedEventLog(LocalEventLog(log_dir, fsync=False), cipher) as log:
        assert log.read(0, 10) == list(enumerate(old, start=1))
        log.append(new)
        stored = [is_sealed(r) for _, r in log.stored_records()]
        assert stored == [False, False, False, True, True]
        assert list(log.iter_records()) == list(enumerate(old + new, start=1))
    with SealedEventLog(LocalEventLog(log_dir, fsync=False), cipher) as reopened:
        assert [r for _, r in reopened.read(0, 10)] == old + new


def test_an_intake_record_never_starts_with_the_sealed_mark(cipher: FieldCipher) -> None:
    # A clear record is a msgpack array of three (0x93), whatever it holds.
    batches = [
        LoggedBatch(AT, "native", []),
        LoggedBatch(AT, "ferry", msgspec.msgpack.decode(record(1), type=LoggedBatch).events * 40),
    ]
    encoded = [msgspec.msgpack.encode(batch) for batch in batches] + [record(2)]
    assert [data[0] for data in encoded] == [0x93, 0x93, 0x93]
    assert not any(is_sealed(data) for data in encoded)
    assert is_sealed(cipher.seal_bytes(record(2), "event_log.record"))


def test_a_record_under_a_key_the_ring_lacks_stops_readers(log_dir: Path) -> None:
    with SealedEventLog(
        LocalEventLog(log_dir, fsync=False), FieldCipher(generate_keyring())
    ) as log:
        log.append([record(1)])
    other_ring = FieldCipher(generate_keyring())  # another k1
    with SealedEventLog(LocalEventLog(log_dir, fsync=False), other_ring) as log:
        with pytest.raises(LogCorruptError, match="record 1 does not open"):
            log.read(0, 1)
        with pytest.raises(LogCorruptError):
            list(log.iter_records())


def test_segments_and_pruning_pass_through(log_dir: Path, cipher: FieldCipher) -> None:
    # One byte per segment: every append starts a segment of its own.
    with SealedEventLog(LocalEventLog(log_dir, fsync=False, segment_bytes=1), cipher) as log:
        for n in range(4):
            log.append([record(n)])
        assert [segment.first_seq for segment in log.segments()] == [1, 2, 3, 4]
        assert [segment.first_seq for segment in log.prune_through(2)] == [1, 2]
        assert log.first_seq == 3
        assert log.read(0, 10) == [(3, record(2)), (4, record(3))]
