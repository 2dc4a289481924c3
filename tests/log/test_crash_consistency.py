"""Crash consistency of the embedded log with the event store reading it: the class of faults.

A base state is built once: acknowledged events appended to a real log with small segments,
most of them already applied to a real event store by the store feeder (which keeps its
named reader position beside the log), the last ones acknowledged but not yet stored. Each
case copies that state, damages the log one way (cut at every frame boundary and inside
frames, a flipped byte in every frame, the last fsync or two lost, the marker lost with
them), reopens it, appends new acknowledged events and feeds the store again. Each time:

- every acknowledged event the damage did not destroy is stored exactly once;
- the new events are stored, under sequence numbers no earlier record ever had;
- the log says what was lost (its loss book, an ERROR line) and keeps damaged bytes aside;
- a device resending every acknowledged event then gets each stored exactly once: the
  intake's duplicate index (which had indexed every record before the damage) forgets the
  keys of the events destroyed before the store applied them, and answers "duplicate" for
  every other one.

What the damage destroys is worked out here from the frame layout, independently of the
log: from the first frame that no longer reads back to the end of its segment (the newest
segment: to the last acknowledged record).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.store.factories import encode, make_logged
from tests.store.vault import MemoryVault
from zhian.ingest.dedupe import DuplicateIndex, ReaderLostRecords, event_key
from zhian.ingest.events import LoggedEvent
from zhian.ingest.service import record_keys
from zhian.log import LocalEventLog
from zhian.log.damage import DAMAGED_FOLDER
from zhian.log.marker import DURABLE_MARKER_NAME, DurableMarker
from zhian.log.readers import LogReader
from zhian.log.segments import HEADER
from zhian.store import EventStore, StoreFeeder

# About three records a segment: damage in the middle of the log and at its end both occur.
SEGMENT_BYTES = 600
ACKNOWLEDGED = 14  # records (one event each), one fsync per append
STORED_THROUGH = 12  # the store has applied these; 13 and 14 were acknowledged only
NEW_EVENTS = 3
READER = "store"
INDEX_FILE = "intake-keys.sqlite3"


@dataclass(frozen=True)
class Frame:
    seq: int
    segment: str
    offset: int
    size: int


@dataclass(frozen=True)
class Base:
    """The undamaged state every case starts from."""

    folder: Path
    vault: MemoryVault
    logged: list[LoggedEvent]
    frames: list[Frame]
    segments: list[str]  # file names, oldest first
    fsync_sizes: list[dict[str, int]]  # after each append: every segment file's size

    def segment_end(self, name: str) -> int:
        """The last record number a segment's range covers (the log's last acknowledged
        record for the newest one)."""
        index = self.segments.index(name)
        if index + 1 == len(self.segments):
            return ACKNOWLEDGED
        return int(self.segments[index + 1].removesuffix(".seg")) - 1


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    folder = tmp_path_factory.mktemp("crash-base")
    vault = MemoryVault()
    logged = make_logged(ACKNOWLEDGED)
    records = encode(logged)
    fsync_sizes: list[dict[str, int]] = []
    with (
        LocalEventLog(folder / "log", segment_bytes=SEGMENT_BYTES) as log,
        EventStore(folder / "events.duckdb", vault) as store,
    ):
        for record in records[:STORED_THROUGH]:
            log.append([record])
            fsync_sizes.append(_sizes(folder / "log"))
        _feed(log, store)
        for record in records[STORED_THROUGH:]:
            log.append([record])
            fsync_sizes.append(_sizes(folder / "log"))
        assert store.last_seq() == STORED_THROUGH
        # The intake's duplicate index, flushed through the last acknowledged record.
        index = _open_index(folder, log)
        assert index.catch_up() == ACKNOWLEDGED
        index.close()
    segments = sorted(path.name for path in (folder / "log").glob("*.seg"))
    assert len(segments) >= 4, "small segments: damage can hit a middle one"
    frames: list[Frame] = []
    seq = 1
    for name in segments:
        data = (folder / "log" / name).read_bytes()
        offset = 0
        while offset < len(data):
            length, _crc = HEADER.unpack_from(data, offset)
            frames.append(Frame(seq, name, offset, HEADER.size + length))
            seq, offset = seq + 1, offset + HEADER.size + length
    assert [frame.seq for frame in frames] == list(range(1, ACKNOWLEDGED + 1))
    return Base(folder, vault, logged, frames, segments, fsync_sizes)


def _open_index(workspace: Path, log: LocalEventLog) -> DuplicateIndex:
    lost = ReaderLostRecords(log.losses, log.readers, READER)
    return DuplicateIndex(workspace / INDEX_FILE, log, record_keys, lost=lost)


def _sizes(log_dir: Path) -> dict[str, int]:
    return {path.name: path.stat().st_size for path in log_dir.glob("*.seg")}


def _feed(log: LocalEventLog, store: EventStore) -> StoreFeeder:
    feeder = StoreFeeder(
        log, store, batch_events=100, poll_seconds=0.01, reader=LogReader(log.readers, READER)
    )
    feeder.start()
    try:
        assert feeder.wait_caught_up(timeout_seconds=20)
    finally:
        feeder.stop()
    return feeder


# --- the damage --------------------------------------------------------------------------

Damage = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    damage: Damage
    destroyed: range  # the acknowledged records the damage destroys
    kept_aside: bool  # damaged bytes must be found in damaged/


def cut(name: str, size: int) -> Damage:
    def apply(log_dir: Path) -> None:
        path = log_dir / name
        path.write_bytes(path.read_bytes()[:size])

    return apply


def flip(name: str, offset: int) -> Damage:
    def apply(log_dir: Path) -> None:
        path = log_dir / name
        data = bytearray(path.read_bytes())
        data[offset] ^= 0x5A
        path.write_bytes(bytes(data))

    return apply


def lose_fsyncs(sizes: dict[str, int], *, marker: int | None = None) -> Damage:
    """The disk loses what was written after an earlier fsync: files back to that size,
    segments created since gone; with `marker`, the marker's last writes as well (it
    then reads `marker`)."""

    def apply(log_dir: Path) -> None:
        for path in log_dir.glob("*.seg"):
            if path.name not in sizes:
                path.unlink()
            else:
                path.write_bytes(path.read_bytes()[: sizes[path.name]])
        if marker is not None:
            (log_dir / DURABLE_MARKER_NAME).unlink()
            rewritten = DurableMarker(log_dir)
            rewritten.publish(marker)
            rewritten.close()

    return apply


CUT_POINTS = ("boundary", "in-header", "in-payload", "before-last-byte")


def truncation_cases(base: Base) -> dict[str, Case]:
    """Every frame boundary and three points inside each frame, in every segment."""
    cases: dict[str, Case] = {}
    for frame in base.frames:
        destroyed = range(frame.seq, base.segment_end(frame.segment) + 1)
        sizes = (3, HEADER.size + 1, frame.size - 1)
        for label, size in zip(CUT_POINTS, (0, *sizes), strict=True):
            # A cut inside a frame leaves damaged bytes to keep aside; a clean cut at a
            # boundary leaves none (and nothing to read back either).
            cases[f"cut-{frame.seq}-{label}"] = Case(
                cut(frame.segment, frame.offset + size), destroyed, kept_aside=size > 0
            )
    return cases


FLIP_POINTS = ("length", "checksum", "payload")
LOST_FSYNCS = (1, 2, 4)


def flip_cases(base: Base) -> dict[str, Case]:
    """A flipped byte in the length, the checksum and the payload of every frame."""
    cases: dict[str, Case] = {}
    for frame in base.frames:
        destroyed = range(frame.seq, base.segment_end(frame.segment) + 1)
        for label, at in zip(FLIP_POINTS, (1, 5, HEADER.size + 7), strict=True):
            cases[f"flip-{frame.seq}-{label}"] = Case(
                flip(frame.segment, frame.offset + at), destroyed, kept_aside=True
            )
    return cases


def lost_fsync_cases(base: Base) -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for lost in LOST_FSYNCS:
        sizes = base.fsync_sizes[-1 - lost]
        destroyed = range(ACKNOWLEDGED - lost + 1, ACKNOWLEDGED + 1)
        cases[f"lost-{lost}-fsyncs"] = Case(lose_fsyncs(sizes), destroyed, kept_aside=False)
    return cases


@pytest.fixture
def workspace(base: Base, tmp_path: Path) -> Path:
    shutil.copytree(base.folder, tmp_path, dirs_exist_ok=True)
    return tmp_path


def reopen_append_and_feed(
    workspace: Path, base: Base
) -> tuple[LocalEventLog, EventStore, list[int], list[LoggedEvent]]:
    """Restart: recover the log, take new acknowledged events, let the store catch up.
    The caller closes the log and the store."""
    log = LocalEventLog(workspace / "log", segment_bytes=SEGMENT_BYTES)
    store = EventStore(workspace / "events.duckdb", base.vault)
    new = make_logged(NEW_EVENTS, first=1_000, seed=7)
    # As a node opens: the intake's duplicate index catches up with the recovered log,
    # then the feeder starts (and registers its position) before the new events arrive.
    index = _open_index(workspace, log)
    index.catch_up()
    feeder = StoreFeeder(
        log, store, batch_events=100, poll_seconds=0.01, reader=LogReader(log.readers, READER)
    )
    feeder.start()
    try:
        new_seqs = [_accept(index, log, item) for item in new]
        assert all(new_seqs), "a new event was taken for a duplicate"
        assert feeder.wait_caught_up(timeout_seconds=20)
    finally:
        feeder.stop()
        index.close()
    return log, store, new_seqs, new


def _accept(index: DuplicateIndex, log: LocalEventLog, item: LoggedEvent) -> int:
    """What the intake does with one event: its sequence number, or 0 for a duplicate."""
    keys = [event_key(item.event.device_id, item.event.id)]
    received_at = item.received_at.timestamp()
    if index.reserve(keys, received_at) != [True]:
        return 0
    seq = log.append(encode([item]))
    index.logged(seq, keys, received_at)
    return seq


def resend_everything(
    workspace: Path, log: LocalEventLog, store: EventStore, base: Base, new: list[LoggedEvent]
) -> set[str]:
    """The intake's index opens again and a device resends every event it had acknowledged;
    returns the ids accepted again. The store catches up."""
    index = _open_index(workspace, log)
    accepted: set[str] = set()
    try:
        index.catch_up()
        for item in base.logged + new:
            if _accept(index, log, item):
                accepted.add(item.event.id)
    finally:
        index.close()
    _feed(log, store)
    return accepted


def check_resent_once(
    store: EventStore, base: Base, destroyed: range, new: list[LoggedEvent], accepted: set[str]
) -> None:
    """After the resend: every acknowledged event is stored exactly once; only those the
    damage destroyed before the store applied them were accepted again."""
    for item in base.logged + new:
        assert store.count_event(item.event.device_id, item.event.id) == 1, item.event.id
    lost = {base.logged[seq - 1].event.id for seq in destroyed if seq > STORED_THROUGH}
    assert accepted == lost
    assert sum(store.queries.count_by_type().values()) == len(base.logged) + len(new)


def check_consistent(
    log: LocalEventLog,
    store: EventStore,
    base: Base,
    destroyed: range,
    new_seqs: list[int],
    new: list[LoggedEvent],
) -> None:
    # Events the store already held survive any damage to the log; the others survive
    # unless destroyed.
    survivors = [
        item
        for seq, item in enumerate(base.logged, start=1)
        if seq <= STORED_THROUGH or seq not in destroyed
    ]
    for item in survivors + new:
        assert store.count_event(item.event.device_id, item.event.id) == 1, item.event.id
    lost = [base.logged[seq - 1] for seq in destroyed if seq > STORED_THROUGH]
    for item in lost:
        assert store.count_event(item.event.device_id, item.event.id) == 0
    assert sum(store.queries.count_by_type().values()) == len(survivors) + len(new)
    # No number is handed out twice: the new records come after every old one.
    assert min(new_seqs) > ACKNOWLEDGED
    assert new_seqs == sorted(set(new_seqs))
    seqs = [seq for seq, _ in log.iter_records()]
    assert seqs == sorted(set(seqs)) and set(new_seqs) <= set(seqs)


CASE_NAMES = [
    *(f"cut-{seq}-{label}" for seq in range(1, ACKNOWLEDGED + 1) for label in CUT_POINTS),
    *(f"flip-{seq}-{label}" for seq in range(1, ACKNOWLEDGED + 1) for label in FLIP_POINTS),
    *(f"lost-{lost}-fsyncs" for lost in LOST_FSYNCS),
]


@pytest.mark.parametrize("case_name", CASE_NAMES)
def test_damage_loses_only_what_it_destroyed_and_says_so(
    case_name: str, base: Base, workspace: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cases = truncation_cases(base) | flip_cases(base) | lost_fsync_cases(base)
    assert sorted(cases) == sorted(CASE_NAMES)
    case = cases[case_name]
    case.damage(workspace / "log")

    with caplog.at_level(logging.WARNING, logger="zhian.log"):
        log, store, new_seqs, new = reopen_append_and_feed(workspace, base)
    try:
        check_consistent(log, store, base, case.destroyed, new_seqs, new)
        losses = [(loss.first_seq, loss.last_seq) for loss in log.losses()]
        assert losses == [(case.destroyed.start, case.destroyed.stop - 1)]
        first, last = case.destroyed.start, case.destroyed.stop - 1
        assert any(
            record.levelno >= logging.ERROR and f"records {first} to {last}" in record.getMessage()
            for record in caplog.records
        ), caplog.text
        kept = [loss.kept_aside for loss in log.losses() if loss.kept_aside]
        if case.kept_aside:
            assert kept and (workspace / "log" / DAMAGED_FOLDER / kept[0]).is_file()
        accepted = resend_everything(workspace, log, store, base, new)
        check_resent_once(store, base, case.destroyed, new, accepted)
    finally:
        log.close()
        store.close()


def test_a_lost_marker_and_tail_still_never_number_under_the_store(
    base: Base, workspace: Path
) -> None:
    # A power cut that loses the marker's last writes along with the tail: the store's
    # reader position (fsynced after each store commit) keeps the numbers it holds used.
    # Back to the state after record 10's append, the marker reading 10.
    lose_fsyncs(base.fsync_sizes[9], marker=10)(workspace / "log")

    log, store, new_seqs, new = reopen_append_and_feed(workspace, base)
    try:
        # Records 13-14 were acknowledged and are gone without a trace the log could read;
        # 11-12 are gone from the log but the store holds them.
        assert min(new_seqs) > STORED_THROUGH
        for item in base.logged[:STORED_THROUGH] + new:
            assert store.count_event(item.event.device_id, item.event.id) == 1
        assert sum(store.queries.count_by_type().values()) == STORED_THROUGH + NEW_EVENTS
        assert [(loss.first_seq, loss.last_seq) for loss in log.losses()] == [(11, STORED_THROUGH)]
        # The index (through record 14) is ahead of the log: it forgets 13-14, which the
        # store never applied, and keeps 11-12, which it holds.
        accepted = resend_everything(workspace, log, store, base, new)
        check_resent_once(store, base, range(13, ACKNOWLEDGED + 1), new, accepted)
    finally:
        log.close()
        store.close()


def test_a_reader_ahead_of_the_recovered_log_makes_it_number_past(
    base: Base, workspace: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # No trace left in the log folder at all (marker, reader position and tail lost, or
    # the folder replaced): the store's own checkpoint, registered at start, still counts.
    lose_fsyncs(base.fsync_sizes[9], marker=10)(workspace / "log")
    shutil.rmtree(workspace / "log" / "readers")

    with caplog.at_level(logging.ERROR, logger="zhian.log"):
        log, store, new_seqs, new = reopen_append_and_feed(workspace, base)
    try:
        assert min(new_seqs) == STORED_THROUGH + 1
        for item in base.logged[:STORED_THROUGH] + new:
            assert store.count_event(item.event.device_id, item.event.id) == 1
        assert [(loss.first_seq, loss.last_seq) for loss in log.losses()] == [(11, STORED_THROUGH)]
        assert "log reader 'store' had read through record 12" in caplog.text
    finally:
        log.close()
        store.close()
