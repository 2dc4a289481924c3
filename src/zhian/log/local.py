"""The embedded event log: numbered segment files in one folder, written with group commit.

Layout: `<first seq, 20 digits>.seg` files, each a run of frames
`[u32 payload length LE][u32 crc32(payload) LE][payload]`. A segment's name gives the
sequence number of its first record, so numbering needs no separate metadata file.

One writer thread owns the files. Callers frame their records, queue them with a future
and wait; the writer takes everything queued, writes it with one `write` per segment, calls
`fsync` once and resolves every future. Many concurrent callers therefore share one fsync.

Retention prunes whole segments from the oldest end (`prune_through`), so the files kept
are always one unbroken run of records; the first need not start at record 1.
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import fcntl
import logging
import os
import queue
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final

from zhian.log.base import EventLogError, LogClosedError, LogCorruptError, SegmentInfo
from zhian.log.damage import LogLoss, LossBook
from zhian.log.marker import DurableMarker, read_durable_seq
from zhian.log.readers import READERS_FOLDER, FileLogReaders, LogReaders, ReaderPosition

logger = logging.getLogger(__name__)

SEGMENT_SUFFIX: Final = ".seg"
SEQ_DIGITS: Final = 20
HEADER = struct.Struct("<II")
HEADER_BYTES: Final = HEADER.size
MAX_RECORD_BYTES: Final = 64 * 1024 * 1024
DEFAULT_SEGMENT_BYTES: Final = 256 * 1024 * 1024
# Records between two entries of a segment's sparse offset index: a read that misses the
# position cache walks at most this many frames (plus one appended batch) to its start.
INDEX_STRIDE: Final = 4096
READ_BLOCK_BYTES: Final = 1024 * 1024
SCAN_BLOCK_BYTES: Final = 8 * 1024 * 1024
# Positions remembered for sequential readers (the store feeder, the rules engine, ...).
POSITION_CACHE_SIZE: Final = 8
ITER_CHUNK_RECORDS: Final = 16_384
LOCK_FILE_NAME: Final = "LOCK"

_pack_header = HEADER.pack
_unpack_header = HEADER.unpack_from
_crc32 = zlib.crc32


def segment_name(first_seq: int) -> str:
    return f"{first_seq:0{SEQ_DIGITS}d}{SEGMENT_SUFFIX}"


def frame_records(records: Sequence[bytes]) -> bytes:
    """The on-disk bytes of `records`, ready to be appended to a segment as one write."""
    # map() over whole columns: about twice as fast as a per-record loop, and framing is
    # the caller's main cost on the append path.
    lengths = list(map(len, records))
    # An empty record is refused so that a run of zero bytes (what some file systems
    # leave after a crash) can never read back as valid frames.
    if min(lengths) == 0 or max(lengths) > MAX_RECORD_BYTES:
        raise ValueError(f"a log record must hold 1 to {MAX_RECORD_BYTES} bytes")
    parts: list[bytes] = [b""] * (2 * len(lengths))
    parts[::2] = map(_pack_header, lengths, map(_crc32, records))
    parts[1::2] = records
    return b"".join(parts)


@dataclass(eq=False)
class _Segment:
    """One segment file; `count` and `size` cover its durable records only."""

    first_seq: int
    path: Path
    count: int = 0
    size: int = 0
    # Sparse index: record `index_seqs[i]` starts at byte `index_offsets[i]`.
    index_seqs: list[int] = field(default_factory=list)
    index_offsets: list[int] = field(default_factory=list)

    @property
    def last_seq(self) -> int:
        return self.first_seq + self.count - 1

    def add_index_entry(self, seq: int, offset: int) -> None:
        if not self.index_seqs or seq - self.index_seqs[-1] >= INDEX_STRIDE:
            self.index_seqs.append(seq)
            self.index_offsets.append(offset)

    def position_of(self, seq: int) -> tuple[int, int]:
        """The nearest indexed (seq, offset) at or before `seq`."""
        i = bisect.bisect_right(self.index_seqs, seq) - 1
        if i < 0:
            return self.first_seq, 0
        return self.index_seqs[i], self.index_offsets[i]


@dataclass(eq=False)
class _Pending:
    """Records a caller has framed and queued, with the future the writer resolves."""

    frame: bytes
    count: int
    future: concurrent.futures.Future[int]
    # Not records but a jump: number on after `skip_through` (a reader was ahead).
    skip_through: int = 0
    skip_cause: str = ""


@dataclass(eq=False)
class _Chunk:
    """The part of one group commit that goes into one segment."""

    segment: _Segment
    is_new: bool
    start_offset: int
    frames: list[bytes] = field(default_factory=list)
    count: int = 0
    # (first seq, offset) of each pending batch in this chunk, for the sparse index.
    starts: list[tuple[int, int]] = field(default_factory=list)


@dataclass(eq=False)
class _ReadPlan:
    path: Path
    # Opened while the segment list was locked: a segment pruned meanwhile stays readable.
    fd: int
    start_seq: int
    start_offset: int
    end_offset: int


class _TornFrameError(Exception):
    """The frame at `offset` is incomplete or fails its checksum."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"{reason} at byte {offset}")
        self.offset = offset
        self.reason = reason


