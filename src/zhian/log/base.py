"""The durable event log's contract, shared by the embedded log and a future JetStream one."""

from __future__ import annotations

from collections.abc import Awaitable, Iterator, Sequence
from typing import Protocol

from zhian.errors import ZhianError


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
    """An append-only sequence of opaque records, numbered 1, 2, 3 … without gaps.

    A record is durable once `append` returns: it survives a crash of the process or of
    the machine. Only durable records are ever read.
    """

    @property
    def durable_seq(self) -> int:
        """Sequence number of the newest durable record; 0 for an empty log."""
        ...

    def append(self, records: Sequence[bytes]) -> int:
        """Block until every record is durable; return the sequence number of the last one."""
        ...

    def append_async(self, records: Sequence[bytes]) -> Awaitable[int]:
        """`append` for async handlers: resolves when every record is durable."""
        ...

    def read(self, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to `limit` durable records with sequence numbers above `after_seq`, in order."""
        ...

    def iter_records(self, after_seq: int = 0) -> Iterator[tuple[int, bytes]]:
        """Every record above `after_seq` that was durable when the scan began, in order."""
        ...

    def close(self) -> None:
        """Finish pending appends and release the log; later calls raise `LogClosedError`."""
        ...
