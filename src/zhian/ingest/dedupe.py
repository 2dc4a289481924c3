"""The duplicate index: which (device, event id) pairs the log already holds.

Kept on disk (SQLite, `intake-keys.sqlite3` in the workspace) as event key → log sequence
number and arrival time, written behind the log: the index records how far it has indexed
the log (`indexed_through`), and whoever opens it indexes the records after that mark. A
start-up therefore reads only the log's tail that was not indexed yet (at most about
`flush_seconds` of intake), not the whole duplicate window as the in-memory index did.

Keys claimed by batches not yet indexed live in memory, in the process that appends to the
log: on the local tier that is one process (the log folder's lock), so its claims and the
shared file together are every key the log holds. Several processes appending to one log
is the NATS tier's case, where the server de-duplicates by message id (`Nats-Msg-Id`, within
a duplicate window) rather than this index (the issue "The scaled tier").
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Final

from zhian.log.base import EventLog

logger = logging.getLogger(__name__)

# Keys per SELECT … IN (…): below SQLite's smallest limit on bound parameters (999).
_LOOKUP_CHUNK: Final = 900
_META_INDEXED_THROUGH: Final = "indexed_through"
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS event_keys (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_keys_received_at ON event_keys (received_at);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

# A log record's events as (arrival time in epoch seconds, event keys).
RecordKeys = Callable[[bytes], tuple[float, list[str]]]


def event_key(device_id: str, event_id: str) -> str:
    # \x1f (unit separator) cannot occur in a valid id, so keys never collide.
    return f"{device_id}\x1f{event_id}"


class DuplicateIndex:
    """Remembers event keys, each with the time it arrived, within the accepted window.

    Events older than the window are refused as too old, so keys beyond it can be forgotten:
    with `keep_seconds` (the duplicate window) each flush drops some that arrived longer ago
    than that, so the file is bounded by the window, not by the history. `path=None` keeps
    the index in memory only (tests, throwaway runs): a start-up then indexes the whole log.
    """

    def __init__(
        self,
        path: Path | None,
        log: EventLog,
        record_keys: RecordKeys,
        *,
        flush_seconds: float = 1.0,
        flush_keys: int = 100_000,
        keep_seconds: float | None = None,
    ) -> None:
        self._log = log
        self._keep_seconds = keep_seconds
        self._record_keys = record_keys
        self._flush_seconds = flush_seconds
        self._flush_keys = flush_keys
        self._lock = threading.Lock()  # the claims and the lookup connection
        self._flush_lock = threading.Lock()  # the writing connection: one writer at a time
        # Keys of batches being appended, or appended and not indexed yet.
        self._claimed: dict[str, float] = {}
        self._next_flush = time.monotonic() + flush_seconds
        # Two connections, so that a flush writing (up to a second of keys) never holds up
        # the lookups of the intake: with WAL a reader sees the last commit meanwhile.
        self._writer = _connect(path)
        self._writer.executescript(_SCHEMA)
        self._reader = self._writer if path is None else _connect(path)
        self._shares_connection = path is None
        self._closed = False

    def __len__(self) -> int:
        with self._lock:
            stored = self._reader.execute("SELECT count(*) FROM event_keys").fetchone()[0]
            return int(stored) + len(self._claimed)

    @property
    def indexed_through(self) -> int:
        with self._flush_lock:
            return self._indexed_through()

    # --- the intake's path ---------------------------------------------------------------

    def reserve(self, keys: Sequence[str], received_at: float) -> list[bool]:
        """Claim keys for a batch about to be logged; False where the key is already taken."""
        with self._lock:
            claimed_keys = self._claimed
            unclaimed = [key for key in keys if key not in claimed_keys]
            stored = self._stored(unclaimed) if unclaimed else set()
            claimed: list[bool] = []
            append = claimed.append
            for key in keys:
                if key in claimed_keys or key in stored:
                    append(False)
                else:
                    claimed_keys[key] = received_at
                    append(True)
        return claimed

    def release(self, keys: Iterable[str]) -> None:
        """Give back keys whose batch never became durable."""
        with self._lock:
            for key in keys:
                self._claimed.pop(key, None)

    def flush_if_due(self) -> int:
        """Index the log's new records when enough time or keys have gathered; another
        thread already flushing makes this a no-op. Returns how many keys were written."""
        if len(self._claimed) < self._flush_keys and time.monotonic() < self._next_flush:
            return 0
        if not self._flush_lock.acquire(blocking=False):
            return 0
        try:
            return self._catch_up()
        except Exception:
            # The batch that called is durable and must be acknowledged; the keys stay
            # claimed in memory and the next flush (or start-up) indexes them.
            logger.exception("the duplicate index could not index the log; retrying later")
            return 0
        finally:
            self._flush_lock.release()

    # --- start-up, upkeep ----------------------------------------------------------------

    def catch_up(self) -> int:
        """Index every durable record after `indexed_through`; returns how many keys.

        At start-up this is the tail a crash left unindexed. An index ahead of the log
        belongs to a log that was replaced: it is emptied and built again from the log.
        """
        with self._flush_lock:
            if self._indexed_through() > self._log.durable_seq:
                logger.warning("the duplicate index is ahead of the log; building it again")
                with self._writing():
                    self._writer.execute("DELETE FROM event_keys")
                    self._set_indexed_through(0)
            return self._catch_up()

    def forget_before(self, cutoff: datetime) -> int:
        """Drop keys that arrived before `cutoff`; returns how many went."""
        limit = cutoff.timestamp()
        with self._lock:
            old = [key for key, moment in self._claimed.items() if moment < limit]
            for key in old:
                del self._claimed[key]
        with self._flush_lock, self._writing():
            deleted = self._writer.execute(
                "DELETE FROM event_keys WHERE received_at < ?", (limit,)
            ).rowcount
        return len(old) + deleted

    def close(self) -> None:
        """Index what is left, so the next start-up has no tail to read, and close (once;
        later calls do nothing, as a node closed twice closes its intake twice)."""
        with self._flush_lock:
            if self._closed:
                return
            self._closed = True
            self._catch_up()
            with self._lock:
                self._reader.close()
                if not self._shares_connection:
                    self._writer.close()

    # --- inside ----------------------------------------------------------------------------

    def _catch_up(self) -> int:
        """Index the records after the mark (the caller holds `_flush_lock`)."""
        after = self._indexed_through()
        end = self._log.durable_seq
        self._next_flush = time.monotonic() + self._flush_seconds
        if after >= end:
            return 0
        # Sorted: neighbouring keys land on the same pages (about twice as fast to insert).
        rows = sorted(self._rows(after, end))
        with self._writing():
            self._writer.executemany(
                "INSERT OR IGNORE INTO event_keys (key, seq, received_at) VALUES (?, ?, ?)", rows
            )
            self._set_indexed_through(end)
            if self._keep_seconds is not None:
                self._forget_some(max(row[2] for row in rows) - self._keep_seconds, len(rows))
        # Committed, so no longer needed in memory (claims of batches in flight stay).
        with self._lock:
            for key, _seq, _received in rows:
                self._claimed.pop(key, None)
        return len(rows)

    def _forget_some(self, cutoff: float, indexed: int) -> None:
        """Drop keys that arrived before `cutoff` (arrival times of the log, no wall clock),
        a bounded number per flush: forgetting keeps pace with indexing, and no flush stalls
        on a whole day of expired keys."""
        self._writer.execute(
            "DELETE FROM event_keys WHERE key IN "
            "(SELECT key FROM event_keys WHERE received_at < ? LIMIT ?)",
            (cutoff, 2 * indexed + 1_000),
        )

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction on the writing connection (which the lookups share in memory)."""
        with self._lock if self._shares_connection else nullcontext():
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def _rows(self, after: int, end: int) -> Iterator[tuple[str, int, int]]:
        for seq, record in self._log.iter_records(after):
            if seq > end:
                return
            received, keys = self._record_keys(record)
            # Whole seconds: a key is forgotten a window after it arrived, give or take one.
            arrived = int(received)
            for key in keys:
                yield key, seq, arrived

    def _stored(self, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key FROM event_keys WHERE key IN ({marks})"
            found.update(row[0] for row in self._reader.execute(query, chunk))
        return found

    def _indexed_through(self) -> int:
        row = self._writer.execute(
            "SELECT value FROM meta WHERE name = ?", (_META_INDEXED_THROUGH,)
        ).fetchone()
        return int(row[0]) if row else 0

    def _set_indexed_through(self, seq: int) -> None:
        self._writer.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (_META_INDEXED_THROUGH, seq)
        )


def _connect(path: Path | None) -> sqlite3.Connection:
    connection = sqlite3.connect(
        ":memory:" if path is None else str(path), isolation_level=None, check_same_thread=False
    )
    # WAL lets other processes and the lookup connection read while a flush writes; NORMAL
    # skips the fsync per commit, since a commit lost in a crash is indexed again from the
    # log (the mark moves in the same transaction). 64 MiB of page cache per connection.
    connection.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;"
    )
    return connection
