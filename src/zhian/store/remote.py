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
from zhian.store.passages import (
    CaptureWindow,
    PassageDetail,
    PassageFilter,
    PassageRecord,
    SealedFaceCapture,
)
from zhian.store.queries import (
    ArrivalStats,
    PassageCount,
    PlatePassage,
    PlateSeen,
    StoredEventSummary,
    SubjectPassage,
)


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

    def passages(self, search: PassageFilter) -> list[PassageRecord]: ...

    def passage(self, device_id: str, event_id: str) -> PassageDetail | None: ...

    def sealed_captures(self, window: CaptureWindow) -> list[SealedFaceCapture]: ...

    def plate_passages(
        self, plate_token: str, since: datetime, until: datetime, limit: int
    ) -> list[PlatePassage]: ...

    def plate_passages_near(
        self, moments: list[tuple[str, datetime]], window_seconds: float, limit: int
    ) -> list[PlatePassage]: ...

    def subject_passages_near(
        self, moments: list[tuple[str, datetime]], window_seconds: float, limit: int
    ) -> list[SubjectPassage]: ...

    def subject_passages(
        self, keys: list[tuple[str, str]], since: datetime, until: datetime, limit: int
    ) -> list[SubjectPassage]: ...

    def passage_counts(self, since: datetime, until: datetime) -> list[PassageCount]: ...

    def plates_seen(self, since: datetime, until: datetime) -> list[PlateSeen]: ...


class _NoArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class _RecentArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    limit: int = 50
    device_id: str | None = None


class _PassageArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    device_id: str
    event_id: str


class _ArrivalArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    since: datetime
    until: datetime
    late_after_seconds: float


class _PlateArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    plate_token: str
    since: datetime
    until: datetime
    limit: int


class _NearArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    moments: list[tuple[str, datetime]]
    window_seconds: float
    limit: int


