"""The durable log sealed at rest: each record is encrypted as it is appended, opened as read.

The intake log holds plates, subject refs and face features for up to `governance.log_days`;
sealed, a copied log folder reveals none of them without the key ring. The cipher is the
governance field cipher (AES-256-GCM, the key id in each record's header), passed in by the
node: the log itself knows nothing of keys.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator, Sequence
from types import TracebackType
from typing import Final, Protocol

from zhian.errors import ZhianError
from zhian.log.base import LogCorruptError, PrunableLog, SegmentInfo
from zhian.log.damage import LogLoss
from zhian.log.readers import LogReaders

# Every record is sealed for the same context: a record's position is not known before
# the log numbers it, and binding to the log (not to a table column) is what matters.
RECORD_CONTEXT: Final = "event_log.record"
# The first byte of a sealed value (the cipher's format version). A record the intake wrote
# before sealing is a msgpack array (0x90-0x9f, 0xdc, 0xdd), never 0x01, so old records are
# told apart by this byte alone.
SEALED_MARK: Final = 0x01
# Room for the key id of a later key ring to be longer than today's (at most 255 bytes).
KEY_ID_ROOM_BYTES: Final = 255


class RecordCipher(Protocol):
    """Seals and opens whole records (`zhian.governance.crypto.FieldCipher` is one)."""

    def seal_bytes(self, plaintext: bytes, context: str) -> bytes: ...

    def open_bytes(self, sealed: bytes, context: str) -> bytes: ...


def is_sealed(record: bytes) -> bool:
    """Whether a stored record was sealed (rather than written in the clear before sealing)."""
    return record[:1] == bytes([SEALED_MARK])


class SealedEventLog:
    """A log that stores every record sealed and hands back the records as appended.

    Records written in the clear by an older version pass through as they are, so a log
    from before sealing keeps working; retention prunes them like any other.
    """

    def __init__(self, stored: PrunableLog, cipher: RecordCipher) -> None:
        self._stored = stored
        self._cipher = cipher

    @property
    def durable_seq(self) -> int:
        return self._stored.durable_seq

    @property
    def first_seq(self) -> int:
        return self._stored.first_seq

    @property
    def max_record_bytes(self) -> int | None:
        """The stored log's limit less what sealing adds (a header naming the key, the
        nonce and the tag), with room for a longer key id after a rotation."""
        limit = self._stored.max_record_bytes
        if limit is None:
            return None
        overhead = len(self._cipher.seal_bytes(b"", RECORD_CONTEXT)) + KEY_ID_ROOM_BYTES
        return limit - overhead

    @property
    def readers(self) -> LogReaders:
        # Positions are sequence numbers, the same sealed or not.
        return self._stored.readers

    def append(self, records: Sequence[bytes], ids: Sequence[str] | None = None) -> int:
        return self._stored.append(self._seal(records), ids)

    def append_async(
        self, records: Sequence[bytes], ids: Sequence[str] | None = None
    ) -> Awaitable[int]:
        # Sealed before queueing: the ciphertext, never the record, waits for the writer.
        return self._stored.append_async(self._seal(records), ids)

    def read(self, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        return [
            (seq, self._open(seq, record)) for seq, record in self._stored.read(after_seq, limit)
        ]

    def iter_records(self, after_seq: int = 0) -> Iterator[tuple[int, bytes]]:
        for seq, record in self._stored.iter_records(after_seq):
            yield seq, self._open(seq, record)

    def stored_records(self, after_seq: int = 0) -> Iterator[tuple[int, bytes]]:
        """The records as they lie on disk, sealed ones still sealed (to count keys)."""
        return self._stored.iter_records(after_seq)

    def segments(self) -> list[SegmentInfo]:
        return self._stored.segments()

    def prune_through(self, seq: int) -> list[SegmentInfo]:
        return self._stored.prune_through(seq)

    def losses(self) -> list[LogLoss]:
        return self._stored.losses()

    def close(self) -> None:
        self._stored.close()

    def __enter__(self) -> SealedEventLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _seal(self, records: Sequence[bytes]) -> list[bytes]:
        return [self._cipher.seal_bytes(record, RECORD_CONTEXT) for record in records]

    def _open(self, seq: int, record: bytes) -> bytes:
        if not is_sealed(record):
            return record
        try:
            return self._cipher.open_bytes(record, RECORD_CONTEXT)
        except ZhianError as exc:
            # A key missing from the ring, or an altered record: a retry cannot help, so
            # the consumers stop at it as at any other damaged record.
            raise LogCorruptError(f"event log record {seq} does not open: {exc}") from exc
