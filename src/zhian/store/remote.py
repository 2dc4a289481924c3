"""Event-store reads for a process that does not own the store: named queries over loopback.

DuckDB admits one writing process per file, and in split mode that is the worker. The web
pages still show recent events, device last-seen times and arrival figures: they ask the
worker by query name. Only the queries in `STORE_QUERIES` can be asked, each with typed
arguments and a typed answer (msgspec), so the endpoint runs no SQL it was sent. The
worker publishes where it listens and a random token in the workspace
(`worker-endpoint.json`, readable by the node's user only); nothing else knows the token.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Protocol

import httpx
import msgspec

from zhian.errors import ZhianError
from zhian.store.events import ArrivalStats, EventStore, StoredEventSummary

ENDPOINT_FILE_NAME: Final = "worker-endpoint.json"
TOKEN_HEADER: Final = "X-Zhian-Worker-Token"  # noqa: S105 - a header name, not a secret
QUERY_PATH_PREFIX: Final = "/store/"


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


class StoreUnreachableError(ZhianError):
    """The process that owns the event store did not answer (not running, or failing)."""

    status_code = 503
    code = "event_store_unreachable"


class _NoArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class _RecentArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    limit: int = 50
    device_id: str | None = None


class _ArrivalArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    since: datetime
    until: datetime
    late_after_seconds: float


@dataclass(frozen=True)
class StoreQuery:
    """One query another process may ask of the event store: its arguments and answer."""

    arguments: type[msgspec.Struct]
    answer: Any  # the type the answer decodes to
    run: Callable[[EventStore, Any], object]


# The allow-list. A name maps to an EventStore read today; the named analytical queries of
# `zhian.store.queries` can take their place name for name.
STORE_QUERIES: Final[dict[str, StoreQuery]] = {
    "last_seq": StoreQuery(_NoArgs, int, lambda store, _args: store.last_seq()),
    "count_by_type": StoreQuery(_NoArgs, dict[str, int], lambda store, _a: store.count_by_type()),
    "recent_events": StoreQuery(
        _RecentArgs,
        list[StoredEventSummary],
        lambda store, args: store.recent_events(args.limit, args.device_id),
    ),
    "device_last_seen": StoreQuery(
        _NoArgs, dict[str, datetime], lambda store, _args: store.device_last_seen()
    ),
    "arrival_stats": StoreQuery(
        _ArrivalArgs,
        list[ArrivalStats],
        lambda store, args: store.arrival_stats(
            args.since, args.until, late_after_seconds=args.late_after_seconds
        ),
    ),
}


def answer_query(store: EventStore, name: str, body: bytes) -> bytes:
    """Run an allow-listed query for another process; `KeyError` for an unknown name,
    `msgspec.ValidationError`/`DecodeError` for arguments that do not fit."""
    query = STORE_QUERIES[name]
    arguments = msgspec.json.decode(body or b"{}", type=query.arguments)
    return msgspec.json.encode(query.run(store, arguments))


@dataclass(frozen=True)
class WorkerEndpoint:
    """Where the worker answers store queries, and the token it wants."""

    url: str
    token: str

    @classmethod
    def new(cls, host: str, port: int) -> WorkerEndpoint:
        return cls(url=f"http://{host}:{port}", token=secrets.token_urlsafe(32))

    def publish(self, workspace: Path) -> Path:
        """Write the endpoint file, readable by this user only, replacing any old one."""
        path = workspace / ENDPOINT_FILE_NAME
        staging = path.with_suffix(".tmp")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"url": self.url, "token": self.token}, out)
        staging.replace(path)
        return path

    @classmethod
    def read(cls, workspace: Path) -> WorkerEndpoint | None:
        try:
            data = json.loads((workspace / ENDPOINT_FILE_NAME).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return cls(url=str(data["url"]), token=str(data["token"]))

    @staticmethod
    def withdraw(workspace: Path, token: str) -> None:
        """Remove the endpoint file if it is still this worker's."""
        current = WorkerEndpoint.read(workspace)
        if current is not None and secrets.compare_digest(current.token, token):
            (workspace / ENDPOINT_FILE_NAME).unlink(missing_ok=True)


class RemoteEventStore:
    """`EventReads` answered by the worker process that owns the event store."""

    def __init__(self, workspace: Path, *, timeout_seconds: float = 10.0) -> None:
        self._workspace = workspace
        self._client = httpx.Client(timeout=timeout_seconds)

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

    def close(self) -> None:
        self._client.close()

    def _ask(self, name: str, arguments: dict[str, object]) -> Any:
        # Read each time: a restarted worker listens elsewhere with a new token.
        endpoint = WorkerEndpoint.read(self._workspace)
        if endpoint is None:
            raise StoreUnreachableError(
                "the event store is owned by the worker process, which is not running "
                f"(no {ENDPOINT_FILE_NAME} in {self._workspace}): start `zhian worker`"
            )
        try:
            response = self._client.post(
                endpoint.url + QUERY_PATH_PREFIX + name,
                content=msgspec.json.encode(arguments),
                headers={TOKEN_HEADER: endpoint.token, "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise StoreUnreachableError(f"the worker did not answer: {exc}") from exc
        if response.status_code != 200:
            raise StoreUnreachableError(
                f"the worker refused the store query {name!r}: HTTP {response.status_code}"
            )
        return msgspec.json.decode(response.content, type=STORE_QUERIES[name].answer)