class LocalEventLog:
    """The event log of the embedded tier: segment files on local disk, one writer thread.

    One process owns a log folder at a time (a lock file enforces it). Opening the log
    recovers it: a torn tail of the last segment is cut off; damage anywhere else raises
    `LogCorruptError`, since it cannot come from a crash.
    """

    def __init__(
        self,
        directory: Path,
        *,
        fsync: bool = True,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        if segment_bytes < 1:
            raise ValueError("segment_bytes must be positive")
        self._directory = directory
        self._fsync = fsync
        self._segment_bytes = segment_bytes
        self._lock = threading.Lock()  # guards the segments' durable state and the cache
        self._submit_lock = threading.Lock()  # orders "is it closed?" with queueing
        self._prune_lock = threading.Lock()  # one prune at a time
        # None asks the writer to stop once everything queued before it is written.
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._positions: OrderedDict[int, tuple[_Segment, int]] = OrderedDict()
        self._closed = False
        self._failure: EventLogError | None = None
        # Beside the segments, so other processes find the positions without the lock.
        self._readers = FileLogReaders(directory / READERS_FOLDER, fsync=fsync)
        self._guarded_readers = _ReadersAheadGuard(self._readers, self)
        self._losses = LossBook(directory, fsync=fsync)

        is_new_folder = not directory.exists()
        directory.mkdir(parents=True, exist_ok=True)
        if is_new_folder and fsync:
            _fsync_directory(directory.parent)
        self._lock_fd = self._take_folder_lock()
        try:
            self._segments = self._recover()
            self._first_seqs = [segment.first_seq for segment in self._segments]
            current = self._segments[-1]
            self._durable_seq = current.last_seq
            self._write_fd = os.open(current.path, os.O_WRONLY | os.O_APPEND)
            # Followers in other processes read up to what this marker says (log/follower.py).
            self._marker = DurableMarker(directory)
            self._marker.publish(self._durable_seq)
            if fsync:
                self._marker.sync()  # a gap numbered past must stay numbered past
        except BaseException:
            os.close(self._lock_fd)
            raise
        self._writer = threading.Thread(
            target=self._run_writer, name=f"zhian-log-writer:{directory.name}", daemon=True
        )
        self._writer.start()

    # -- the public contract ------------------------------------------------------------

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def durable_seq(self) -> int:
        return self._durable_seq

    @property
    def max_record_bytes(self) -> None:
        """None: a segment file takes a record of any size."""
        return None

    @property
    def first_seq(self) -> int:
        return self._first_seqs[0]

    @property
    def readers(self) -> LogReaders:
        return self._guarded_readers

    def losses(self) -> list[LogLoss]:
        """What recovery found lost, oldest first (also `zhian log damage`)."""
        return self._losses.losses()

    def skip_through(self, seq: int, cause: str) -> int:
        """Number the next record after `seq` at least, recording `durable_seq + 1`..`seq`
        as lost; returns the new `durable_seq`. For a reader found ahead of the log: what it
        holds past the log's end stays its own, and the log's new records reach it."""
        if seq <= self._durable_seq:
            return self._durable_seq
        pending = _Pending(b"", 0, concurrent.futures.Future(), skip_through=seq, skip_cause=cause)
        with self._submit_lock:
            if self._closed:
                raise LogClosedError("the event log is closed")
            self._queue.put(pending)
        return pending.future.result()

    def append(self, records: Sequence[bytes], ids: Sequence[str] | None = None) -> int:
        # `ids` are for a log shared by several writers; this one has a single writer.
        return self._submit(records).result()

    def append_async(
        self, records: Sequence[bytes], ids: Sequence[str] | None = None
    ) -> Awaitable[int]:
        return asyncio.wrap_future(self._submit(records))

    def read(self, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        if after_seq < 0 or limit < 0:
            raise ValueError("after_seq and limit must not be negative")
        return self._read(after_seq, limit, end_seq=None)

    def iter_records(self, after_seq: int = 0) -> Iterator[tuple[int, bytes]]:
        end_seq = self._durable_seq
        while after_seq < end_seq:
            chunk = self._read(after_seq, ITER_CHUNK_RECORDS, end_seq=end_seq)
            if not chunk:
                return
            yield from chunk
            after_seq = chunk[-1][0]

    def segments(self) -> list[SegmentInfo]:
        with self._lock:
            if self._closed:
                raise LogClosedError("the event log is closed")
            active = self._segments[-1]
            return [_info(segment, segment is active) for segment in self._segments]

    def prune_through(self, seq: int) -> list[SegmentInfo]:
        with self._prune_lock:
            with self._lock:
                if self._closed:
                    raise LogClosedError("the event log is closed")
                doomed: list[_Segment] = []
                for segment in self._segments[:-1]:  # never the active one
                    if segment.last_seq > seq:
                        break
                    doomed.append(segment)
                if not doomed:
                    return []
                # New lists rather than edits in place: the writer reads `_segments[-1]`
                # without the lock, and sees either list with the same last segment.
                self._segments = self._segments[len(doomed) :]
                self._first_seqs = self._first_seqs[len(doomed) :]
                for next_seq in [s for s, (seg, _) in self._positions.items() if seg in doomed]:
                    del self._positions[next_seq]
            # Outside the lock: appends and reads go on. A read planned before holds its
            # files open, so it still finds the records it was promised.
            removed = self._unlink_oldest_first(doomed)
            return [_info(segment, False) for segment in removed]

    def _unlink_oldest_first(self, doomed: list[_Segment]) -> list[_Segment]:
        """Delete the files oldest first, each made durable before the next goes, so a
        crash at any point leaves an unbroken run of segments that opens normally."""
        for done, segment in enumerate(doomed):
            try:
                segment.path.unlink()
                if self._fsync:
                    _fsync_directory(self._directory)
            except OSError as exc:
                # Keep what is still on disk in view again, so memory and files agree.
                kept = doomed[done:]
                if not segment.path.exists():
                    kept = doomed[done + 1 :]
                with self._lock:
                    self._segments = kept + self._segments
                    self._first_seqs = [s.first_seq for s in self._segments]
                raise EventLogError(f"could not delete event log segment: {exc}") from exc
            logger.info(
                "event log: pruned segment %s (records %d to %d)",
                segment.path.name,
                segment.first_seq,
                segment.last_seq,
            )
        return doomed

    def close(self) -> None:
        with self._submit_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._writer.join()
        if self._write_fd >= 0:
            os.close(self._write_fd)
        self._marker.close()
        os.close(self._lock_fd)

    def __enter__(self) -> LocalEventLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- appending ----------------------------------------------------------------------

    def _submit(self, records: Sequence[bytes]) -> concurrent.futures.Future[int]:
        if not records:
            raise ValueError("append needs at least one record")
        # Framing and checksums run in the caller's thread, overlapping the writer's fsync.
        pending = _Pending(frame_records(records), len(records), concurrent.futures.Future())
        with self._submit_lock:
            if self._closed:
                raise LogClosedError("the event log is closed")
            if self._failure is not None:
                raise EventLogError(self._failure.message) from self._failure.__cause__
            self._queue.put(pending)
        return pending.future

    def _run_writer(self) -> None:
        while True:
            group: list[_Pending] = []
            stopping = False
            item = self._queue.get()
            while True:
                if item is None:
                    stopping = True
                    break
                # False when the caller gave up (asyncio cancellation): nothing is written.
                if item.future.set_running_or_notify_cancel():
                    if item.skip_through:
                        # In queue order: records queued before the jump get the old numbers.
                        self._commit_safely(group)
                        group = []
                        self._commit_safely([item])
                    else:
                        group.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            self._commit_safely(group)
            if stopping:
                return

    def _commit_safely(self, group: list[_Pending]) -> None:
        if not group:
            return
        try:
            if group[0].skip_through:
                self._skip(group[0])
            else:
                self._commit_group(group)
        except Exception as exc:
            # A bug rather than an I/O error; still, never leave a caller waiting.
            logger.exception("the event log writer failed; the log stops")
            self._failure = EventLogError(f"the event log writer failed: {exc}")
            self._failure.__cause__ = exc
            for pending in group:
                if not pending.future.done():
                    pending.future.set_exception(self._failure)

    def _skip(self, pending: _Pending) -> None:
        """Leave a gap through `pending.skip_through`, recorded before the next segment."""
        if self._failure is not None:
            pending.future.set_exception(self._failure)
            return
        target = pending.skip_through
        if target > self._durable_seq:
            first_lost = self._durable_seq + 1
            logger.error(
                "event log: %s; records %d to %d are not in the log and their numbers are "
                "not reused (zhian log damage)",
                pending.skip_cause,
                first_lost,
                target,
            )
            self._losses.record(first_lost, target, pending.skip_cause)
            segment = _Segment(target + 1, self._directory / segment_name(target + 1))
            fd = self._create_segment_file(segment.path)
            os.close(self._write_fd)
            self._write_fd = fd
            with self._lock:
                self._segments.append(segment)
                self._first_seqs.append(segment.first_seq)
                self._durable_seq = target
            self._marker.publish(target)
            if self._fsync:
                self._marker.sync()
        pending.future.set_result(self._durable_seq)

    def _commit_group(self, group: list[_Pending]) -> None:
        if self._failure is not None:
            for pending in group:
                pending.future.set_exception(self._failure)
            return
        first_seq = self._durable_seq + 1
        chunks = self._plan_group(group)
        try:
            self._write_chunks(chunks)
        except Exception as exc:
            error = EventLogError(f"could not append to the event log: {exc}")
            error.__cause__ = exc
            self._roll_back(chunks, exc)
            logger.exception("event log append failed; %d callers get the error", len(group))
            for pending in group:
                pending.future.set_exception(error)
            return
        self._publish(chunks)
        seq = first_seq
        for pending in group:
            seq += pending.count
            pending.future.set_result(seq - 1)

    def _plan_group(self, group: list[_Pending]) -> list[_Chunk]:
        current = self._segments[-1]
        chunk = _Chunk(current, is_new=False, start_offset=current.size)
        chunks = [chunk]
        seq = self._durable_seq + 1
        size = current.size
        count = current.count
        for pending in group:
            # Roll only between batches: a batch never straddles two segments.
            if size >= self._segment_bytes and count > 0:
                segment = _Segment(seq, self._directory / segment_name(seq))
                chunk = _Chunk(segment, is_new=True, start_offset=0)
                chunks.append(chunk)
                size = count = 0
            chunk.starts.append((seq, size))
            chunk.frames.append(pending.frame)
            chunk.count += pending.count
            size += len(pending.frame)
            count += pending.count
            seq += pending.count
        return chunks

    def _write_chunks(self, chunks: list[_Chunk]) -> None:
        for i, chunk in enumerate(chunks):
            if chunk.is_new:
                # The previous segment must be durable before a later one exists, or a
                # crash could leave a gap that recovery takes for corruption.
                self._write_fd = self._create_segment_file(chunk.segment.path)
            if chunk.frames:  # the first chunk is empty when the group opens a segment
                _write_all(self._write_fd, b"".join(chunk.frames))
                if self._fsync:
                    self._fsync_or_fail(self._write_fd)
            if i + 1 < len(chunks):
                os.close(self._write_fd)
                self._write_fd = -1

    def _create_segment_file(self, path: Path) -> int:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        if self._fsync:
            _fsync_directory(self._directory)
        return fd

    def _fsync_or_fail(self, fd: int) -> None:
        try:
            os.fsync(fd)
        except OSError as exc:
            # After a failed fsync the kernel may have dropped the dirty pages: nothing
            # written since the last good fsync can be trusted, so the log stops.
            self._failure = EventLogError(f"fsync of the event log failed: {exc}")
            self._failure.__cause__ = exc
            raise

    def _roll_back(self, chunks: list[_Chunk], cause: Exception) -> None:
        """Undo a failed group so that the files hold only acknowledged records again."""
        # Order matters for a crash midway: new segments go (durably) before the old one
        # shrinks, so the files on disk always number their records without a gap.
        try:
            if self._write_fd >= 0:
                os.close(self._write_fd)
                self._write_fd = -1
            if len(chunks) > 1:
                for chunk in chunks[1:]:
                    chunk.segment.path.unlink(missing_ok=True)
                if self._fsync:
                    _fsync_directory(self._directory)
            first = chunks[0]
            self._write_fd = os.open(first.segment.path, os.O_WRONLY | os.O_APPEND)
            os.ftruncate(self._write_fd, first.start_offset)
            if self._fsync:
                os.fsync(self._write_fd)
        except OSError as exc:
            logger.exception("could not roll back a failed append; the event log stops")
            if self._failure is None:
                self._failure = EventLogError(
                    f"the event log failed ({cause}) and could not be rolled back ({exc})"
                )

    def _publish(self, chunks: list[_Chunk]) -> None:
        with self._lock:
            for chunk in chunks:
                segment = chunk.segment
                if chunk.is_new:
                    self._segments.append(segment)
                    self._first_seqs.append(segment.first_seq)
                for seq, offset in chunk.starts:
                    segment.add_index_entry(seq, offset)
                segment.count += chunk.count
                segment.size += sum(len(frame) for frame in chunk.frames)
            self._durable_seq = self._segments[-1].last_seq
        self._marker.publish(self._durable_seq)

    # -- reading ------------------------------------------------------------------------

    def _read(self, after_seq: int, limit: int, *, end_seq: int | None) -> list[tuple[int, bytes]]:
        plans, start, last_seq = self._plan_read(after_seq, limit, end_seq)
        out: list[tuple[int, bytes]] = []
        try:
            for plan in plans:
                next_seq, next_offset = _read_frames(plan, start, last_seq, out)
                if next_seq > last_seq:
                    self._remember_position(next_seq, plan.path, next_offset)
        finally:
            for plan in plans:
                os.close(plan.fd)
        return out

    def _plan_read(
        self, after_seq: int, limit: int, end_seq: int | None
    ) -> tuple[list[_ReadPlan], int, int]:
        """What to read for records after `after_seq` (at most `limit`, none beyond
        `end_seq`): the plans, and the first and last sequence numbers they cover."""
        with self._lock:
            if self._closed:
                raise LogClosedError("the event log is closed")
            # Records retention pruned are skipped, not an error: every consumer had them.
            start = max(after_seq + 1, self._first_seqs[0])
            ceiling = self._durable_seq if end_seq is None else min(end_seq, self._durable_seq)
            last_seq = min(ceiling, start - 1 + limit)
            if start > last_seq:
                return [], start, last_seq
            first_index = max(0, bisect.bisect_right(self._first_seqs, start) - 1)
            plans: list[_ReadPlan] = []
            try:
                for segment in self._segments[first_index:]:
                    if segment.last_seq < start:
                        continue  # ends before `start`: `start` lies in a gap after it
                    if not plans and segment.first_seq > start:
                        # A gap (records lost to damage): the limit counts records, so the
                        # window starts again at the first record after it.
                        start = segment.first_seq
                        last_seq = min(ceiling, start - 1 + limit)
                    if segment.first_seq > last_seq:
                        break
                    cached = self._positions.get(start)
                    if cached is not None and cached[0] is segment and not plans:
                        seq, offset = start, cached[1]
                    elif not plans:
                        seq, offset = segment.position_of(start)
                    else:
                        seq, offset = segment.first_seq, 0
                    fd = os.open(segment.path, os.O_RDONLY)
                    plans.append(_ReadPlan(segment.path, fd, seq, offset, segment.size))
            except BaseException:
                for plan in plans:
                    os.close(plan.fd)
                raise
            return plans, start, last_seq

    def _remember_position(self, next_seq: int, path: Path, offset: int) -> None:
        with self._lock:
            index = bisect.bisect_right(self._first_seqs, next_seq - 1) - 1
            if index < 0:  # its segment was pruned meanwhile
                return
            segment = self._segments[index]
            if segment.path != path:
                return
            self._positions[next_seq] = (segment, offset)
            self._positions.move_to_end(next_seq)
            while len(self._positions) > POSITION_CACHE_SIZE:
                self._positions.popitem(last=False)

    # -- opening ------------------------------------------------------------------------

    def _take_folder_lock(self) -> int:
        fd = os.open(self._directory / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise EventLogError(
                f"the event log in {self._directory} is already open in another process"
            ) from None
        return fd

    def _recover(self) -> list[_Segment]:
        """The segments to go on with, after setting aside whatever does not read back.

        No sequence number is ever handed out twice. Readers (the event store above all)
        may already hold records the disk has since lost; numbering new records over them
        would make the store skip the new records and take resent old ones twice. So the
        log goes on after the highest number any trace says was used (`_highest_used_seq`)
        and records what is missing as a loss (zhian.log.damage): a gap that reads skip.
        """
        highest_used = self._highest_used_seq()
        paths = sorted(self._directory.glob("*" + SEGMENT_SUFFIX))
        first_seqs = [_first_seq_of(path) for path in paths]
        segments: list[_Segment] = []
        for i, path in enumerate(paths):
            segment = _Segment(first_seqs[i], path)
            previous_end = segments[-1].last_seq if segments else None
            if previous_end is not None and segment.first_seq <= previous_end:
                raise LogCorruptError(
                    f"event log segment {path} starts at record {segment.first_seq}, inside "
                    f"the segment before it (through record {previous_end})"
                )
            if previous_end is not None and segment.first_seq > previous_end + 1:
                self._record_missing(previous_end + 1, segment.first_seq - 1, segments[-1])
            try:
                _scan_segment(segment)
            except _TornFrameError as torn:
                if i + 1 < len(paths):
                    self._set_aside_damaged_segment(segment, torn, first_seqs[i + 1] - 1)
                else:
                    self._cut_tail(segment, torn, highest_used)
            if segment.path.exists():  # gone when nothing of a damaged segment was left
                segments.append(segment)
        end = segments[-1].last_seq if segments else 0
        if highest_used > end:
            # The newest acknowledged records are gone (a cut or damaged tail, a write the
            # disk dropped after its fsync): number on after them, in a segment of its own.
            if not self._losses.covers(end + 1, highest_used):
                kind = "tail" if segments else "log"
                logger.error(
                    "event log: records %d to %d were acknowledged but are gone from the %s; "
                    "their numbers are not reused (zhian log damage)",
                    end + 1,
                    highest_used,
                    kind,
                )
                self._losses.record(
                    end + 1,
                    highest_used,
                    f"acknowledged through record {highest_used}, but the {kind} ends at "
                    f"record {end}",
                )
            segments.append(self._open_gap_segment(highest_used + 1))
        elif not segments:
            segments.append(self._open_gap_segment(1))
        return segments

    def _highest_used_seq(self) -> int:
        """The highest sequence number that may have been handed out or read, by any trace.

        Three traces, each kept for its own reason, so one lost to the same damage leaves
        the others: the durable marker (rewritten after every commit, before any caller is
        acknowledged; it survives any crash of the process), each named reader's position
        (fsynced by the reader after it committed its work: it survives a power cut that
        loses the marker's last write) and the end of every loss already recorded.
        """
        traces = [self._losses.highest_lost_seq()]
        try:
            traces.append(read_durable_seq(self._directory))
        except EventLogError as exc:
            logger.warning("event log: the durable marker is unreadable (%s); ignoring it", exc)
        positions, problems = self._readers.readable_positions()
        for problem in problems:
            logger.warning("event log: %s; ignoring it", problem)
        traces += [position.seq for position in positions]
        return max(traces)

    def _record_missing(self, first_seq: int, last_seq: int, previous: _Segment) -> None:
        if self._losses.covers(first_seq, last_seq):
            return  # a gap this log left itself after damage it already reported
        logger.error(
            "event log: records %d to %d are missing (no segment holds them); their numbers "
            "are not reused (zhian log damage)",
            first_seq,
            last_seq,
        )
        self._losses.record(
            first_seq,
            last_seq,
            f"segment {previous.path.name} ends at record {previous.last_seq} (cut short, or "
            "the segment after it is missing); no segment file holds these records",
        )

    def _set_aside_damaged_segment(
        self, segment: _Segment, torn: _TornFrameError, last_seq: int
    ) -> None:
        """An older segment fails its checks: a crash cannot explain it, the disk can.

        A copy of the whole file goes to `damaged/`; the records before the bad frame stay
        in the log, the rest of its range becomes a loss. The file is replaced atomically,
        after the loss is recorded, so a crash midway leaves it to do again.
        """
        first_lost = segment.last_seq + 1
        cause = (
            f"segment {segment.path.name} is damaged: {torn}; records {first_lost} to "
            f"{last_seq} could not be read back"
        )
        if not self._losses.covers(first_lost, last_seq):
            kept = self._losses.keep_aside(
                segment.path,
                f"{cause}. The whole segment as found; records {segment.first_seq} to "
                f"{segment.last_seq} were kept in the log.",
            )
            self._losses.record(first_lost, last_seq, cause, kept)
            logger.error(
                "event log: %s; the segment was copied to %s and its first %d records kept "
                "(zhian log damage)",
                cause,
                kept.path,
                segment.count,
            )
        self._replace_with_prefix(segment, torn.offset)

    def _replace_with_prefix(self, segment: _Segment, size: int) -> None:
        if segment.count == 0:
            segment.path.unlink()
        else:
            temporary = segment.path.with_name(segment.path.name + ".tmp")
            with segment.path.open("rb") as reader:
                prefix = reader.read(size)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _write_all(fd, prefix)
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            temporary.replace(segment.path)
        if self._fsync:
            _fsync_directory(self._directory)

    def _cut_tail(self, segment: _Segment, torn: _TornFrameError, highest_used: int) -> None:
        """The newest segment ends in a frame that fails its checks: cut it off.

        After a crash that is a write never acknowledged, and the bytes go. When records
        past the cut had been acknowledged, the disk lost them: the bytes cut are kept in
        `damaged/` first, and the loss is recorded by `_recover`.
        """
        dropped = segment.path.stat().st_size - torn.offset
        if highest_used > segment.last_seq:
            kept = self._losses.keep_aside(
                segment.path,
                f"the bytes cut from the end of segment {segment.path.name} ({torn}): they "
                f"held records from {segment.last_seq + 1} on, up to record {highest_used} at "
                "most",
                start=torn.offset,
            )
            cause = (
                f"segment {segment.path.name} is damaged: {torn}; records "
                f"{segment.last_seq + 1} to {highest_used} could not be read back"
            )
            self._losses.record(segment.last_seq + 1, highest_used, cause, kept)
            logger.error("event log: %s; the cut bytes were kept in %s", cause, kept.path)
        else:
            logger.warning(
                "event log segment %s: cutting %d bytes after record %d (%s); "
                "they were never acknowledged",
                segment.path,
                dropped,
                segment.last_seq,
                torn.reason,
            )
        fd = os.open(segment.path, os.O_WRONLY)
        try:
            os.ftruncate(fd, torn.offset)
            if self._fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def _open_gap_segment(self, first_seq: int) -> _Segment:
        path = self._directory / segment_name(first_seq)
        if not path.exists():
            os.close(self._create_segment_file(path))
        return _Segment(first_seq, path)


class _ReadersAheadGuard:
    """The log's named readers, checked against the log as each one registers.

    A reader registers its own checkpoint. One beyond the log's newest record holds records
    the log no longer has (lost to damage that left no trace recovery could see, or a log
    folder replaced under a kept event store). Numbering new records under that checkpoint
    would make the reader skip them, so the log numbers on after it, recording the gap.
    """

    def __init__(self, readers: FileLogReaders, log: LocalEventLog) -> None:
        self._readers = readers
        self._log = log

    @property
    def directory(self) -> Path:
        return self._readers.directory

    def register(self, name: str, seq: int) -> None:
        # The position first: should the node stop before the jump, recovery sees it.
        self._readers.register(name, seq)
        newest = self._log.durable_seq
        if seq > newest:
            self._log.skip_through(
                seq,
                f"log reader {name!r} had read through record {seq}, past the log's newest "
                f"record {newest}",
            )

    def ack(self, name: str, seq: int) -> None:
        self._readers.ack(name, seq)

    def positions(self) -> list[ReaderPosition]:
        return self._readers.positions()

    def drop(self, name: str) -> bool:
        return self._readers.drop(name)


def _info(segment: _Segment, is_active: bool) -> SegmentInfo:
    return SegmentInfo(segment.first_seq, segment.last_seq, segment.size, is_active)


def _first_seq_of(path: Path) -> int:
    stem = path.name.removesuffix(SEGMENT_SUFFIX)
    if len(stem) != SEQ_DIGITS or not stem.isdigit() or int(stem) < 1:
        raise LogCorruptError(f"{path} is not a valid event log segment name")
    return int(stem)


def _scan_segment(segment: _Segment) -> None:
    """Count and index a segment's valid frames; `_TornFrameError` at the first bad one."""
    fd = os.open(segment.path, os.O_RDONLY)
    try:
        file_size = os.fstat(fd).st_size
        offset = 0
        count = 0
        index_seqs = segment.index_seqs
        index_offsets = segment.index_offsets
        next_index = 0
        while offset < file_size:
            block = os.pread(fd, min(SCAN_BLOCK_BYTES, file_size - offset), offset)
            end = len(block)
            pos = 0
            # The hot loop of recovery (1M records a second or so): keep it lean.
            while pos + HEADER_BYTES <= end:
                length, crc = _unpack_header(block, pos)
                start = pos + HEADER_BYTES
                stop = start + length
                if stop > end:
                    break
                if _crc32(block[start:stop]) != crc or not length:
                    segment.count, segment.size = count, offset + pos
                    raise _TornFrameError(offset + pos, "bad checksum" if length else "empty frame")
                if count == next_index:
                    index_seqs.append(segment.first_seq + count)
                    index_offsets.append(offset + pos)
                    next_index += INDEX_STRIDE
                count += 1
                pos = stop
            if pos == 0:
                # The frame does not fit this block: read it whole, if the file holds it.
                torn_at = offset
                segment.count, segment.size = count, offset
                if end < HEADER_BYTES:
                    raise _TornFrameError(torn_at, "incomplete header")
                length, crc = _unpack_header(block, 0)
                if not 0 < length <= MAX_RECORD_BYTES or offset + HEADER_BYTES + length > file_size:
                    raise _TornFrameError(torn_at, "incomplete record")
                payload = os.pread(fd, length, offset + HEADER_BYTES)
                if len(payload) != length or _crc32(payload) != crc:
                    raise _TornFrameError(torn_at, "bad checksum")
                if count == next_index:
                    index_seqs.append(segment.first_seq + count)
                    index_offsets.append(offset)
                    next_index += INDEX_STRIDE
                count += 1
                pos = HEADER_BYTES + length
            offset += pos
        segment.count, segment.size = count, offset
    finally:
        os.close(fd)


def _read_frames(
    plan: _ReadPlan, first_seq: int, last_seq: int, out: list[tuple[int, bytes]]
) -> tuple[int, int]:
    """Append records first_seq..last_seq found in one segment to `out`.

    Returns the sequence number and offset of the frame after the last one read.
    """
    seq = plan.start_seq
    offset = plan.start_offset
    fd = plan.fd
    while seq <= last_seq and offset < plan.end_offset:
        block = os.pread(fd, min(READ_BLOCK_BYTES, plan.end_offset - offset), offset)
        end = len(block)
        pos = 0
        while seq <= last_seq and pos + HEADER_BYTES <= end:
            length, crc = _unpack_header(block, pos)
            stop = pos + HEADER_BYTES + length
            if stop > end:
                break
            if seq >= first_seq:
                payload = block[pos + HEADER_BYTES : stop]
                if _crc32(payload) != crc:
                    raise LogCorruptError(f"{plan.path}: record {seq} fails its checksum")
                out.append((seq, payload))
            seq += 1
            pos = stop
        if pos == 0:
            # A frame larger than one block.
            if end < HEADER_BYTES:
                raise LogCorruptError(f"{plan.path}: record {seq} is cut short")
            length, crc = _unpack_header(block, 0)
            payload = os.pread(fd, length, offset + HEADER_BYTES)
            if len(payload) != length or _crc32(payload) != crc:
                raise LogCorruptError(f"{plan.path}: record {seq} fails its checksum")
            if seq >= first_seq:
                out.append((seq, payload))
            seq += 1
            pos = HEADER_BYTES + length
        offset += pos
    return seq, offset


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
