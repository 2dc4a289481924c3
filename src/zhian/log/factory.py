"""Builds the node's event log from its settings: `log.type` picks the backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from zhian.errors import ConfigurationError
from zhian.log.base import PrunableLog, SegmentInfo
from zhian.log.follower import LogFollower
from zhian.log.local import LocalEventLog
from zhian.log.sealed import RecordCipher, SealedEventLog
from zhian.log.settings import LogSettings


def open_event_log(
    settings: LogSettings, directory: Path, cipher: RecordCipher | None
) -> PrunableLog:
    """The log `settings.type` names, sealed at rest by `cipher` when one is given.

    `directory` is where the local backend keeps its segments and reader positions.
    """
    _refuse_unbuilt(settings)
    stored = LocalEventLog(directory, fsync=settings.fsync, segment_bytes=settings.segment_bytes)
    return stored if cipher is None else SealedEventLog(stored, cipher)


def follow_event_log(
    settings: LogSettings,
    directory: Path,
    cipher: RecordCipher | None,
    prune: Callable[[int], list[SegmentInfo]],
) -> PrunableLog:
    """A read-only view of the log another process writes (the worker's, when the web
    process holds the local log); `prune` asks the writer to drop what retention may."""
    _refuse_unbuilt(settings)
    stored = LogFollower(directory, prune=prune)
    return stored if cipher is None else SealedEventLog(stored, cipher)


def _refuse_unbuilt(settings: LogSettings) -> None:
    if settings.type == "nats":
        # Accepted by the schema so that a configuration can name it, refused here so that
        # nobody runs a node believing its log is replicated.
        raise ConfigurationError(
            'log.type = "nats" is not built yet: the NATS JetStream log comes with the issue '
            '"The scaled tier". Use log.type = "local" (the default).',
            field="log.type",
        )
