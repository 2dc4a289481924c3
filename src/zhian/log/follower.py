"""A read-only view of a local log folder that another process writes (the worker's view).

The writer (`LocalEventLog`) publishes the sequence number of its newest durable record in
a small marker file after every group commit, once the records are on disk. A follower
reads segment files directly but never past that number: a record still being written,
or one a failed commit is about to roll back, stays invisible, exactly as it is to the
writer's own readers. Segments roll and retention deletes the oldest ones while a follower
reads; it lists the folder again whenever a file it expected is gone or a newer one is
needed.
"""

from __future__ import annotations

import bisect
import logging
import os
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Final

from zhian.log.base import EventLogError, LogClosedError, SegmentInfo
from zhian.log.damage import LogLoss, read_losses
from zhian.log.marker import read_durable_seq
from zhian.log.readers import READERS_FOLDER, FileLogReaders, ReaderPosition

# The writer's own frame reader: one parser of the segment format.
from zhian.log.segments import SEGMENT_SUFFIX, ReadPlan, first_seq_of, read_frames, segment_name

ITER_CHUNK_RECORDS: Final = 16_384

logger = logging.getLogger(__name__)


class LogFollower:
    """Reads the durable records of a log folder that another process owns and writes.

    It takes no lock and writes nothing: `append` refuses, and `prune_through` is handed to
    the owner through `prune` (retention may decide here, but only the writer deletes
    segments: its own readers hold them open). Wrap it in `SealedEventLog` with the
    writer's cipher to read what the writer sealed.
    """

    def __init__(
        self, directory: Path, *, prune: Callable[[int], list[SegmentInfo]] | None = None
    ) -> None:
        self._prune = prune
        # The folder may not exist yet (the writer starts later): it then reads as empty.
        self._directory = directory
        self._first_seqs: list[int] = []
        self._closed = False
        # Where the next record of a sequential reader starts: seq -> (segment, offset).
        self._position: tuple[int, int, int] | None = None
        # Reader positions are files beside the log: the follower's readers (the store
        # feeder, the rules) write theirs there and the writer's retention reads them.
        self._readers = _FollowedReaders(FileLogReaders(directory / READERS_FOLDER), self)
        self._list_segments()

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def readers(self) -> _FollowedReaders:
        return self._readers

    @property
    def durable_seq(self) -> int:
        self._check_open()
        return read_durable_seq(self._directory)

    @property
    def max_record_bytes(self) -> None:
        """None: a follower never appends, and the local log sets no limit."""
        return None

    @property
    def first_seq(self) -> int:
        self._check_open()
        # Retention deletes the oldest segment first: while it is there, it is the first.
        if (
            not self._first_seqs
            or not (self._directory / segment_name(self._first_seqs[0])).exists()
        ):
            self._list_segments()
        return self._first_seqs[0] if self._first_seqs else self.durable_seq + 1

    def append(self, records: Sequence[bytes], ids: Sequence[str] | None = None) -> int:
        raise EventLogError(
            "this process only follows the event log; the process that owns it appends"
        )

    def append_async(
        self, records: Sequence[bytes], ids: Sequence[str] | None = None
    ) -> Awaitable[int]:
        return self.append(records)  # type: ignore[return-value]  # always raises

    def read(self, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        if after_seq < 0 or limit < 0:
            raise ValueError("after_seq and limit must not be negative")
        return self._read(after_seq, limit, self.durable_seq)

    def iter_records(self, after_seq: int = 0) -> Iterator[tuple[int, bytes]]:
        end_seq = self.durable_seq
        while after_seq < end_seq:
            chunk = self._read(after_seq, ITER_CHUNK_RECORDS, end_seq)
            if not chunk:
                return
            yield from chunk
            after_seq = chunk[-1][0]

    def segments(self) -> list[SegmentInfo]:
        """The segments on disk as far as the writer made them durable (sizes from files)."""
        self._check_open()
        durable = self.durable_seq
        self._list_segments()
        losses = self.losses()
        infos: list[SegmentInfo] = []
        for i, first in enumerate(self._first_seqs):
            is_active = i == len(self._first_seqs) - 1
            if is_active:
                last = durable
            else:
                last = _last_before_gap(first, self._first_seqs[i + 1] - 1, losses)
            try:
                size = (self._directory / segment_name(first)).stat().st_size
            except FileNotFoundError:
                continue  # pruned while listing
            infos.append(SegmentInfo(first, last, size, is_active))
        return infos

    def losses(self) -> list[LogLoss]:
        """What the writer recorded as lost (read from the folder, as `zhian log damage`)."""
        return read_losses(self._directory)

    def prune_through(self, seq: int) -> list[SegmentInfo]:
        if self._prune is None:
            raise EventLogError("only the process that owns the event log may prune it")
        removed = self._prune(seq)
        self._list_segments()
        self._position = None
        return removed

    def close(self) -> None:
        self._closed = True

    # -- reading ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise LogClosedError("the event log follower is closed")

    def _list_segments(self) -> None:
        self._first_seqs = sorted(
            first_seq_of(path) for path in self._directory.glob("*" + SEGMENT_SUFFIX)
        )

    def _read(self, after_seq: int, limit: int, end_seq: int) -> list[tuple[int, bytes]]:
        self._check_open()
        out: list[tuple[int, bytes]] = []
        is_relisted = False
        while len(out) < limit:
            try:
                got = self._read_listed(after_seq, limit - len(out), end_seq)
            except FileNotFoundError:  # pruned since the folder was listed
                self._position = None
                if is_relisted:
                    raise
                got = []
            out += got
            if got:
                after_seq = got[-1][0]
            if after_seq >= end_seq or is_relisted:
                break
            # Short of what is durable: a segment rolled (or went) since the last listing.
            self._list_segments()
            is_relisted = True
        return out

    def _read_listed(self, after_seq: int, limit: int, end_seq: int) -> list[tuple[int, bytes]]:
        if not self._first_seqs:
            return []
        start = max(after_seq + 1, self._first_seqs[0])
        out: list[tuple[int, bytes]] = []
        index = max(0, bisect.bisect_right(self._first_seqs, start) - 1)
        for segment_first in self._first_seqs[index:]:
            if len(out) >= limit or start > end_seq:
                break
            # A segment may start after a gap (records lost to damage, zhian.log.damage):
            # the limit counts records, so the window starts at the segment's first record.
            start = max(start, segment_first)
            last_seq = min(end_seq, start - 1 + limit - len(out))
            if segment_first > last_seq:
                break
            path = self._directory / segment_name(segment_first)
            seq, offset = segment_first, 0
            if self._position is not None and self._position[:2] == (start, segment_first):
                seq, offset = start, self._position[2]
            fd = os.open(path, os.O_RDONLY)
            try:
                # Frames up to `end_seq` are whole on disk (the marker follows the fsync),
                # so reading to the file's current end never parses a half-written one.
                plan = ReadPlan(path, fd, seq, offset, os.fstat(fd).st_size)
                next_seq, next_offset = read_frames(plan, start, last_seq, out)
            finally:
                os.close(fd)
            self._position = (next_seq, segment_first, next_offset)
            start = max(start, next_seq)
        return out


def _last_before_gap(first_seq: int, next_first_minus_one: int, losses: list[LogLoss]) -> int:
    """The last record of a segment followed by the one starting after `next_first_minus_one`.

    Between two segments lies either nothing or a gap the writer recorded as lost before it
    numbered past it (zhian.log.damage): the segment ends where the losses that reach up to
    the next segment begin. The follower never scans a whole segment to count its records.
    """
    last = next_first_minus_one
    moved = True
    while moved:
        moved = False
        for loss in losses:
            if loss.first_seq <= last <= loss.last_seq and loss.first_seq > first_seq - 1:
                last = loss.first_seq - 1
                moved = True
    return max(last, first_seq - 1)


class _FollowedReaders:
    """The readers of a followed log: a position registered past the log's newest record
    is said loudly. The follower cannot write; the writer numbers past the position (now
    on file) when it next opens the log (zhian.log.recovery, `_highest_used_seq`)."""

    def __init__(self, readers: FileLogReaders, log: LogFollower) -> None:
        self._readers = readers
        self._log = log

    @property
    def directory(self) -> Path:
        return self._readers.directory

    def register(self, name: str, seq: int) -> None:
        self._readers.register(name, seq)
        newest = self._log.durable_seq
        if seq > newest:
            logger.error(
                "log reader %r has read through record %d, past the log's newest record %d: "
                "the log lost records (zhian log damage). Restart the process that writes the "
                "log so that it numbers new records after %d",
                name,
                seq,
                newest,
                seq,
            )

    def ack(self, name: str, seq: int) -> None:
        self._readers.ack(name, seq)

    def positions(self) -> list[ReaderPosition]:
        return self._readers.positions()

    def drop(self, name: str) -> bool:
        return self._readers.drop(name)
