"""Builds the node's event log from its settings: `log.type` picks the backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from zhian.log.base import PrunableLog, SegmentInfo
from zhian.log.follower import LogFollower
from zhian.log.local import LocalEventLog
from zhian.log.nats import NatsEventLog, NatsLogConfig
from zhian.log.readers import LogReaders, local_log_readers
from zhian.log.sealed import RecordCipher, SealedEventLog
from zhian.log.settings import LogSettings


def open_event_log(
    settings: LogSettings, directory: Path, cipher: RecordCipher | None
) -> PrunableLog:
    """The log `settings.type` names, sealed at rest by `cipher` when one is given.

    `directory` is where the local backend keeps its segments and reader positions; the
    NATS backend keeps nothing there (its stream lives in the NATS cluster).
    """
    stored: PrunableLog
    if settings.type == "nats":
        stored = NatsEventLog(NatsLogConfig.from_settings(settings))
    else:
        stored = LocalEventLog(
            directory, fsync=settings.fsync, segment_bytes=settings.segment_bytes
        )
    return stored if cipher is None else SealedEventLog(stored, cipher)


def follow_event_log(
    settings: LogSettings,
    directory: Path,
    cipher: RecordCipher | None,
    prune: Callable[[int], list[SegmentInfo]],
) -> PrunableLog:
    """A read-only view of the log another process writes (the worker's, when the web
    process holds the local log); `prune` asks the writer to drop what retention may.

    The NATS log has no single writer: the worker opens the stream like any process, and
    its retention purges the stream itself (`prune` is not needed)."""
    if settings.type == "nats":
        return open_event_log(settings, directory, cipher)
    stored = LogFollower(directory, prune=prune)
    return stored if cipher is None else SealedEventLog(stored, cipher)


@contextmanager
def log_readers(settings: LogSettings, directory: Path) -> Iterator[LogReaders]:
    """The named readers of the node's log, for `zhian log` while the node runs: the
    files beside the local log, or the NATS stream's reader bucket."""
    if settings.type == "nats":
        with NatsEventLog(NatsLogConfig.from_settings(settings)) as log:
            yield log.readers
    else:
        yield local_log_readers(directory)