class _SubjectArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    keys: list[tuple[str, str]]
    since: datetime
    until: datetime
    limit: int


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

    def passages(self, search: PassageFilter) -> list[PassageRecord]:
        return self._store.passages.passages(search)

    def passage(self, device_id: str, event_id: str) -> PassageDetail | None:
        return self._store.passages.passage(device_id, event_id)

    def sealed_captures(self, window: CaptureWindow) -> list[SealedFaceCapture]:
        return self._store.passages.sealed_captures(window)

    def plate_passages(
        self, plate_token: str, since: datetime, until: datetime, limit: int
    ) -> list[PlatePassage]:
        return self._store.plate_passages(plate_token, since, until, limit)

    def plate_passages_near(
        self, moments: list[tuple[str, datetime]], window_seconds: float, limit: int
    ) -> list[PlatePassage]:
        return self._store.plate_passages_near(moments, window_seconds, limit)

    def subject_passages_near(
        self, moments: list[tuple[str, datetime]], window_seconds: float, limit: int
    ) -> list[SubjectPassage]:
        return self._store.subject_passages_near(moments, window_seconds, limit)

    def subject_passages(
        self, keys: list[tuple[str, str]], since: datetime, until: datetime, limit: int
    ) -> list[SubjectPassage]:
        return self._store.subject_passages(keys, since, until, limit)

    def passage_counts(self, since: datetime, until: datetime) -> list[PassageCount]:
        return self._store.queries.passage_counts(since, until)

    def plates_seen(self, since: datetime, until: datetime) -> list[PlateSeen]:
        return self._store.queries.plates_seen(since, until)


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
    # The search pages' passage records (zhian.store.passages): the filter is the argument.
    "passages": StoreQuery(
        PassageFilter, list[PassageRecord], lambda store, search: store.passages.passages(search)
    ),
    "passage": StoreQuery(
        _PassageArgs,
        PassageDetail | None,
        lambda store, args: store.passages.passage(args.device_id, args.event_id),
    ),
    # Face search (以图搜图): features travel sealed; the web process opens and audits them.
    "sealed_captures": StoreQuery(
        CaptureWindow,
        list[SealedFaceCapture],
        lambda store, window: store.passages.sealed_captures(window),
    ),
    # Trajectories (轨迹) and co-travellers (同行): tokens in, tokens and masks out.
    "plate_passages": StoreQuery(
        _PlateArgs,
        list[PlatePassage],
        lambda store, args: store.plate_passages(
            args.plate_token, args.since, args.until, args.limit
        ),
    ),
    "subject_passages": StoreQuery(
        _SubjectArgs,
        list[SubjectPassage],
        lambda store, args: store.subject_passages(args.keys, args.since, args.until, args.limit),
    ),
    "plate_passages_near": StoreQuery(
        _NearArgs,
        list[PlatePassage],
        lambda store, args: store.plate_passages_near(
            args.moments, args.window_seconds, args.limit
        ),
    ),
    "subject_passages_near": StoreQuery(
        _NearArgs,
        list[SubjectPassage],
        lambda store, args: store.subject_passages_near(
            args.moments, args.window_seconds, args.limit
        ),
    ),
    "passage_counts": StoreQuery(
        _WindowArgs,
        list[PassageCount],
        lambda store, args: store.queries.passage_counts(args.since, args.until),
    ),
    # Visiting vehicles (statistics): plate tokens only, one per device.
    "plates_seen": StoreQuery(
        _WindowArgs,
        list[PlateSeen],
        lambda store, args: store.queries.plates_seen(args.since, args.until),
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

    def passages(self, search: PassageFilter) -> list[PassageRecord]:
        answer: list[PassageRecord] = self.channel.ask(
            "passages", msgspec.structs.asdict(search), STORE_QUERIES["passages"].answer
        )
        return answer

    def passage(self, device_id: str, event_id: str) -> PassageDetail | None:
        answer: PassageDetail | None = self._ask(
            "passage", {"device_id": device_id, "event_id": event_id}
        )
        return answer

    def sealed_captures(self, window: CaptureWindow) -> list[SealedFaceCapture]:
        answer: list[SealedFaceCapture] = self.channel.ask(
            "sealed_captures",
            msgspec.structs.asdict(window),
            STORE_QUERIES["sealed_captures"].answer,
        )
        return answer

    def plate_passages(
        self, plate_token: str, since: datetime, until: datetime, limit: int
    ) -> list[PlatePassage]:
        answer: list[PlatePassage] = self._ask(
            "plate_passages",
            {"plate_token": plate_token, "since": since, "until": until, "limit": limit},
        )
        return answer

    def plate_passages_near(
        self, moments: list[tuple[str, datetime]], window_seconds: float, limit: int
    ) -> list[PlatePassage]:
        answer: list[PlatePassage] = self._ask(
            "plate_passages_near",
            {"moments": moments, "window_seconds": window_seconds, "limit": limit},
        )
        return answer

    def subject_passages_near(
        self, moments: list[tuple[str, datetime]], window_seconds: float, limit: int
    ) -> list[SubjectPassage]:
        answer: list[SubjectPassage] = self._ask(
            "subject_passages_near",
            {"moments": moments, "window_seconds": window_seconds, "limit": limit},
        )
        return answer

    def subject_passages(
        self, keys: list[tuple[str, str]], since: datetime, until: datetime, limit: int
    ) -> list[SubjectPassage]:
        answer: list[SubjectPassage] = self._ask(
            "subject_passages", {"keys": keys, "since": since, "until": until, "limit": limit}
        )
        return answer

    def passage_counts(self, since: datetime, until: datetime) -> list[PassageCount]:
        answer: list[PassageCount] = self._ask("passage_counts", {"since": since, "until": until})
        return answer

    def plates_seen(self, since: datetime, until: datetime) -> list[PlateSeen]:
        answer: list[PlateSeen] = self._ask("plates_seen", {"since": since, "until": until})
        return answer

    def close(self) -> None:
        self.channel.close()

    def _ask(self, name: str, arguments: dict[str, object]) -> Any:
        return self.channel.ask(name, arguments, STORE_QUERIES[name].answer)
