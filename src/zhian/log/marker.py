"""The durable marker: the log writer publishes its newest durable record for followers."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Final

from zhian.log.base import EventLogError

# The marker: [u64 durable seq LE][u32 crc32 of those 8 bytes LE], rewritten in place. One
# small pwrite per commit; the checksum lets a reader that raced a write simply read again.
DURABLE_MARKER_NAME: Final = "DURABLE"
_MARKER = struct.Struct("<QI")
_MARKER_READ_ATTEMPTS: Final = 5


class DurableMarker:
    """The writer's side of the marker: publishes the newest durable sequence number."""

    def __init__(self, directory: Path) -> None:
        self._fd = os.open(directory / DURABLE_MARKER_NAME, os.O_RDWR | os.O_CREAT, 0o600)

    def publish(self, durable_seq: int) -> None:
        seq_bytes = durable_seq.to_bytes(8, "little")
        os.pwrite(self._fd, _MARKER.pack(durable_seq, zlib.crc32(seq_bytes)), 0)

    def sync(self) -> None:
        """Make the last published number durable (after recovery numbered past a gap)."""
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def read_durable_seq(directory: Path) -> int:
    """The newest durable record the writer of `directory` has published (0 before any)."""
    try:
        fd = os.open(directory / DURABLE_MARKER_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return 0
    try:
        for _ in range(_MARKER_READ_ATTEMPTS):
            data = os.pread(fd, _MARKER.size, 0)
            if len(data) < _MARKER.size:
                return 0  # created, not yet written: the writer has published nothing
            seq, crc = _MARKER.unpack(data)
            if zlib.crc32(seq.to_bytes(8, "little")) == crc:
                return int(seq)
        raise EventLogError(f"the durable marker in {directory} does not read back")
    finally:
        os.close(fd)
