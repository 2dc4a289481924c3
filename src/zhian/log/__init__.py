"""The durable event log: an event is acknowledged only once the log holds it on disk."""

from zhian.log.base import EventLog, EventLogError, LogClosedError, LogCorruptError
from zhian.log.local import LocalEventLog
from zhian.log.readers import LogReader, LogReaders, ReaderPosition
from zhian.log.sealed import SealedEventLog

__all__ = [
    "EventLog",
    "EventLogError",
    "LocalEventLog",
    "LogClosedError",
    "LogCorruptError",
    "LogReader",
    "LogReaders",
    "ReaderPosition",
    "SealedEventLog",
]
