"""The duplicate index: which (device, event id) pairs the log already holds.

Kept on disk (SQLite, `intake-keys.sqlite3` in the workspace) as event key → log sequence
number and arrival time, written behind the log: the index records how far it has indexed
the log (`indexed_through`), and whoever opens it indexes the records after that mark. A
start-up therefore reads only the log's tail that was not indexed yet (at most about
`flush_seconds` of intake), not the whole duplicate window as the in-memory index did.

The intake hands over the keys of each batch it appended, with the record's sequence number
(`logged`), and a background thread (`start_flushing`) writes them to the file from memory,
so an intake request neither waits for SQLite nor reads the log back; only records nobody
handed over (after a crash: the tail; or a batch still between its append and its hand-over)
are read from the log. A Bloom filter over the stored keys (`KeyFilter`) answers "never
seen" for most fresh keys without a SQLite lookup.

Keys claimed by batches not yet indexed live in memory, in the process that appends to the
log: on the local tier that is one process (the log folder's lock), so its claims and the
shared file together are every key the log holds.

Several processes appending to one log (the NATS tier, `shared=True`) share the file when
they share the workspace (`zhian serve --workers N`). Each writes only the keys of the
records it appended itself, and learns the others' from the file: every flush also adds a
row to `flushes` (the keys it wrote, in commit order), which the other processes read at
their next batch and move into their Bloom filters at their next flush. Which records are
indexed is kept per record (`indexed_records`) until the mark can pass them. A record no
process indexed `shared_grace_seconds` (10) after it became durable (its process died, or
it runs on another machine with its own workspace) is read from the log, as the single
process reads its tail. Reading every other process's records back from the log instead,
as each process once did, cost more CPU per event with two intake processes than one
process took in all (docs/capacity.md). The stream itself stores a batch sent again whole
once (`Nats-Msg-Id`, zhian.log.nats).

Keys of events the log lost to a damaged disk (zhian.log.damage) before the event store
applied them are forgotten (`LostRecords`), so that a device resending such an event is
answered "accepted" and the event is stored once, rather than "duplicate" and never stored.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime
from itertools import chain, repeat
from pathlib import Path
from typing import Final, Protocol

import msgspec

from zhian.ingest.keyfilter import KeyFilter
from zhian.kit.loops import BackgroundLoop
from zhian.log.base import EventLog
from zhian.log.damage import LogLoss
from zhian.log.readers import LogReaders

logger = logging.getLogger(__name__)

# Keys per SELECT … IN (…): below SQLite's smallest limit on bound parameters (999).
_LOOKUP_CHUNK: Final = 900
_META_INDEXED_THROUGH: Final = "indexed_through"
# One meta row per lost range whose keys were forgotten: "forgot <first>-<last>" → last.
_META_FORGOT_PREFIX: Final = "forgot "
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS event_keys (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_keys_received_at ON event_keys (received_at);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS indexed_records (seq INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS flushes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    written_at REAL NOT NULL,
    keys TEXT NOT NULL
);
"""
# A shared file keeps each flush's keys this long for the other processes to read; one
# that reads later (stalled that long) builds its filter again from the whole file.
_FLUSH_ROWS_KEEP_SECONDS: Final = 600.0
_KEYS_CODEC: Final = msgspec.json.Decoder(list[str])
# A flush's keys as one JSON parameter, [[seq, arrival second, [key, …]], …]. Sorted:
# neighbouring keys land on the same pages (about twice as fast to insert).
_INSERT_BATCHES: Final = """
WITH batch AS MATERIALIZED (
    SELECT json_extract(value, '$[0]') AS seq, json_extract(value, '$[1]') AS received_at,
        json_extract(value, '$[2]') AS keys
    FROM json_each(?)
)
INSERT OR IGNORE INTO event_keys (key, seq, received_at)
SELECT key.value, batch.seq, batch.received_at FROM batch, json_each(batch.keys) AS key
ORDER BY 1
"""
_BATCHES_ENCODER: Final = msgspec.json.Encoder()

