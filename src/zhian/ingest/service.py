"""The intake: validate, de-duplicate, make durable, acknowledge; quarantine the rest."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol, cast

import anyio.to_thread
import msgspec

from zhian.errors import ZhianError
from zhian.governance.plates import PlateKind, plate_kind
from zhian.ingest.dedupe import DuplicateIndex, LostRecords, batch_id, event_key
from zhian.ingest.events import Event, LoggedBatch, LoggedBatchKeys, VehicleEvent
from zhian.ingest.json_depth import depth_error
from zhian.ingest.settings import IntakeSettings
from zhian.ingest.validate import (
    DIRECTORY_MISS_CODES,
    DirectoryKeeper,
    EventValidator,
    FieldError,
    IntakeDirectory,
    ItemRejected,
    decode_event,
)
from zhian.kit.clock import Clock
from zhian.log.base import EventLog, EventLogError

Status = Literal["accepted", "duplicate", "rejected"]


class EventTooLargeError(ZhianError):
    """One event alone is larger than a log record may be (the NATS log's message limit)."""

    status_code = 413
    code = "event_too_large"


# What the intake raises when the log or the disk under it fails: the items are fine, the
# node is not, and the same items succeed once the storage is back (a sender retries).
STORAGE_FAILURES: tuple[type[Exception], ...] = (OSError, EventLogError)


class ItemOutcome(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """What happened to one item of a request, in request order."""

    index: int
    status: Status
    line: int | None = None
    id: str | None = None
    device_id: str | None = None
    errors: list[FieldError] | None = None
    # For rejected items, a stable reason code: invalid, malformed, unknown_device, …
    code: str | None = None


class BatchResult(msgspec.Struct, frozen=True):
    accepted: int
    duplicate: int
    rejected: int
    items: list[ItemOutcome]


@dataclass(frozen=True)
class QuarantineEntry:
    """A refused item on its way to the quarantine, verbatim."""

    received_at: datetime
    source: str
    sender_device_id: str | None
    device_id: str | None
    event_id: str | None
    content_type: str
    raw: bytes
    reasons: list[FieldError]
    reason_code: str


class QuarantineSink(Protocol):
    def hold(self, entries: Sequence[QuarantineEntry]) -> None:
        """Keep the entries durably before returning."""


@dataclass
class IntakeStats:
    """Running counters since start-up, for the status page."""

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    requests: int = 0
    # Accepted vehicle passages whose plate is of no recognised kind (foreign, misread,
    # no plate): kept, and flagged on the data-quality page.
    other_plates: int = 0
    last_accepted_at: datetime | None = None

    def __post_init__(self) -> None:
        self.rejected_by_reason: Counter[str] = Counter()
        self.accepted_by_source: Counter[str] = Counter()


@dataclass(frozen=True)
class IntakeCount:
    """What one intake request came to: handed to `IntakeService.observers` (metrics)."""

    source: str
    accepted: int
    duplicate: int
    rejected_codes: tuple[str, ...]


IntakeObserver = Callable[[IntakeCount], None]

_KEY_DECODER = msgspec.msgpack.Decoder(LoggedBatchKeys)


class _LoggedBatchHead(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """A log record decoded only as far as its arrival time; the events are skipped."""

    received_at: datetime


_HEAD_DECODER = msgspec.msgpack.Decoder(_LoggedBatchHead)


def record_received_at(record: bytes) -> datetime:
    """When the intake accepted the batch that a durable-log record holds."""
    return _HEAD_DECODER.decode(record).received_at


def record_keys(record: bytes) -> tuple[float, list[str]]:
    """A durable-log record's arrival time (epoch seconds) and its events' duplicate keys."""
    batch = _KEY_DECODER.decode(record)
    return batch.received_at.timestamp(), [event_key(e.device_id, e.id) for e in batch.events]


def duplicate_window(settings: IntakeSettings) -> timedelta:
    """How long after its arrival an event's key can still come back as a duplicate.

    An event accepted at `received` has a time of at most received + max_future, so it
    turns too old to be accepted again once now > received + max_future + max_age. The
    duplicate index keeps keys this long, and the log covers it too, so that a lost index
    file can be built again from the log.
    """
    return timedelta(days=settings.max_age_days, seconds=settings.max_future_seconds)


class IntakeService:
    """Takes events from every protocol through one path.

    An event is acknowledged (`accepted`) only once the durable log holds it; a
    (device, id) pair already logged is reported as `duplicate` and not stored again;
    everything refused goes verbatim to the quarantine with a reason per field.
    """

    def __init__(
        self,
        *,
        log: EventLog,
        quarantine: QuarantineSink,
        clock: Clock,
        settings: IntakeSettings,
        image_exists: Callable[[str], bool],
        directory: IntakeDirectory | None = None,
        duplicate_index_path: Path | None = None,
        lost_records: LostRecords | None = None,
        shared_log: bool = False,
    ) -> None:
        self._log = log
        self._quarantine = quarantine
        self._clock = clock
        self._settings = settings
        self._image_exists = image_exists
        self._validator = EventValidator(
            max_future_seconds=settings.max_future_seconds, max_age_days=settings.max_age_days
        )
        self._plate_kinds = frozenset(PlateKind(name) for name in settings.plate_kinds)
        # None keeps the index in memory (tests): a start-up then reads the whole log.
        self._index = DuplicateIndex(
            duplicate_index_path,
            log,
            record_keys,
            keep_seconds=duplicate_window(settings).total_seconds(),
            # Keys of events the log lost before the store applied them are forgotten, so
            # that a device resending one is accepted (zhian.log.damage).
            lost=lost_records,
            # Other intake processes append to the same log (NATS): zhian.ingest.dedupe.
            shared=shared_log,
        )
        self._encoder = msgspec.msgpack.Encoder()
        self._stats_lock = threading.Lock()
        self.directory = directory or IntakeDirectory()
        # When set, a refusal for an unknown or disabled device reloads the directory if
        # the database knows better, and checks the batch again before refusing anything.
        self.directory_keeper: DirectoryKeeper | None = None
        self.stats = IntakeStats()
        # Called after each request is counted (the web's /metrics counters); an observer
        # must be quick and must not raise: it runs on the intake's path.
        self.observers: list[IntakeObserver] = []

    # --- start-up -------------------------------------------------------------------------

    def recover(self) -> int:
        """Bring the duplicate index up to the log; returns how many keys it indexed.

        Only the log's tail that was not indexed before the last stop is read (all of it
        for a new or lost index file: retention keeps the log as long as the duplicate
        window, `governance.log_days`, so every key the index needs is still there).
        """
        return self._index.catch_up()

    def start_indexing(self) -> None:
        """Write the duplicate index on a background thread from now on, so no intake
        request waits for it (in the process that appends to the log, after `recover`)."""
        self._index.start_flushing()

    def close(self) -> None:
        """Index the rest of the log and close the duplicate index (before the log)."""
        self._index.close()

    def forget_old_keys(self) -> int:
        """Drop duplicate keys older than the window; run now and then (they can't recur)."""
        return self._index.forget_before(self._key_cutoff())

    def _key_cutoff(self) -> datetime:
        # The index is keyed by arrival time; keys received before the window can go.
        return self._clock.now() - duplicate_window(self._settings)

    # --- entry points ---------------------------------------------------------------------

    def submit_events(
        self, events: Sequence[Event], *, source: str, sender_id: str | None = None
    ) -> BatchResult:
        """The in-process API: events already decoded (the simulator, file loaders)."""
        candidates: list[Event | ItemRejected] = list(events)
        # Refused in-process events are kept as the JSON a sender would have posted.
        raws = _LazyJson(events)
        return self._process(candidates, raws, source, sender_id, "application/json")

    def submit_raw(
        self,
        items: Sequence[bytes],
        *,
        source: str,
        sender_id: str | None,
        content_type: str,
        hold_rejected: bool = True,
        decoded: Sequence[Event] | None = None,
    ) -> BatchResult:
        """Items as received, each one JSON object, decoded and checked on its own.

        An item that is not exactly one JSON value is refused whole (`decode_event`), so
        every item yields at most one event and every event meets the device checks.
        `hold_rejected=False` is for replays from the quarantine, which keeps its own rows.
        `decoded`, when a framing has already decoded every item as an event (a JSON array
        decoded whole, zhian.ingest.native.framing), is `decode_event` of each item.
        """
        # One decode call per item (unless decoded): an item can't close the array early
        # or open a second element the way a joined array lets it.
        candidates: list[Event | ItemRejected] = (
            list(decoded) if decoded is not None else [decode_event(raw) for raw in items]
        )
        return self._process(
            candidates, items, source, sender_id, content_type, hold_rejected=hold_rejected
        )

    async def submit_raw_async(
        self,
        items: Sequence[bytes],
        *,
        source: str,
        sender_id: str | None,
        content_type: str,
        decoded: Sequence[Event] | None = None,
    ) -> BatchResult:
        return await anyio.to_thread.run_sync(
            lambda: self.submit_raw(
                items,
                source=source,
                sender_id=sender_id,
                content_type=content_type,
                decoded=decoded,
            )
        )

    def quarantine_whole(
        self,
        raw: bytes,
        *,
        source: str,
        sender_id: str | None,
        content_type: str,
        error: FieldError,
    ) -> None:
        """Keep a request that could not be split into items (malformed body)."""
        self._quarantine.hold(
            [
                QuarantineEntry(
                    received_at=self._clock.now(),
                    source=source,
                    sender_device_id=sender_id,
                    device_id=None,
                    event_id=None,
                    content_type=content_type,
                    raw=raw,
                    reasons=[error],
                    reason_code="malformed",
                )
            ]
        )
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.rejected += 1
            self.stats.rejected_by_reason["malformed"] += 1
        self._tell(IntakeCount(source, 0, 0, ("malformed",)))

    # --- the one path ---------------------------------------------------------------------

    def _process(
        self,
        candidates: list[Event | ItemRejected],
        raws: Sequence[bytes],
        source: str,
        sender_id: str | None,
        content_type: str,
        *,
        hold_rejected: bool = True,
    ) -> BatchResult:
        if len(candidates) != len(raws):  # each outcome and refusal belongs to one item
            raise ValueError(f"{len(candidates)} candidates for {len(raws)} items")
        now = self._clock.now()

        def check() -> tuple[list[Event | ItemRejected], list[ItemRejected]]:
            # Against the directory as it is now (a reload below replaces it).
            checked = self._validator.check_batch(
                candidates,
                directory=self.directory,
                sender_id=sender_id,
                now=now,
                image_exists=self._image_exists,
            )
            return checked, [item for item in checked if isinstance(item, ItemRejected)]

        checked, rejected = check()
        if rejected and self._reloaded_for(candidates, checked):
            checked, rejected = check()
        valid = cast(
            list[Event],
            checked if not rejected else [e for e in checked if type(e) is not ItemRejected],
        )
        keys = [f"{e.device_id}\x1f{e.id}" for e in valid]  # see dedupe.event_key
        received_at = now.timestamp()
        claimed = self._index.reserve(keys, received_at)
        # A key repeated inside one batch is claimed by its first occurrence only.
        fresh = [e for e, is_new in zip(valid, claimed, strict=True) if is_new]
        if fresh:
            fresh_keys = [k for k, is_new in zip(keys, claimed, strict=True) if is_new]
            self._append(now, source, fresh, fresh_keys, received_at)

        if rejected and hold_rejected:
            self._hold_rejected(checked, raws, now, source, sender_id, content_type)
        result = BatchResult(
            accepted=len(fresh),
            duplicate=len(valid) - len(fresh),
            rejected=len(rejected),
            items=self._outcomes(checked, claimed, has_rejected=bool(rejected)),
        )
        self._count(result, [r.code for r in rejected], source, now)
        self._count_other_plates(fresh)
        return result

    def _count_other_plates(self, fresh: list[Event]) -> None:
        kinds = self._plate_kinds
        other = sum(
            1
            for event in fresh
            if type(event) is VehicleEvent and plate_kind(event.plate, kinds) is PlateKind.OTHER
        )
        if other:
            with self._stats_lock:
                self.stats.other_plates += other

    def _append(
        self,
        now: datetime,
        source: str,
        fresh: list[Event],
        fresh_keys: list[str],
        received_at: float,
    ) -> None:
        """Make the fresh events durable, as one log record or, past the log's record
        limit (NATS: log.nats_max_message_bytes), as several; returns once all are."""
        record = self._encoder.encode(LoggedBatch(now, source, fresh))
        limit = self._log.max_record_bytes
        if limit is None or len(record) <= limit:
            parts = [(record, fresh_keys)]
        else:
            try:
                parts = list(self._split(now, source, fresh, fresh_keys, limit))
            except EventTooLargeError:
                self._index.release(fresh_keys)
                raise
        for index, (part, part_keys) in enumerate(parts):
            try:
                # The batch's id (its events' keys, hashed): a log shared by several intake
                # processes stores a batch sent to two of them once (log/nats.py). A split
                # request is cut the same way each time, so a retry sends the same ids.
                seq = self._log.append([part], ids=[batch_id(part_keys)])
            except BaseException:
                # Parts already durable stay claimed (a retry finds them duplicates); the
                # rest never became durable.
                self._index.release([key for _, keys in parts[index:] for key in keys])
                raise
            self._index.logged(seq, part_keys, received_at)

    def _split(
        self, now: datetime, source: str, events: list[Event], keys: list[str], limit: int
    ) -> Iterator[tuple[bytes, list[str]]]:
        """Records of at most `limit` bytes holding `events` in order: halves, recursively."""
        record = self._encoder.encode(LoggedBatch(now, source, events))
        if len(record) <= limit:
            yield record, keys
            return
        if len(events) == 1:
            raise EventTooLargeError(
                f"event {events[0].id} of device {events[0].device_id} takes {len(record)} "
                f"bytes in the log, more than one log record holds ({limit} bytes)"
            )
        middle = len(events) // 2
        yield from self._split(now, source, events[:middle], keys[:middle], limit)
        yield from self._split(now, source, events[middle:], keys[middle:], limit)

    @staticmethod
    def _outcomes(
        checked: list[Event | ItemRejected], claimed: list[bool], *, has_rejected: bool
    ) -> list[ItemOutcome]:
        if not has_rejected:  # the common case, kept lean: one struct per event
            return [
                ItemOutcome(index, "accepted" if is_new else "duplicate", None, e.id, e.device_id)  # type: ignore[union-attr]
                for index, (e, is_new) in enumerate(zip(checked, claimed, strict=True))
            ]
        outcomes: list[ItemOutcome] = []
        append = outcomes.append
        claims = iter(claimed)
        for index, item in enumerate(checked):
            if type(item) is ItemRejected:
                append(ItemOutcome(index, "rejected", errors=item.errors, code=item.code))
            else:
                status: Status = "accepted" if next(claims) else "duplicate"
                append(ItemOutcome(index, status, id=item.id, device_id=item.device_id))  # type: ignore[union-attr]
        return outcomes

    def _reloaded_for(
        self, candidates: list[Event | ItemRejected], checked: list[Event | ItemRejected]
    ) -> bool:
        keeper = self.directory_keeper
        if keeper is None:
            return False
        missed = {
            candidate.device_id
            for candidate, outcome in zip(candidates, checked, strict=True)
            if isinstance(outcome, ItemRejected)
            and outcome.code in DIRECTORY_MISS_CODES
            and not isinstance(candidate, ItemRejected)
        }
        if not missed or not keeper.refresh_if_changed(missed):
            return False
        self.directory = keeper.current
        return True

    def _hold_rejected(
        self,
        checked: list[Event | ItemRejected],
        raws: Sequence[bytes],
        now: datetime,
        source: str,
        sender_id: str | None,
        content_type: str,
    ) -> None:
        entries: list[QuarantineEntry] = []
        for index, item in enumerate(checked):
            if not isinstance(item, ItemRejected):
                continue
            raw = raws[index]
            identity = _identity(raw)
            entries.append(
                QuarantineEntry(
                    received_at=now,
                    source=source,
                    sender_device_id=sender_id,
                    device_id=identity[0],
                    event_id=identity[1],
                    content_type=content_type,
                    raw=raw,
                    reasons=item.errors,
                    reason_code=item.code,
                )
            )
        if entries:
            self._quarantine.hold(entries)

    def _count(self, result: BatchResult, codes: list[str], source: str, now: datetime) -> None:
        with self._stats_lock:
            stats = self.stats
            stats.requests += 1
            stats.accepted += result.accepted
            stats.duplicate += result.duplicate
            stats.rejected += result.rejected
            stats.accepted_by_source[source] += result.accepted
            stats.rejected_by_reason.update(codes)
            if result.accepted:
                stats.last_accepted_at = now
        self._tell(IntakeCount(source, result.accepted, result.duplicate, tuple(codes)))

    def _tell(self, count: IntakeCount) -> None:
        for observer in self.observers:
            observer(count)


class _LazyJson(Sequence[bytes]):
    """JSON of in-process events, encoded only for the few that are refused."""

    def __init__(self, events: Sequence[Event]) -> None:
        self._events = events

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, index: int) -> bytes:  # type: ignore[override]
        return msgspec.json.encode(self._events[index])


class _Identity(msgspec.Struct):
    id: object = None
    device_id: object = None


_IDENTITY_DECODER = msgspec.json.Decoder(_Identity)


def _identity(raw: bytes) -> tuple[str | None, str | None]:
    """Best-effort device and event id of a refused item, so the quarantine can be searched."""
    if depth_error(raw) is not None:
        return None, None  # too deep for the recursive decoder; kept without an identity
    try:
        found = _IDENTITY_DECODER.decode(raw)
    except msgspec.DecodeError:
        return None, None
    device = found.device_id if isinstance(found.device_id, str) else None
    event = found.id if isinstance(found.id, str) else None
    return (device[:64] if device else None), (event[:64] if event else None)
