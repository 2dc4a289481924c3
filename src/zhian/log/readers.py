"""Named readers of the log: each keeps a durable position, and retention prunes below the
slowest.

A reader (the store feeder, the rules engine, later the cascade forwarder, the video worker,
tip triage) registers under a stable name and acknowledges the newest record it is done
with. Its own checkpoint stays where it commits its work (the event store's `last_seq`, the
rules' `rule_checkpoints` row); the position here is acknowledged after that commit, so it
never runs ahead of the reader and pruning below it never drops a record the reader needs.

The local log keeps one small file per reader in `<log folder>/readers/`, written whole and
renamed into place, so every process of the node (web, worker, `zhian` commands) sees the
positions without opening the log itself. JetStream's durable consumers are the model for
the NATS backend (the issue "The scaled tier").

A reader that stops for good keeps its position and so holds retention back: nothing expires
by itself (a quiet reader may be a stopped worker that will come back and must not find its
records gone). Retention warns with the reader's name; `zhian log readers` shows every
position and `zhian log drop-reader NAME` removes one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Protocol

import msgspec

from zhian.log.base import EventLogError

READERS_FOLDER: Final = "readers"
POSITION_SUFFIX: Final = ".pos"
# A reader's name becomes a file name (and later a JetStream consumer name).
_NAME_PATTERN: Final = re.compile(r"[a-z][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class ReaderPosition:
    """Where one named reader stands: every record up to `seq` is done with."""

    name: str
    seq: int
    updated_at: datetime


class LogReaders(Protocol):
    """The registry of a log's named readers and their acknowledged positions."""

    def register(self, name: str, seq: int) -> None:
        """Declare a reader at `seq` (its own checkpoint); replaces an earlier position,
        lower or higher, since the reader's checkpoint is what counts."""
        ...

    def ack(self, name: str, seq: int) -> None:
        """The reader is done with every record up to `seq`."""
        ...

    def positions(self) -> list[ReaderPosition]:
        """Every registered reader, slowest first."""
        ...

    def drop(self, name: str) -> bool:
        """Forget a reader that will not come back; False when none had that name."""
        ...


class _StoredPosition(msgspec.Struct, frozen=True):
    seq: int
    updated_at: datetime


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(_StoredPosition)


def check_reader_name(name: str) -> str:
    if not _NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"a log reader's name is 1-64 lower-case letters, digits, - or _: {name!r}"
        )
    return name


class FileLogReaders:
    """Reader positions as one file per reader beside the log (`readers/<name>.pos`).

    Each reader's file is written by the process that runs the reader and read by any:
    the new position goes to a temporary file, is fsynced and renamed over the old one, so
    a crash leaves the old position or the new one, never a torn file. Both are safe for
    retention, which only ever prunes below them.
    """

    def __init__(
        self, directory: Path, *, fsync: bool = True, now: Callable[[], datetime] | None = None
    ) -> None:
        self._directory = directory
        self._fsync = fsync
        self._now = now or (lambda: datetime.now(UTC))

    @property
    def directory(self) -> Path:
        return self._directory

    def register(self, name: str, seq: int) -> None:
        self._write(name, seq)

    def ack(self, name: str, seq: int) -> None:
        self._write(name, seq)

    def positions(self) -> list[ReaderPosition]:
        found, problems = self.readable_positions()
        if problems:
            raise EventLogError(problems[0])
        return found

    def readable_positions(self) -> tuple[list[ReaderPosition], list[str]]:
        """The positions that read back, slowest first, and what is wrong with the others."""
        if not self._directory.is_dir():
            return [], []
        found: list[ReaderPosition] = []
        problems: list[str] = []
        for path in self._directory.glob("*" + POSITION_SUFFIX):
            name = path.name.removesuffix(POSITION_SUFFIX)
            try:
                stored = _DECODER.decode(path.read_bytes())
            except FileNotFoundError:  # dropped meanwhile
                continue
            except msgspec.DecodeError as exc:
                problems.append(f"log reader position {path} is unreadable: {exc}")
                continue
            found.append(ReaderPosition(name, stored.seq, stored.updated_at))
        return sorted(found, key=lambda position: (position.seq, position.name)), problems

    def drop(self, name: str) -> bool:
        path = self._path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def _path(self, name: str) -> Path:
        return self._directory / f"{check_reader_name(name)}{POSITION_SUFFIX}"

    def _write(self, name: str, seq: int) -> None:
        if seq < 0:
            raise ValueError("a reader's position must not be negative")
        path = self._path(name)
        self._directory.mkdir(parents=True, exist_ok=True)
        payload = _ENCODER.encode(_StoredPosition(seq, self._now()))
        # One temporary file per process: two processes never share a half-written one.
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, payload)
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            temporary.replace(path)
        except OSError as exc:
            raise EventLogError(f"could not save log reader {name}'s position: {exc}") from exc


@dataclass(frozen=True)
class LogReader:
    """One named reader's handle on the registry: what a consumer is given."""

    readers: LogReaders
    name: str

    def register(self, seq: int) -> None:
        self.readers.register(self.name, seq)

    def ack(self, seq: int) -> None:
        self.readers.ack(self.name, seq)


def slowest_reader(readers: LogReaders) -> ReaderPosition | None:
    """The reader furthest behind, below which the log may be pruned; None when no reader
    is registered (then nothing may be pruned: no one has said what it still needs)."""
    positions = readers.positions()
    return positions[0] if positions else None


def local_log_readers(log_directory: Path) -> FileLogReaders:
    """The reader positions of the local log in `log_directory`, reachable without opening
    the log (which one process holds): for `zhian log` while the node runs."""
    return FileLogReaders(log_directory / READERS_FOLDER)