# A log record's events as (arrival time in epoch seconds, event keys).
RecordKeys = Callable[[bytes], tuple[float, list[str]]]


class LostRecords(Protocol):
    """What the log lost, so that the index forgets the keys of events nobody holds now."""

    def lost_ranges(self) -> Sequence[tuple[int, int]]:
        """(first, last) sequence numbers of each range of records the log lost."""
        ...

    def held_through(self) -> int:
        """The newest record the event store has applied: it holds every record at or
        below it that the log still had when the store read it."""
        ...


class ReaderLostRecords:
    """The losses a log has recorded (`losses`), and the event store's position among the
    log's named readers (`reader`; a reader that never registered holds nothing)."""

    def __init__(
        self, losses: Callable[[], Sequence[LogLoss]], readers: LogReaders, reader: str
    ) -> None:
        self._losses = losses
        self._readers = readers
        self._reader = reader

    def lost_ranges(self) -> list[tuple[int, int]]:
        return [(loss.first_seq, loss.last_seq) for loss in self._losses()]

    def held_through(self) -> int:
        return max(
            (
                position.seq
                for position in self._readers.positions()
                if position.name == self._reader
            ),
            default=0,
        )


def event_key(device_id: str, event_id: str) -> str:
    # \x1f (unit separator) cannot occur in a valid id, so keys never collide.
    return f"{device_id}\x1f{event_id}"


