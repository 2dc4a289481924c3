"""Event-store reads for a process that does not own the store: named queries over loopback.

DuckDB admits one writing process per file, and in split mode that is the worker. The web
pages still show recent events, device last-seen times and arrival figures: they ask the
worker by query name over the node's loopback channel (`zhian.kit.loopback`). Only the
queries in `STORE_QUERIES` can be asked, each with typed arguments and a typed answer, so
the endpoint runs no SQL it was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Protocol

import msgspec

from zhian.kit.loopback import LoopbackClient
from zhian.store.events import EventStore
from zhian.store.queries import ArrivalStats, PassageCount, StoredEventSummary


class EventReads(Protocol):
    """The event-store reads the web pages make; the local store and the remote one agree."""

    def last_seq(self) -> int: ...

    def count_by_type(self) -> dict[str, int]: ...

    def recent_events(
        self, limit: int = 50, device_id: str | None = None
    ) -> list[StoredEventSummary]: ...

    def device_last_seen(self) -> dict[str, datetime]: ...

    def arrival_stats(
        self, since: datetime, until: datetime, *, late_after_seconds: float
    ) -> list[ArrivalStats]: ...

    def passage_counts(self, since: datetime, until: datetime) -> list[PassageCount]: ...


class _NoArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class _RecentArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    limit: int = 50
    device_id: str | None = None


class _ArrivalArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    since: datetime
    until: datetime
    late_after_seconds: float


class _WindowArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    since: datetime
    until: datetime


@dataclass(frozen=True)
class StoreQuery:
    """One query another process may ask of the event store: its arguments and answer."""

    arguments: type[msgspec.Struct]
    answer: Any  # the type the answer decodes to
    run: Callable[[EventStore, Any], object]


class LocalEventReads:
    """`EventReads` in the process that owns the store: its named queries, called directly."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    def last_seq(self) -> int:
        return self._store.last_seq()

    def count_by_type(self) -> dict[str, int]:
        return self._store.queries.count_by_type()

    def recent_events(
        self, limit: int = 50, device_id: str | None = None
    ) -> list[StoredEventSummary]:
        return self._store.queries.recent_events(limit, device_id)

    def device_last_seen(self) -> dict[str, datetime]:
        return self._store.queries.device_last_seen()

    def arrival_stats(
        self, since: datetime, until: datetime, *, late_after_seconds: float
    ) -> list[ArrivalStats]:
        return self._store.queries.arrival_stats(
            since, until, late_after_seconds=late_after_seconds
        )

    def passage_counts(self, since: datetime, until: datetime) -> list[PassageCount]:
        return self._store.queries.passage_counts(since, until)


# The allow-list: each name is one of the store's named queries (`zhian.store.queries`)
# that pages in another process ask for, plus the store's position in the log.
STORE_QUERIES: Final[dict[str, StoreQuery]] = {
    "last_seq": StoreQuery(_NoArgs, int, lambda store, _args: store.last_seq()),
    "count_by_type": StoreQuery(
        _NoArgs, dict[str, int], lambda store, _a: store.queries.count_by_type()
    ),
    "recent_events": StoreQuery(
        _RecentArgs,
        list[StoredEventSummary],
        lambda store, args: store.queries.recent_events(args.limit, args.device_id),
    ),
    "device_last_seen": StoreQuery(
        _NoArgs, dict[str, datetime], lambda store, _args: store.queries.device_last_seen()
    ),
    "arrival_stats": StoreQuery(
        _ArrivalArgs,
        list[ArrivalStats],
        lambda store, args: store.queries.arrival_stats(
            args.since, args.until, late_after_seconds=args.late_after_seconds
        ),
    ),
    "passage_counts": StoreQuery(
        _WindowArgs,
        list[PassageCount],
        lambda store, args: store.queries.passage_counts(args.since, args.until),
    ),
}


def answer_query(store: EventStore, name: str, body: bytes) -> bytes:
    """Run an allow-listed query for another process; `KeyError` for an unknown name,
    `msgspec.ValidationError`/`DecodeError` for arguments that do not fit."""
    query = STORE_QUERIES[name]
    arguments = msgspec.json.decode(body or b"{}", type=query.arguments)
    return msgspec.json.encode(query.run(store, arguments))


class RemoteEventStore:
    """`EventReads` answered by the worker process that owns the event store."""

    def __init__(self, endpoint_file: Path) -> None:
        self.channel = LoopbackClient(
            endpoint_file,
            missing_hint="the event store is owned by the worker process: start `zhian worker`",
        )

    def last_seq(self) -> int:
        return int(self._ask("last_seq", {}))

    def count_by_type(self) -> dict[str, int]:
        answer: dict[str, int] = self._ask("count_by_type", {})
        return answer

    def recent_events(
        self, limit: int = 50, device_id: str | None = None
    ) -> list[StoredEventSummary]:
        answer: list[StoredEventSummary] = self._ask(
            "recent_events", {"limit": limit, "device_id": device_id}
        )
        return answer

    def device_last_seen(self) -> dict[str, datetime]:
        answer: dict[str, datetime] = self._ask("device_last_seen", {})
        return answer

    def arrival_stats(
        self, since: datetime, until: datetime, *, late_after_seconds: float
    ) -> list[ArrivalStats]:
        answer: list[ArrivalStats] = self._ask(
            "arrival_stats",
            {"since": since, "until": until, "late_after_seconds": late_after_seconds},
        )
        return answer

    def passage_counts(self, since: datetime, until: datetime) -> list[PassageCount]:
        answer: list[PassageCount] = self._ask("passage_counts", {"since": since, "until": until})
        return answer

    def close(self) -> None:
        self.channel.close()

    def _ask(self, name: str, arguments: dict[str, object]) -> Any:
        return self.channel.ask(name, arguments, STORE_QUERIES[name].answer)
