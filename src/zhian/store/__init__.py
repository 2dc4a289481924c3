"""The analytical event store (DuckDB on the embedded tier) and the thread that feeds it."""

from zhian.store.events import EventStore, StoredEventSummary
from zhian.store.feeder import StoreFeeder, UndecodableRecordError

__all__ = ["EventStore", "StoreFeeder", "StoredEventSummary", "UndecodableRecordError"]