def batch_id(keys: Sequence[str]) -> str:
    """A logged batch's id, from its events' keys in order: the same events sent again
    (a retried request, to this intake process or another) get the same id."""
    digest = hashlib.blake2b(digest_size=16)
    for key in keys:
        digest.update(key.encode())
        digest.update(b"\x1e")
    return digest.hexdigest()


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
        filter_keys: int = 1_000_000,
        lost: LostRecords | None = None,
        shared: bool = False,
        shared_grace_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        # Several processes append to the log and share this file (see the module's doc).
        self._shared = shared
        # The newest `flushes` row this process's filter holds, its own rows not read yet,
        # and the log's end at each flush of the last `shared_grace_seconds`: a record
        # durable longer than that and still not indexed is read from the log. Seconds, not
        # flushes: on a loaded machine a process's flush comes late, and reading its
        # records back meanwhile costs every process more than waiting.
        self._flushes_read = 0
        self._own_flushes: set[int] = set()
        # Keys of the rows read since (`_pull_others_keys`), until the flush adds them to
        # the filter; and whether rows were missed (pruned unread): then the filter is not
        # asked until it is built again.
        self._others_recent: set[str] = set()
        self._filter_stale = False
        self._grace_seconds = shared_grace_seconds
        self._monotonic = monotonic
        self._ends_seen: deque[tuple[float, int]] = deque()
        self._end_past_grace = 0
        self._lost = lost
        self._filter_keys = filter_keys
        self._keep_seconds = keep_seconds
        self._record_keys = record_keys
        self._flush_seconds = flush_seconds
        self._flush_keys = flush_keys
        self._lock = threading.Lock()  # claims, hand-overs, the filter, the lookup connection
        self._flush_lock = threading.Lock()  # the writing connection: one writer at a time
        # Keys of batches being appended, or appended and not indexed yet.
        self._claimed: dict[str, float] = {}
        # Appended batches not indexed yet: log sequence number → (keys, arrival second).
        self._logged: dict[int, tuple[Sequence[str], int]] = {}
        self._next_flush = time.monotonic() + flush_seconds
        # Two connections, so that a flush writing (up to a second of keys) never holds up
        # the lookups of the intake: with WAL a reader sees the last commit meanwhile.
        self._writer = _connect(path)
        self._writer.executescript(_SCHEMA)
        self._reader = self._writer if path is None else _connect(path)
        self._shares_connection = path is None
        # The lost ranges whose keys are already forgotten (kept in the file's meta table).
        self._forgotten = {
            _parse_forgotten(row[0])
            for row in self._writer.execute(
                "SELECT name FROM meta WHERE name LIKE ?", (_META_FORGOT_PREFIX + "%",)
            )
        }
        # Built by the background thread's first step, at once (reading every stored key
        # takes about a second per million): until then every new key is looked up in SQLite.
        self._filter: KeyFilter | None = None
        self._flusher = BackgroundLoop(
            "duplicate-index",
            self._flush_step,
            interval_seconds=flush_seconds,
            logger=logger,
        )
        self._closed = False

    def __len__(self) -> int:
        with self._lock:
            stored = self._reader.execute("SELECT count(*) FROM event_keys").fetchone()[0]
            return int(stored) + len(self._claimed)

    @property
    def filter_bytes(self) -> int:
        """Memory the Bloom filter takes (for the benchmark and the docs)."""
        return 0 if self._filter is None else self._filter.size_bytes

    @property
    def indexed_through(self) -> int:
        with self._flush_lock:
            return self._indexed_through()

    # --- the intake's path ---------------------------------------------------------------

    def reserve(self, keys: Sequence[str], received_at: float) -> list[bool]:
        """Claim keys for a batch about to be logged; False where the key is already taken."""
        with self._lock:
            claimed_keys = self._claimed
            if self._shared and self._filter is not None:  # without one, SQLite is asked
                self._pull_others_keys()
            # Keys other processes wrote since this one's last flush: not in its filter yet.
            others = self._others_recent
            # Only keys the filter might hold are asked of SQLite: usually none of them.
            key_filter = None if self._filter_stale else self._filter
            maybe_held = keys if key_filter is None else _held(keys, key_filter)
            maybe = [key for key in maybe_held if key not in claimed_keys]
            stored = self._stored(maybe) if maybe else ()
            claimed: list[bool] = []
            append = claimed.append
            for key in keys:
                if key in claimed_keys or key in stored or key in others:
                    append(False)
                else:
                    claimed_keys[key] = received_at
                    append(True)
        return claimed

    def logged(self, seq: int, keys: Sequence[str], received_at: float) -> None:
        """Hand over the claimed keys of a batch now durable as record `seq`, so the flush
        writes them from memory rather than reading the record back from the log."""
        with self._lock:
            # Whole seconds: a key is forgotten a window after it arrived, give or take one.
            self._logged[seq] = (keys, int(received_at))
            due = len(self._claimed) >= self._flush_keys
        if not self._flusher.is_running:
            self.flush_if_due()  # no background thread (tests, tools): flush inline
        elif due:
            self._flusher.wake()

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

    def start_flushing(self) -> None:
        """Flush on a background thread from now on (every `flush_seconds`, sooner when
        `flush_keys` have gathered), so that intake requests never wait for a flush."""
        self._flusher.start()

    def catch_up(self) -> int:
        """Index every durable record after `indexed_through`; returns how many keys.

        At start-up this is the tail a crash left unindexed; keys of events the log lost
        and the store never applied are forgotten first (`LostRecords`). An index ahead of
        the log holds keys of records the log does not have: with `lost`, those of events
        the store never applied are forgotten; without it, the index is emptied and built
        again from the log.
        """
        with self._flush_lock:
            indexed, durable = self._indexed_through(), self._log.durable_seq
            if indexed > durable and self._lost is not None:
                logger.warning(
                    "the duplicate index is ahead of the log (records %d to %d); forgetting "
                    "the keys of those the event store does not hold",
                    durable + 1,
                    indexed,
                )
                self._forget_lost([(durable + 1, indexed)], remember=False)
                with self._writing():
                    self._set_indexed_through(durable)
            elif indexed > durable:
                logger.warning("the duplicate index is ahead of the log; building it again")
                with self._writing():
                    self._writer.execute("DELETE FROM event_keys")
                    self._writer.execute("DELETE FROM indexed_records")
                    self._set_indexed_through(0)
            return self._catch_up(every_gap=True)

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
        """Stop flushing in the background, index what is left (so the next start-up has
        no tail to read) and close (once; later calls do nothing, as a node closed twice
        closes its intake twice)."""
        self._flusher.stop()
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

    def _flush_step(self) -> bool:
        with self._flush_lock:
            if self._closed:
                return False
            if self._filter is None:  # the first step, right after `catch_up`: no keys yet
                self._build_filter()
                return False
            written = self._catch_up()
        # More gathered meanwhile: go on (not while a batch in flight holds the claims).
        return written > 0 and len(self._claimed) >= self._flush_keys

    def _catch_up(self, *, every_gap: bool = False) -> int:
        """Index the records after the mark (the caller holds `_flush_lock`): the handed-
        over ones from memory, the others (a crash's tail, a batch between its append and
        its hand-over) read from the log."""
        if self._lost is not None:
            self._forget_lost(self._lost.lost_ranges())
        if self._shared:
            return self._catch_up_shared(every_gap=every_gap)
        after = self._indexed_through()
        with self._lock:
            handed, self._logged = self._logged, {}
        # Read after taking the hand-overs: every record handed over is at or below it.
        end = self._log.durable_seq
        self._next_flush = time.monotonic() + self._flush_seconds
        if after >= end:
            return 0
        batches = [(seq, arrived, keys) for seq, (keys, arrived) in handed.items() if seq > after]
        for first, last in _gaps(after, end, sorted(handed)):
            batches.extend(self._read_batches(first - 1, last))
        added = list(chain.from_iterable(keys for _seq, _arrived, keys in batches))
        if self._filter is not None and self._filter.is_full:
            self._build_filter(also=added)
        elif self._filter is not None:
            with self._lock:  # before the commit: a stored key is never "absent"
                self._filter.add(added)
        with self._writing():
            # One statement for all the keys, so SQLite works with the GIL released rather
            # than taking it back for every row; the intake runs meanwhile.
            self._writer.execute(_INSERT_BATCHES, (_BATCHES_ENCODER.encode(batches),))
            self._set_indexed_through(end)
            if self._keep_seconds is not None and batches:
                newest = max(arrived for _seq, arrived, _keys in batches)
                self._forget_some(newest - self._keep_seconds, len(added))
        # Committed, so no longer needed in memory (claims of batches in flight stay).
        with self._lock:
            deque(map(self._claimed.pop, added, repeat(None)), maxlen=0)
            # Handed over meanwhile, but already read from the log above.
            for seq in [seq for seq in self._logged if seq <= end]:
                del self._logged[seq]
        return len(added)

    def _catch_up_shared(self, *, every_gap: bool) -> int:
        """`_catch_up` for a log several processes append to: this process's own records
        from memory; a record nobody indexed is read from the log once it has been durable
        for `shared_grace_seconds` (`every_gap`: at once, at start-up), so records other
        processes are about to index are not read back. Then the keys the others wrote
        since the last flush go into this process's filter."""
        with self._lock:
            handed, self._logged = self._logged, {}
        end = self._log.durable_seq
        read_through = end if every_gap else self._durable_past_grace(end)
        self._next_flush = time.monotonic() + self._flush_seconds
        after = self._indexed_through()
        indexed = {
            row[0]
            for row in self._writer.execute(
                "SELECT seq FROM indexed_records WHERE seq > ?", (after,)
            )
        }
        batches = [(seq, arrived, keys) for seq, (keys, arrived) in handed.items()]
        known = sorted(indexed.union(handed))
        for first, last in _gaps(after, min(read_through, end), known):
            batches.extend(self._read_batches(first - 1, last))
        added = list(chain.from_iterable(keys for _seq, _arrived, keys in batches))
        self._add_to_filter(added)
        if batches:
            with self._writing():
                self._writer.execute(_INSERT_BATCHES, (_BATCHES_ENCODER.encode(batches),))
                self._writer.executemany(
                    "INSERT OR IGNORE INTO indexed_records (seq) VALUES (?)",
                    [(seq,) for seq, _arrived, _keys in batches],
                )
                flush_id = self._writer.execute(
                    "INSERT INTO flushes (written_at, keys) VALUES (?, ?)",
                    (time.time(), _BATCHES_ENCODER.encode(added)),
                ).lastrowid
                self._advance_mark()
                self._writer.execute(
                    "DELETE FROM flushes WHERE written_at < ?",
                    (time.time() - _FLUSH_ROWS_KEEP_SECONDS,),
                )
                if self._keep_seconds is not None:
                    newest = max(arrived for _seq, arrived, _keys in batches)
                    self._forget_some(newest - self._keep_seconds, len(added))
            assert flush_id is not None
            self._own_flushes.add(flush_id)
        self._learn_others_keys()
        with self._lock:
            deque(map(self._claimed.pop, added, repeat(None)), maxlen=0)
        return len(added)

    def _durable_past_grace(self, end: int) -> int:
        """The log's end as a flush at least `shared_grace_seconds` ago saw it (0 if none):
        records up to it that nobody indexed since are read from the log."""
        now = self._monotonic()
        self._ends_seen.append((now, end))
        while self._ends_seen and self._ends_seen[0][0] <= now - self._grace_seconds:
            self._end_past_grace = self._ends_seen.popleft()[1]
        return self._end_past_grace

    def _advance_mark(self) -> None:
        """Move the mark over the records now indexed without a gap after it and drop
        their rows, no longer needed (inside the flush's transaction: the mark read here
        is the newest, whichever process moved it last)."""
        after = mark = self._indexed_through()
        for (seq,) in self._writer.execute(
            "SELECT seq FROM indexed_records WHERE seq > ? ORDER BY seq", (after,)
        ).fetchall():
            if seq != mark + 1:
                break
            mark = seq
        if mark > after:
            self._set_indexed_through(mark)
        self._writer.execute("DELETE FROM indexed_records WHERE seq <= ?", (mark,))

    def _add_to_filter(self, keys: Sequence[str]) -> None:
        """Before the commit: a stored key is never "absent"."""
        if self._filter is not None and self._filter.is_full:
            self._build_filter(also=keys)
        elif self._filter is not None:
            with self._lock:
                self._filter.add(keys)

    def _learn_others_keys(self) -> None:
        """Move the keys other processes wrote to the shared file since the last flush into
        this process's filter; one that missed rows (pruned unread) builds it again."""
        if self._filter is None:
            return  # no filter yet: every key is looked up in SQLite meanwhile
        with self._lock:
            self._pull_others_keys()
            rebuild = self._filter_stale or self._filter.is_full
            if not rebuild:
                # Under the lock: a key is always in the filter or in the recent set.
                self._filter.add(list(self._others_recent))
                self._others_recent = set()
        if rebuild:
            self._build_filter()

    def _pull_others_keys(self) -> None:
        """Read the `flushes` rows other processes committed since the last read into the
        recent set (the caller holds `_lock`): one cheap query when there are none, so the
        intake asks it for every batch and a key another process flushed is a duplicate
        here at once, not only after this process's next flush."""
        rows = self._reader.execute(
            "SELECT id, keys FROM flushes WHERE id > ? ORDER BY id", (self._flushes_read,)
        ).fetchall()
        if not rows:
            return
        if rows[0][0] > self._flushes_read + 1:
            self._filter_stale = True  # rows pruned before this process read them
        for flush_id, keys in rows:
            if flush_id in self._own_flushes:
                self._own_flushes.discard(flush_id)
            else:
                self._others_recent.update(_KEYS_CODEC.decode(keys))
        self._flushes_read = rows[-1][0]

    def _forget_lost(self, ranges: Sequence[tuple[int, int]], *, remember: bool = True) -> None:
        """Forget the keys of events in lost `ranges` that the event store never applied,
        so that a resend is accepted; each range once (`remember`: noted in the file, in
        the same transaction). The caller holds `_flush_lock`."""
        assert self._lost is not None
        new = [span for span in dict.fromkeys(ranges) if span not in self._forgotten]
        if not new:
            return
        held = self._lost.held_through()
        gone = [(max(first, held + 1), last) for first, last in new if last > held]
        with self._lock:
            # Batches handed over but not indexed yet: none can lie in a lost range, as the
            # log loses only what it had before it opened; but should one, it goes too.
            for seq in [seq for seq in self._logged if _inside(seq, gone)]:
                keys, _arrived = self._logged.pop(seq)
                for key in keys:
                    self._claimed.pop(key, None)
        forgotten = 0
        with self._writing():
            for first, last in gone:
                forgotten += self._writer.execute(
                    "DELETE FROM event_keys WHERE seq BETWEEN ? AND ?", (first, last)
                ).rowcount
            if remember:
                self._writer.executemany(
                    "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
                    [(f"{_META_FORGOT_PREFIX}{first}-{last}", last) for first, last in new],
                )
        if remember:
            self._forgotten.update(new)
        if forgotten:
            logger.warning(
                "the duplicate index forgot %d keys of events the log lost before the event "
                "store applied them (records %s): a device resending one is accepted",
                forgotten,
                ", ".join(f"{first} to {last}" for first, last in gone),
            )

    def build_filter(self) -> None:
        """Build the Bloom filter now (the background thread does so at its first step)."""
        with self._flush_lock:
            self._build_filter()

    def _build_filter(self, also: Sequence[str] = ()) -> None:
        """A filter over every stored key (and `also`), sized for twice as many (at least
        `filter_keys`): at the background thread's first step, and when the running one is
        full (forgotten keys leave it then too). The caller holds `_flush_lock`, so no
        flush stores a key meanwhile."""
        with self._lock if self._shares_connection else nullcontext():
            # Before the keys: rows other processes commit meanwhile are read again later.
            row = self._writer.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'flushes'"
            ).fetchone()
            newest = int(row[0]) if row else 0
            count = self._writer.execute("SELECT count(*) FROM event_keys").fetchone()[0]
            built = KeyFilter(max(2 * (int(count) + len(also)), self._filter_keys))
            cursor = self._writer.execute("SELECT key FROM event_keys")
            while chunk := cursor.fetchmany(100_000):
                built.add([row[0] for row in chunk])
        built.add(also)
        with self._lock:
            self._filter = built
            # Every key of the rows up to `newest` is in the built filter.
            self._flushes_read = newest
            self._others_recent = set()
            self._filter_stale = False
            self._own_flushes = {id_ for id_ in self._own_flushes if id_ > newest}

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

    def _read_batches(self, after: int, end: int) -> Iterator[tuple[int, int, list[str]]]:
        """(seq, arrival second, keys) of the log's records in (after, end]."""
        for seq, record in self._log.iter_records(after):
            if seq > end:
                return
            received, keys = self._record_keys(record)
            # Whole seconds: a key is forgotten a window after it arrived, give or take one.
            yield seq, int(received), keys

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


