"""The embedded event log: numbered segment files in one folder, written with group commit.

The files' format is in zhian.log.segments; opening a folder after a crash or a damaged
disk is zhian.log.recovery's job.

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
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final

from zhian.log.base import EventLogError, LogClosedError, SegmentInfo
from zhian.log.damage import LogLoss, LossBook
from zhian.log.marker import DurableMarker
from zhian.log.readers import READERS_FOLDER, FileLogReaders, LogReaders
from zhian.log.recovery import LogRecovery, ReadersAheadGuard
from zhian.log.segments import (
    DEFAULT_SEGMENT_BYTES,
    ReadPlan,
    Segment,
    create_segment_file,
    frame_records,
    fsync_directory,
    read_frames,
    segment_info,
    segment_name,
    write_all,
)

logger = logging.getLogger(__name__)

# Positions remembered for sequential readers (the store feeder, the rules engine, ...).
POSITION_CACHE_SIZE: Final = 8
ITER_CHUNK_RECORDS: Final = 16_384
LOCK_FILE_NAME: Final = "LOCK"


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

    segment: Segment
    is_new: bool
    start_offset: int
    frames: list[bytes] = field(default_factory=list)
    count: int = 0
    # (first seq, offset) of each pending batch in this chunk, for the sparse index.
    starts: list[tuple[int, int]] = field(default_factory=list)


class LocalEventLog:
    """The event log of the embedded tier: segment files on local disk, one writer thread.

    One process owns a log folder at a time (a lock file enforces it). Opening the log
    recovers it (zhian.log.recovery): a torn tail never acknowledged is cut off; damage
    to acknowledged records is set aside and recorded as a loss, never numbered over.
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
        self._positions: OrderedDict[int, tuple[Segment, int]] = OrderedDict()
        self._closed = False
        self._failure: EventLogError | None = None
        # Beside the segments, so other processes find the positions without the lock.
        self._readers = FileLogReaders(directory / READERS_FOLDER, fsync=fsync)
        self._guarded_readers = ReadersAheadGuard(self._readers, self)
        self._losses = LossBook(directory, fsync=fsync)

        is_new_folder = not directory.exists()
        directory.mkdir(parents=True, exist_ok=True)
        if is_new_folder and fsync:
            fsync_directory(directory.parent)
        self._lock_fd = self._take_folder_lock()
        try:
            self._segments = LogRecovery(
                directory, fsync=fsync, readers=self._readers, losses=self._losses
            ).recover()
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
            return [segment_info(segment, segment is active) for segment in self._segments]

    def prune_through(self, seq: int) -> list[SegmentInfo]:
        with self._prune_lock:
            with self._lock:
                if self._closed:
                    raise LogClosedError("the event log is closed")
                doomed: list[Segment] = []
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
            return [segment_info(segment, False) for segment in removed]

    def _unlink_oldest_first(self, doomed: list[Segment]) -> list[Segment]:
        """Delete the files oldest first, each made durable before the next goes, so a
        crash at any point leaves an unbroken run of segments that opens normally."""
        for done, segment in enumerate(doomed):
            try:
                segment.path.unlink()
                if self._fsync:
                    fsync_directory(self._directory)
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
            segment = Segment(target + 1, self._directory / segment_name(target + 1))
            fd = create_segment_file(segment.path, fsync=self._fsync)
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
                segment = Segment(seq, self._directory / segment_name(seq))
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
                self._write_fd = create_segment_file(chunk.segment.path, fsync=self._fsync)
            if chunk.frames:  # the first chunk is empty when the group opens a segment
                write_all(self._write_fd, b"".join(chunk.frames))
                if self._fsync:
                    self._fsync_or_fail(self._write_fd)
            if i + 1 < len(chunks):
                os.close(self._write_fd)
                self._write_fd = -1

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
                    fsync_directory(self._directory)
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
                next_seq, next_offset = read_frames(plan, start, last_seq, out)
                if next_seq > last_seq:
                    self._remember_position(next_seq, plan.path, next_offset)
        finally:
            for plan in plans:
                os.close(plan.fd)
        return out

    def _plan_read(
        self, after_seq: int, limit: int, end_seq: int | None
    ) -> tuple[list[ReadPlan], int, int]:
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
            plans: list[ReadPlan] = []
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
                    plans.append(ReadPlan(segment.path, fd, seq, offset, segment.size))
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
