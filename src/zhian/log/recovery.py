"""Opening an event log folder after a crash or a damaged disk: scan, cut, set aside.

Recovery reads every segment back (`scan_segment`), cuts a torn tail that was never
acknowledged, keeps damaged bytes aside in `damaged/` and records what is lost
(zhian.log.damage). It never numbers new records over ones that may have been handed out:
the log goes on after the highest sequence number any trace says was used, and a reader
found ahead of the log later (`ReadersAheadGuard`) moves the numbering past it too.
"""

from __future__ import annotations

import logging
import os
import zlib
from pathlib import Path
from typing import Final, Protocol

from zhian.log import segments as segment_files
from zhian.log.base import EventLogError, LogCorruptError
from zhian.log.damage import LossBook
from zhian.log.marker import read_durable_seq
from zhian.log.readers import FileLogReaders, ReaderPosition
from zhian.log.segments import (
    HEADER,
    HEADER_BYTES,
    MAX_RECORD_BYTES,
    SEGMENT_SUFFIX,
    Segment,
    create_segment_file,
    first_seq_of,
    fsync_directory,
    segment_name,
    write_all,
)

logger = logging.getLogger(__name__)

SCAN_BLOCK_BYTES: Final = 8 * 1024 * 1024

_unpack_header = HEADER.unpack_from
_crc32 = zlib.crc32


class TornFrameError(Exception):
    """The frame at `offset` is incomplete or fails its checksum."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"{reason} at byte {offset}")
        self.offset = offset
        self.reason = reason


class LogRecovery:
    """Recovers one log folder as its writer opens it (the writer holds the folder lock)."""

    def __init__(
        self, directory: Path, *, fsync: bool, readers: FileLogReaders, losses: LossBook
    ) -> None:
        self._directory = directory
        self._fsync = fsync
        self._readers = readers
        self._losses = losses

    def recover(self) -> list[Segment]:
        """The segments to go on with, after setting aside whatever does not read back.

        No sequence number is ever handed out twice. Readers (the event store above all)
        may already hold records the disk has since lost; numbering new records over them
        would make the store skip the new records and take resent old ones twice. So the
        log goes on after the highest number any trace says was used (`_highest_used_seq`)
        and records what is missing as a loss (zhian.log.damage): a gap that reads skip.
        """
        highest_used = self._highest_used_seq()
        paths = sorted(self._directory.glob("*" + SEGMENT_SUFFIX))
        first_seqs = [first_seq_of(path) for path in paths]
        segments: list[Segment] = []
        for i, path in enumerate(paths):
            segment = Segment(first_seqs[i], path)
            previous_end = segments[-1].last_seq if segments else None
            if previous_end is not None and segment.first_seq <= previous_end:
                raise LogCorruptError(
                    f"event log segment {path} starts at record {segment.first_seq}, inside "
                    f"the segment before it (through record {previous_end})"
                )
            if previous_end is not None and segment.first_seq > previous_end + 1:
                self._record_missing(previous_end + 1, segment.first_seq - 1, segments[-1])
            try:
                scan_segment(segment)
            except TornFrameError as torn:
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

    def _record_missing(self, first_seq: int, last_seq: int, previous: Segment) -> None:
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
        self, segment: Segment, torn: TornFrameError, last_seq: int
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

    def _replace_with_prefix(self, segment: Segment, size: int) -> None:
        if segment.count == 0:
            segment.path.unlink()
        else:
            temporary = segment.path.with_name(segment.path.name + ".tmp")
            with segment.path.open("rb") as reader:
                prefix = reader.read(size)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                write_all(fd, prefix)
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            temporary.replace(segment.path)
        if self._fsync:
            fsync_directory(self._directory)

    def _cut_tail(self, segment: Segment, torn: TornFrameError, highest_used: int) -> None:
        """The newest segment ends in a frame that fails its checks: cut it off.

        After a crash that is a write never acknowledged, and the bytes go. When records
        past the cut had been acknowledged, the disk lost them: the bytes cut are kept in
        `damaged/` first, and the loss is recorded by `recover`.
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

    def _open_gap_segment(self, first_seq: int) -> Segment:
        path = self._directory / segment_name(first_seq)
        if not path.exists():
            os.close(create_segment_file(path, fsync=self._fsync))
        return Segment(first_seq, path)


class LogEnd(Protocol):
    """The part of the log the guard needs: its newest record, and a jump past a reader."""

    @property
    def durable_seq(self) -> int: ...

    def skip_through(self, seq: int, cause: str) -> int: ...


class ReadersAheadGuard:
    """The log's named readers, checked against the log as each one registers.

    A reader registers its own checkpoint. One beyond the log's newest record holds records
    the log no longer has (lost to damage that left no trace recovery could see, or a log
    folder replaced under a kept event store). Numbering new records under that checkpoint
    would make the reader skip them, so the log numbers on after it, recording the gap.
    """

    def __init__(self, readers: FileLogReaders, log: LogEnd) -> None:
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


def scan_segment(segment: Segment) -> None:
    """Count and index a segment's valid frames; `TornFrameError` at the first bad one."""
    fd = os.open(segment.path, os.O_RDONLY)
    try:
        file_size = os.fstat(fd).st_size
        offset = 0
        count = 0
        index_seqs = segment.index_seqs
        index_offsets = segment.index_offsets
        next_index = 0
        # Read here, not bound at import: tests shrink the stride to index every few records.
        stride = segment_files.INDEX_STRIDE
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
                    raise TornFrameError(offset + pos, "bad checksum" if length else "empty frame")
                if count == next_index:
                    index_seqs.append(segment.first_seq + count)
                    index_offsets.append(offset + pos)
                    next_index += stride
                count += 1
                pos = stop
            if pos == 0:
                # The frame does not fit this block: read it whole, if the file holds it.
                torn_at = offset
                segment.count, segment.size = count, offset
                if end < HEADER_BYTES:
                    raise TornFrameError(torn_at, "incomplete header")
                length, crc = _unpack_header(block, 0)
                if not 0 < length <= MAX_RECORD_BYTES or offset + HEADER_BYTES + length > file_size:
                    raise TornFrameError(torn_at, "incomplete record")
                payload = os.pread(fd, length, offset + HEADER_BYTES)
                if len(payload) != length or _crc32(payload) != crc:
                    raise TornFrameError(torn_at, "bad checksum")
                if count == next_index:
                    index_seqs.append(segment.first_seq + count)
                    index_offsets.append(offset)
                    next_index += stride
                count += 1
                pos = HEADER_BYTES + length
            offset += pos
        segment.count, segment.size = count, offset
    finally:
        os.close(fd)