def _held(keys: Sequence[str], key_filter: KeyFilter) -> Iterable[str]:
    return map(keys.__getitem__, key_filter.positions_maybe_held(keys))


def _inside(seq: int, ranges: Sequence[tuple[int, int]]) -> bool:
    return any(first <= seq <= last for first, last in ranges)


def _parse_forgotten(name: str) -> tuple[int, int]:
    first, last = name.removeprefix(_META_FORGOT_PREFIX).split("-")
    return int(first), int(last)


def _gaps(after: int, end: int, present: list[int]) -> Iterator[tuple[int, int]]:
    """(first, last) of each run of sequence numbers in (after, end] not in the ascending
    `present`: the records nobody handed over, to be read from the log."""
    expected = after + 1
    for seq in present:
        if seq > end:
            break
        if seq >= expected:
            if seq > expected:
                yield expected, seq - 1
            expected = seq + 1
    if expected <= end:
        yield expected, end


def _connect(path: Path | None) -> sqlite3.Connection:
    connection = sqlite3.connect(
        ":memory:" if path is None else str(path), isolation_level=None, check_same_thread=False
    )
    # WAL lets other processes and the lookup connection read while a flush writes; NORMAL
    # skips the fsync per commit, since a commit lost in a crash is indexed again from the
    # log (the mark moves in the same transaction). 64 MiB of page cache per connection.
    # 16 KiB pages (for a new file; an existing one keeps its size): a flush's random keys
    # dirty fewer pages, about a third less work per key than the default 4 KiB.
    connection.executescript(
        "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        " PRAGMA cache_size=-65536;"
    )
    return connection
