"""The background thread that applies the durable log to the event store, in order."""

from __future__ import annotations

import logging
import threading
import time

import msgspec

from zhian.errors import ZhianError
from zhian.ingest.events import LoggedBatch, LoggedEvent
from zhian.kit.loops import BackgroundLoop
from zhian.log.base import EventLog, LogCorruptError
from zhian.log.readers import LogReader
from zhian.store.events import EventStore

logger = logging.getLogger(__name__)

# The feeder's name among the log's readers (zhian.log.readers).
READER_NAME = "store"
# Longest pause between retries after an error that may pass (disk full, a locked file).
MAX_RETRY_SECONDS = 30.0
# Records read from the log at a time while gathering a store batch (a record is a batch).
_RECORDS_PER_READ = 16


class UndecodableRecordError(ZhianError):
    """A log record is not a `LoggedBatch`; the feeder stops rather than skip it."""

    code = "undecodable_log_record"

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"log record {seq} is not a valid logged batch: {reason}")
        self.seq = seq


class StoreFeeder:
    """Keeps the event store caught up with the log, on a daemon thread.

    It reads from the store's own `last_seq` on, so a restart resumes exactly where the
    last committed batch ended. A record it cannot decode stops it: skipping it would
    lose an acknowledged event without anyone noticing, so the error is logged and raised
    from `wait_caught_up` instead. Other errors are retried with a growing pause.
    """

    def __init__(
        self,
        log: EventLog,
        store: EventStore,
        *,
        batch_events: int,
        poll_seconds: float,
        reader: LogReader | None = None,
    ) -> None:
        if batch_events < 1 or poll_seconds <= 0:
            raise ValueError("batch_events and poll_seconds must be positive")
        self._log = log
        self._store = store
        self._batch_events = batch_events
        self._poll_seconds = poll_seconds
        # The feeder's named position in the log (retention prunes below it); the store's
        # own `last_seq` stays the checkpoint, acknowledged after each store commit.
        self._reader = reader
        self._decoder = msgspec.msgpack.Decoder(LoggedBatch)
        self._progress = threading.Condition()
        self._loop = BackgroundLoop(
            "store-feeder",
            self._step,
            interval_seconds=poll_seconds,
            max_backoff_seconds=MAX_RETRY_SECONDS,
            fatal=(UndecodableRecordError, LogCorruptError),
            logger=logger,
        )
        self._last_error: Exception | None = None
        self._failed_for_good = False  # the last error stopped the thread
        self._warned_gap = False  # told once that retention pruned records never stored

    @property
    def last_error(self) -> Exception | None:
        """The error of the last failed attempt; None once a batch goes through again."""
        return self._last_error

    @property
    def is_running(self) -> bool:
        return self._loop.is_running

    def start(self) -> None:
        if self.is_running:
            raise RuntimeError("the store feeder is already running")
        self._last_error = None
        self._failed_for_good = False
        if self._reader is not None:
            self._reader.register(self._store.last_seq())
        self._loop.start()

    def stop(self, timeout_seconds: float | None = None) -> None:
        """Stop after the batch in progress, if any; that batch is committed or not at all."""
        self._loop.stop(timeout_seconds)

    def lag(self) -> int:
        """Durable events not yet in the store."""
        last_seq = self._store.last_seq()
        lag = max(0, self._log.durable_seq - last_seq)
        if lag and not self._log.read(last_seq, 1):
            return 0  # the log ends in a gap (records lost to damage, zhian.log.damage)
        return lag

    def _holds_every_record(self, target: int) -> bool:
        last_seq = self._store.last_seq()
        # Short of the target with nothing left to read: the rest is a gap in the log.
        return last_seq >= target or not self._log.read(last_seq, 1)

    def wait_caught_up(self, timeout_seconds: float) -> bool:
        """Wait until the store holds every event durable now; False on timeout.

        Raises the error that stopped the feeder as soon as it does. An error the feeder
        is still retrying is raised only if it is still there at the timeout.
        """
        target = self._log.durable_seq
        deadline = time.monotonic() + timeout_seconds
        with self._progress:
            while True:
                if self._last_error is not None and self._failed_for_good:
                    raise self._last_error
                if self._holds_every_record(target):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if self._last_error is not None:
                        raise self._last_error
                    return False
                self._progress.wait(min(remaining, self._poll_seconds))

    def feed_once(self) -> int:
        """Apply the next records of the log to the store; returns how many events they held.

        Whole records only: a record's events land in one store transaction, and records
        are gathered until about `batch_events` events.
        """
        after_seq = self._store.last_seq()
        self._warn_if_pruned_ahead(after_seq)
        batch: list[tuple[int, LoggedEvent]] = []
        decode = self._decoder.decode
        while len(batch) < self._batch_events:
            records = self._log.read(after_seq, _RECORDS_PER_READ)
            if not records:
                break
            for seq, payload in records:
                try:
                    logged = decode(payload).logged_events()
                except msgspec.DecodeError as exc:
                    # Store what precedes the bad record, so the store stops right before it.
                    if batch:
                        self._store.apply(batch)
                    raise UndecodableRecordError(seq, str(exc)) from exc
                batch.extend((seq, item) for item in logged)
                after_seq = seq
        if batch:
            self._store.apply(batch)
            if self._reader is not None:
                self._reader.ack(after_seq)
        return len(batch)

    def _warn_if_pruned_ahead(self, after_seq: int) -> None:
        """Say once when the store resumes below the log's oldest record: retention pruned
        records this store never held (a store rebuilt or replaced after the prune), so they
        can no longer be stored, and the log's read would skip them silently."""
        first = self._log.first_seq
        if after_seq + 1 >= first or self._warned_gap:
            return
        self._warned_gap = True
        logger.warning(
            "the event store ends at log record %d but the log now begins at %d: records "
            "%d-%d were pruned by retention (or lost to damage: zhian log damage) and are "
            "not in this store",
            after_seq,
            first,
            after_seq + 1,
            first - 1,
        )

    def _step(self) -> bool:
        """One round of the loop; True while a full batch suggests more records wait."""
        try:
            applied = self.feed_once()
        except (UndecodableRecordError, LogCorruptError) as exc:
            logger.exception("the store feeder stops at a bad log record")
            self._set_error(exc, for_good=True)
            raise
        except Exception as exc:  # logged by the loop, which tries again with a growing pause
            self._set_error(exc)
            raise
        self._set_error(None)
        return applied >= self._batch_events

    def _set_error(self, error: Exception | None, *, for_good: bool = False) -> None:
        with self._progress:
            self._last_error = error
            self._failed_for_good = for_good
            self._progress.notify_all()
