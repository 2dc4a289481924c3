"""The analytical event store (DuckDB on the embedded tier) and the thread that feeds it."""

from zhian.store.events import EventStore
from zhian.store.feeder import StoreFeeder, UndecodableRecordError
from zhian.store.queries import EventQueries, StoredEventSummary

__all__ = [
    "EventQueries",
    "EventStore",
    "StoreFeeder",
    "StoredEventSummary",
    "UndecodableRecordError",
]
