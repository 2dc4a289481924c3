"""Segment files of the embedded event log: their format, naming, and reading frames back.

A log folder holds `<first seq, 20 digits>.seg` files, each a run of frames
`[u32 payload length LE][u32 crc32(payload) LE][payload]`. A segment's name gives the
sequence number of its first record, so numbering needs no separate metadata file.

The writer (zhian.log.local), recovery (zhian.log.recovery) and followers in other
processes (zhian.log.follower) share what is here.
"""

from __future__ import annotations

import bisect
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from zhian.log.base import LogCorruptError, SegmentInfo

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
class Segment:
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
class ReadPlan:
    path: Path
    # Opened while the segment list was locked: a segment pruned meanwhile stays readable.
    fd: int
    start_seq: int
    start_offset: int
    end_offset: int


def segment_info(segment: Segment, is_active: bool) -> SegmentInfo:
    return SegmentInfo(segment.first_seq, segment.last_seq, segment.size, is_active)


def first_seq_of(path: Path) -> int:
    stem = path.name.removesuffix(SEGMENT_SUFFIX)
    if len(stem) != SEQ_DIGITS or not stem.isdigit() or int(stem) < 1:
        raise LogCorruptError(f"{path} is not a valid event log segment name")
    return int(stem)


def read_frames(
    plan: ReadPlan, first_seq: int, last_seq: int, out: list[tuple[int, bytes]]
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


def create_segment_file(path: Path, *, fsync: bool) -> int:
    """Create a new, empty segment file (never an existing one) and return it open for
    appending; with `fsync`, its folder entry is durable before any record goes in."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
    if fsync:
        fsync_directory(path.parent)
    return fd


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
