"""The durable event log's contract, shared by the embedded log and a future JetStream one."""

from __future__ import annotations

from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from zhian.errors import ZhianError

if TYPE_CHECKING:
    from zhian.log.damage import LogLoss
    from zhian.log.readers import LogReaders


class EventLogError(ZhianError):
    """The log could not make events durable; the intake must not acknowledge them."""

    status_code = 503
    code = "event_log_unavailable"


class LogClosedError(EventLogError):
    """The log was used after `close()`."""


class LogCorruptError(EventLogError):
    """A stored record fails its checks somewhere an incomplete write cannot explain."""

    code = "event_log_corrupt"


class EventLog(Protocol):
    """An append-only sequence of opaque records, numbered 1, 2, 3 … in order.

    A record is durable once `append` returns: it survives a crash of the process or of
    the machine. Only durable records are ever read. Retention may drop the oldest records
    once every named reader has acknowledged them; numbering goes on regardless. A number
    is never handed out twice: records a damaged disk lost leave a gap that reads skip
    (the local log records it, zhian.log.damage).
    """

    @property
    def durable_seq(self) -> int:
        """Sequence number of the newest durable record; 0 for an empty log."""
        ...

    @property
    def first_seq(self) -> int:
        """Sequence number of the oldest record still kept; `durable_seq + 1` when none is."""
        ...

    @property
    def max_record_bytes(self) -> int | None:
        """The largest record `append` takes, in bytes; None when the log sets no limit.

        The intake splits a request whose record would be larger into several records."""
        ...

    def append(self, records: Sequence[bytes], ids: Sequence[str] | None = None) -> int:
        """Block until every record is durable; return the sequence number of the last one.

        `ids`, one per record, names each record for a log shared by several intake
        processes (NATS): a record sent again under the same id within the log's duplicate
        window is stored once, and its first number counts. The local log, written by one
        process whose duplicate index sees every batch, does not need them."""
        ...

    def append_async(
        self, records: Sequence[bytes], ids: Sequence[str] | None = None
    ) -> Awaitable[int]:
        """`append` for async handlers: resolves when every record is durable."""
        ...

    def read(self, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to `limit` durable records with sequence numbers above `after_seq`, in order.

        Records already pruned are skipped: the answer then starts at `first_seq`.
        """
        ...

    def iter_records(self, after_seq: int = 0) -> Iterator[tuple[int, bytes]]:
        """Every record above `after_seq` that was durable when the scan began, in order
        (from `first_seq` on, where older ones were pruned)."""
        ...

    def close(self) -> None:
        """Finish pending appends and release the log; later calls raise `LogClosedError`."""
        ...


@dataclass(frozen=True)
class SegmentInfo:
    """One stretch of the log that retention can drop as a whole."""

    first_seq: int
    last_seq: int  # first_seq - 1 while the segment holds no record
    size_bytes: int
    is_active: bool  # the segment appends go to; never dropped

    @property
    def records(self) -> int:
        return self.last_seq - self.first_seq + 1


class PrunableLog(EventLog, Protocol):
    """A log whose oldest segments retention may drop once every named reader has read them."""

    @property
    def readers(self) -> LogReaders:
        """The named readers of this log and their acknowledged positions."""
        ...

    def segments(self) -> list[SegmentInfo]:
        """The segments kept now, oldest first; the last one is the active one."""
        ...

    def prune_through(self, seq: int) -> list[SegmentInfo]:
        """Delete the oldest segments whose records all lie at or below `seq`, never the
        active one; returns those deleted. Safe alongside appends and reads."""
        ...

    def losses(self) -> list[LogLoss]:
        """The records a damaged disk destroyed, as recorded (zhian.log.damage), oldest first."""
        ...
