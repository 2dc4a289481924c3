"""What the event log lost to a damaged disk, and the damaged files it kept aside.

When recovery finds records it cannot read back (a flipped byte, a cut segment, a write the
disk dropped after its fsync), it never numbers new records over them: their sequence
numbers stay used, a *gap* in the log. Each gap is written to `damaged/losses.jsonl` beside
the segments before the log goes on, and a damaged file is copied to `damaged/` with a
`.note` beside it, so an operator can see what was lost and inspect or restore it.

The book is read without opening the log (`zhian log damage` while the node runs), and by
recovery itself: a gap between two segments is damage already reported when the book names
it, and its end counts towards the highest sequence number ever used. So it is never pruned:
a loss stays in the book for good. An operator who has dealt with a loss (restored the
segment, or accepted what is gone) *acknowledges* it (`zhian log acknowledge-damage`):
a line in `damaged/acknowledged.jsonl` names its range, who acknowledged it, when and why,
and the node's health stops reporting it. A loss found later is reported until it too is
acknowledged.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TypeVar

import msgspec

from zhian.log.base import EventLogError

DAMAGED_FOLDER: Final = "damaged"
LOSSES_FILE_NAME: Final = "losses.jsonl"
ACKNOWLEDGED_FILE_NAME: Final = "acknowledged.jsonl"
NOTE_SUFFIX: Final = ".note"

_T = TypeVar("_T")


class LossAcknowledgement(msgspec.Struct, frozen=True):
    """An operator dealt with the loss of `first_seq`..`last_seq`: who (the system user
    that ran the command), when, and what they did or decided (`note`)."""

    first_seq: int
    last_seq: int
    acknowledged_at: datetime
    by: str
    note: str


class LogLoss(msgspec.Struct, frozen=True, omit_defaults=True):
    """Records `first_seq`..`last_seq` are gone from the log; their numbers are never reused.

    `kept_aside` names the damaged file copied to the `damaged/` folder (None when nothing
    of it was left to keep, as when a segment file is missing). `acknowledged` is filled in
    on reading, from the acknowledgements beside the book (never written with the loss).
    """

    first_seq: int
    last_seq: int
    found_at: datetime
    cause: str
    kept_aside: str | None = None
    acknowledged: LossAcknowledgement | None = None

    @property
    def records(self) -> int:
        return self.last_seq - self.first_seq + 1


_ENCODER: Final = msgspec.json.Encoder()
_DECODER: Final = msgspec.json.Decoder(LogLoss)
_ACK_DECODER: Final = msgspec.json.Decoder(LossAcknowledgement)


@dataclass(frozen=True)
class KeptAside:
    """A damaged file copied into `damaged/`, with the note that says what it held."""

    path: Path
    note: Path


class LossBook:
    """The log's record of its losses: `damaged/losses.jsonl`, one JSON object a line."""

    def __init__(
        self,
        log_directory: Path,
        *,
        fsync: bool = True,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._folder = log_directory / DAMAGED_FOLDER
        self._fsync = fsync
        self._now = now or (lambda: datetime.now(UTC))

    @property
    def folder(self) -> Path:
        return self._folder

    def losses(self) -> list[LogLoss]:
        """Every loss recorded, oldest first, each with its acknowledgement if it has one;
        a line cut by a crash mid-write is skipped."""
        found = _read_lines(self._folder / LOSSES_FILE_NAME, _DECODER)
        if not found:
            return found
        acknowledged = {
            (ack.first_seq, ack.last_seq): ack
            for ack in _read_lines(self._folder / ACKNOWLEDGED_FILE_NAME, _ACK_DECODER)
        }
        return [
            msgspec.structs.replace(loss, acknowledged=ack)
            if (ack := acknowledged.get((loss.first_seq, loss.last_seq))) is not None
            else loss
            for loss in found
        ]

    def unacknowledged(self) -> list[LogLoss]:
        """The losses no operator has acknowledged yet: what health still reports."""
        return [loss for loss in self.losses() if loss.acknowledged is None]

    def acknowledge(self, by: str, note: str) -> list[LogLoss]:
        """Acknowledge every loss not yet acknowledged; returns them (acknowledged).

        Appended and synced like the book itself, so a recovery running at the same time
        (a node starting) loses neither file's lines; a loss it records after this call is
        not covered and stays reported."""
        pending = self.unacknowledged()
        if not pending:
            return []
        now = self._now()
        acks = [
            LossAcknowledgement(loss.first_seq, loss.last_seq, now, by, note) for loss in pending
        ]
        self._append(ACKNOWLEDGED_FILE_NAME, b"".join(b"\n" + _ENCODER.encode(a) for a in acks))
        return [
            msgspec.structs.replace(loss, acknowledged=ack)
            for loss, ack in zip(pending, acks, strict=True)
        ]

    def covers(self, first_seq: int, last_seq: int) -> bool:
        """Whether recorded losses already account for every record in the range."""
        wanted = first_seq
        for loss in sorted(self.losses(), key=lambda loss: loss.first_seq):
            if loss.first_seq <= wanted <= loss.last_seq:
                wanted = loss.last_seq + 1
            if wanted > last_seq:
                return True
        return False

    def highest_lost_seq(self) -> int:
        return max((loss.last_seq for loss in self.losses()), default=0)

    def record(
        self, first_seq: int, last_seq: int, cause: str, kept_aside: KeptAside | None = None
    ) -> LogLoss:
        """Write the loss durably (before the log numbers anything after it)."""
        loss = LogLoss(
            first_seq,
            last_seq,
            self._now(),
            cause,
            None if kept_aside is None else kept_aside.path.name,
        )
        if self.covers(first_seq, last_seq):
            return loss  # a recovery cut short after recording it, run again
        self._append(LOSSES_FILE_NAME, b"\n" + _ENCODER.encode(loss))
        return loss

    def _append(self, file_name: str, lines: bytes) -> None:
        """Append `lines` (each after a newline, so a line torn by a crash before them
        stays alone) and a closing newline, durably."""
        self._ensure_folder()
        try:
            fd = os.open(self._folder / file_name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, lines + b"\n")
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise EventLogError(f"could not write the event log's {file_name}: {exc}") from exc

    def keep_aside(self, source: Path, note: str, *, start: int = 0) -> KeptAside:
        """Copy `source` (from byte `start` on) into `damaged/` under a name not yet used,
        with a `.note` saying what it is. The source itself is left as it is."""
        self._ensure_folder()
        stamp = self._now().strftime("%Y%m%dT%H%M%SZ")
        suffix = "" if start == 0 else f".from-byte-{start}"
        target = self._folder / f"{source.name}{suffix}.{stamp}"
        n = 1
        while target.exists():
            n += 1
            target = self._folder / f"{source.name}{suffix}.{stamp}.{n}"
        note_path = target.with_name(target.name + NOTE_SUFFIX)
        try:
            with source.open("rb") as reader, target.open("xb") as writer:
                target.chmod(0o600)
                reader.seek(start)
                shutil.copyfileobj(reader, writer)
                writer.flush()
                if self._fsync:
                    os.fsync(writer.fileno())
            note_path.write_text(note + "\n", encoding="utf-8")
            note_path.chmod(0o600)
            if self._fsync:
                _fsync_directory(self._folder)
        except OSError as exc:
            raise EventLogError(f"could not keep {source} aside in {self._folder}: {exc}") from exc
        return KeptAside(target, note_path)

    def _ensure_folder(self) -> None:
        if not self._folder.is_dir():
            self._folder.mkdir(mode=0o700, exist_ok=True)
            if self._fsync:
                _fsync_directory(self._folder.parent)


def read_losses(log_directory: Path) -> list[LogLoss]:
    """The losses recorded for the log in `log_directory`, without opening the log."""
    return LossBook(log_directory, fsync=False).losses()


def _read_lines(path: Path, decoder: msgspec.json.Decoder[_T]) -> list[_T]:
    """Each JSON line of `path` decoded; a line torn by a crash mid-write is skipped (the
    next recovery records a loss again; an acknowledgement is simply asked for again)."""
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    found: list[_T] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            found.append(decoder.decode(line))
        except msgspec.DecodeError:
            continue
    return found


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
