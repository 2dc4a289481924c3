"""The event store: every accepted event, by type, in a DuckDB file this process alone
writes. `EventStore` is the facade callers hold; `zhian.store.parquet.ParquetEventStore`
keeps the same events in Parquet files instead (`store.type`, `zhian.store.engines`).
Behind the facade, the parts each engine provides:

- `zhian.store.schema`: the tables and columns;
- `zhian.store.writer`: batches of logged events in, exactly once;
- operational reads (below): what intake, retention and key rotation ask of the store;
- `zhian.store.queries`: the named analytical queries of pages and models (`queries`);
- `zhian.store.maintenance`: upgrade and compaction, re-sealing, deleting by age.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pyarrow as pa

from zhian.ingest.events import LoggedEvent
from zhian.store import maintenance
from zhian.store.duckdb_queries import DuckDbEventQueries
from zhian.store.features import StoreProtector
from zhian.store.maintenance import RetentionKeep
from zhian.store.passages import DuckDbPassages
from zhian.store.queries import EventQueries, PlatePassage, SubjectPassage
from zhian.store.schema import (
    EVENT_TABLES,
    STORE_CONSUMER,
    schema_statements,
    union_all,
    wanted_indexes,
)
from zhian.store.writer import write_batch


class EventStore:
    """Every accepted event, by type, in a DuckDB file this process alone writes.

    The store applies the log in order and remembers the last sequence number it applied
    in the same transaction as the rows, so each logged event is stored exactly once.
    Pages and models read it through `queries`, by name.
    """

    def __init__(
        self,
        path: Path,
        protector: StoreProtector,
        *,
        plate_index: bool = True,
        subject_index: bool = True,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self.protector = protector
        self._connection = duckdb.connect(str(path))
        self._write_lock = threading.Lock()
        with self._write_lock:
            for statement in schema_statements():
                self._connection.execute(statement)
            maintenance.upgrade_older_rows(self._connection, path, protector)
            if maintenance.compaction_marker(path).exists():
                self._connection = maintenance.compact(self._connection, path)
            maintenance.store_columns_uncompressed(self._connection)
            maintenance.build_indexes(
                self._connection, plate_index=plate_index, subject_index=subject_index
            )
        # Readers take cursors from a connection nobody executes on, so that opening one
        # never races with a batch being written on the main connection.
        self._reader_root = self._connection.cursor()
        self.queries: EventQueries = DuckDbEventQueries(self._reader_root)
        kept = wanted_indexes(plate_index=plate_index, subject_index=subject_index)
        self.passages = DuckDbPassages(
            self._reader_root, indexed=[index.table for index, keep in kept.items() if keep]
        )
        # fetchall, not fetchone: DuckDB refuses other work while a result is unfinished.
        ((last_seq,),) = self._connection.execute(
            "SELECT last_seq FROM store_state WHERE consumer = ?", [STORE_CONSUMER]
        ).fetchall()
        self._last_seq: int = last_seq

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        with self._write_lock:
            self._reader_root.close()
            self._connection.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- writing --------------------------------------------------------------------------

    def last_seq(self) -> int:
        """The log sequence number of the newest event applied; 0 before the first."""
        return self._last_seq

    def apply(self, batch: Sequence[tuple[int, LoggedEvent]]) -> None:
        """Store a batch of logged events in one transaction; seqs already applied are skipped."""
        with self._write_lock:
            self._last_seq = write_batch(self._connection, batch, self.protector, self._last_seq)

    # --- operational reads ----------------------------------------------------------------

    def _read(self, sql: str, parameters: dict[str, object] | None = None) -> list[tuple[Any, ...]]:
        # A cursor per call: DuckDB connections are not shared across threads.
        with closing(self._reader_root.cursor()) as cursor:
            return cursor.execute(sql, parameters or {}).fetchall()

    def event_id_counts(self, device_id: str) -> dict[str, int]:
        """How often each event id of a device is stored (all 1 when nothing is doubled)."""
        parts = union_all(lambda t: f"SELECT event_id FROM {t.name} WHERE device_id = $device")
        sql = f"SELECT event_id, count(*) FROM ({parts}) GROUP BY event_id"
        rows = self._read(sql, {"device": device_id})
        return {event_id: int(count) for event_id, count in rows}

    def count_event(self, device_id: str, event_id: str) -> int:
        """How many times a device's event is stored: exactly 1 when all is well."""
        parts = union_all(
            lambda t: (
                f"SELECT count(*) AS n FROM {t.name} "
                "WHERE device_id = $device AND event_id = $event"
            )
        )
        ((count,),) = self._read(
            f"SELECT sum(n) FROM ({parts})", {"device": device_id, "event": event_id}
        )
        return int(count)

    def has_event(self, device_id: str, event_id: str) -> bool:
        return self.count_event(device_id, event_id) > 0

    def plate_passages(
        self, plate_token: str, since: datetime, until: datetime, limit: int
    ) -> list[PlatePassage]:
        """A plate's passages in [since, until), in time order (a trajectory, 轨迹)."""
        sql = plate_passages_sql()
        rows = self._read(sql, {"plate": plate_token, "since": since, "until": until,
                                "limit": limit})  # fmt: skip
        return [_passage(row) for row in rows]

    def plate_passages_near(
        self, moments: Sequence[tuple[str, datetime]], window_seconds: float, limit: int
    ) -> list[PlatePassage]:
        """Vehicle passages at each (device, moment) within `window_seconds` of it: what
        co-travellers (同行) are found among. One range join, narrowed by time first."""
        if not moments:
            return []
        statement = plate_passages_near_statement(moments, window_seconds, limit)
        return [_passage(row) for row in self._read(*statement)]

    def subject_passages_near(
        self, moments: Sequence[tuple[str, datetime]], window_seconds: float, limit: int
    ) -> list[SubjectPassage]:
        """Door passages (granted or denied, any card or subject reference) at each
        (device, moment) within `window_seconds` of it: what a resident's co-travellers
        (同行) are found among. One range join, narrowed by time first, as for plates."""
        if not moments:
            return []
        return [
            _subject_passage(row)
            for row in self._read(*subject_passages_near_statement(moments, window_seconds,
                                                                   limit))
        ]  # fmt: skip

    def subject_passages(
        self, keys: Sequence[tuple[str, str]], since: datetime, until: datetime, limit: int
    ) -> list[SubjectPassage]:
        """Access passages and matched face captures of any of `keys` ((subject_kind,
        token): a resident's card and subject reference) in [since, until), in time order
        (a person's trajectory, 轨迹). Denied access attempts count: the card was there."""
        if not keys:
            return []
        return [
            _subject_passage(row)
            for row in self._read(*subject_passages_statement(keys, since, until, limit))
        ]

    def identifier_tokens(self) -> set[str]:
        """Every identifier token a stored event still holds (the vault keeps no others)."""
        parts = " UNION ".join(
            f"SELECT {c.name} FROM {t.name} WHERE {c.name} IS NOT NULL"
            for t in EVENT_TABLES.values()
            for c in t.identifier_columns
        )
        return {token for (token,) in self._read(parts)}

    def image_refs(self) -> set[str]:
        """Every image reference a stored event still holds (vehicle and face snapshots)."""
        parts = " UNION ".join(
            f"SELECT image FROM {t.name} WHERE image IS NOT NULL"
            for t in EVENT_TABLES.values()
            if t.has_image
        )
        return {ref for (ref,) in self._read(parts)}

    def sealed_key_counts(self) -> Counter[str]:
        """How many sealed face features each key id holds (the key census)."""
        with closing(self._reader_root.cursor()) as cursor:
            return maintenance.sealed_key_counts(cursor, self.protector.feature_key_id)

    def query(
        self,
        sql: str,
        parameters: dict[str, object] | None = None,
        *,
        tables: dict[str, pa.Table] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Read-only SQL over the event tables, for tests, benchmarks and a maintainer's
        shell; `tables` are Arrow tables visible by name to this one query. Application
        code asks `queries` by name instead, so that a second engine can answer."""
        with closing(self._reader_root.cursor()) as cursor:
            for name, table in (tables or {}).items():
                cursor.register(name, table)
            return cursor.execute(sql, parameters or {}).fetchall()

    # --- maintenance ----------------------------------------------------------------------

    def delete_before(
        self,
        event_type: str,
        cutoff: datetime,
        keep: RetentionKeep | None = None,
        *,
        dry_run: bool = False,
    ) -> int:
        """Remove events of `event_type` whose time lies before `cutoff`, except those
        `keep` names (legal holds); returns how many went, or would go with `dry_run`."""
        keep = keep or RetentionKeep()
        if dry_run:
            with closing(self._reader_root.cursor()) as cursor:
                return maintenance.delete_before(cursor, event_type, cutoff, keep, dry_run=True)
        with self._write_lock:
            return maintenance.delete_before(
                self._connection, event_type, cutoff, keep, dry_run=False
            )

    @contextmanager
    def writes_paused(self) -> Iterator[None]:
        """No batch is applied inside the block (the vault's purge needs a still store)."""
        with self._write_lock:
            yield

    def reseal_features(self) -> int:
        """Seal every face feature not under the active key anew (key rotation), in one
        transaction; returns how many were re-sealed."""
        with self._write_lock:
            return maintenance.reseal_features(self._connection, self.protector)


def plate_passages_sql() -> str:
    """`EventStore.plate_passages`' statement: the plate looked up on its own (materialised),
    which the plate index answers (`store.plate_index`), then narrowed to the window and
    ordered; in one SELECT, DuckDB's top-N rewrite would scan the table instead."""
    # Every row found holds the plate asked for, so it is not fetched (each column fetched
    # through the index costs its own read per row).
    return (
        "WITH found AS MATERIALIZED (SELECT seq, event_id, device_id, time, plate_masked "
        "FROM vehicle_events WHERE plate = $plate) "
        "SELECT seq, event_id, device_id, timezone('UTC', time), $plate::VARCHAR, plate_masked "
        "FROM found WHERE time >= $since AND time < $until ORDER BY time, seq LIMIT $limit"
    )


def subject_passages_statement(
    keys: Sequence[tuple[str, str]], since: datetime, until: datetime, limit: int
) -> tuple[str, dict[str, object]]:
    """`EventStore.subject_passages`' statement and parameters (`keys` not empty)."""
    # The tokens as a constant IN list, looked up on their own (materialised), which the
    # subject index answers (`store.subject_index`); the kind and the window are checked on
    # the rows found. With the window or the time order in the same SELECT, DuckDB's top-N
    # rewrite scans the table instead (as for plates: zhian.store.passages).
    tokens = ", ".join(f"$r{i}" for i in range(len(keys)))
    pairs = ", ".join(f"($k{i}, $r{i})" for i in range(len(keys)))
    parameters: dict[str, object] = {"since": since, "until": until, "limit": limit}
    for i, (kind, token) in enumerate(keys):
        parameters[f"k{i}"], parameters[f"r{i}"] = kind, token
    lookups = ", ".join(
        f"{kind} AS MATERIALIZED (SELECT seq, event_id, device_id, time, '{kind}' AS type, "
        f"subject_kind, subject_ref, subject_masked FROM {table} "
        f"WHERE subject_ref IN ({tokens}))"
        for kind, table in (("access", "access_events"), ("face", "face_events"))
    )
    sql = (
        f"WITH {lookups} SELECT seq, event_id, device_id, timezone('UTC', time), type, "
        "subject_kind, subject_ref, subject_masked FROM (SELECT * FROM access UNION ALL "
        f"SELECT * FROM face) WHERE (subject_kind, subject_ref) IN (VALUES {pairs}) "
        "AND time >= $since AND time < $until ORDER BY time, seq LIMIT $limit"
    )
    return sql, parameters


def _near_parameters(
    moments: Sequence[tuple[str, datetime]], window_seconds: float, limit: int
) -> tuple[str, dict[str, object]]:
    """The (device, moment) VALUES list of a read of passages near moments, and its
    parameters: each moment, the window, the limit and the span of time they cover."""
    values = ", ".join(f"($d{i}, $t{i})" for i in range(len(moments)))
    parameters: dict[str, object] = {"window": window_seconds, "limit": limit}
    for i, (device_id, moment) in enumerate(moments):
        parameters[f"d{i}"], parameters[f"t{i}"] = device_id, moment
    parameters["since"] = min(m for _, m in moments) - timedelta(seconds=window_seconds)
    parameters["until"] = max(m for _, m in moments) + timedelta(seconds=window_seconds)
    return values, parameters


def plate_passages_near_statement(
    moments: Sequence[tuple[str, datetime]], window_seconds: float, limit: int
) -> tuple[str, dict[str, object]]:
    """`EventStore.plate_passages_near`' statement and parameters (`moments` not empty)."""
    values, parameters = _near_parameters(moments, window_seconds, limit)
    sql = (
        "SELECT v.seq, v.event_id, v.device_id, timezone('UTC', v.time), v.plate, "
        f"v.plate_masked FROM vehicle_events v JOIN (VALUES {values}) AS s(device_id, time) "
        "ON v.device_id = s.device_id AND v.time BETWEEN s.time - to_seconds($window) "
        "AND s.time + to_seconds($window) "
        "WHERE v.time >= $since AND v.time <= $until AND v.plate IS NOT NULL "
        "ORDER BY v.time, v.seq LIMIT $limit"
    )
    return sql, parameters


def subject_passages_near_statement(
    moments: Sequence[tuple[str, datetime]], window_seconds: float, limit: int
) -> tuple[str, dict[str, object]]:
    """`EventStore.subject_passages_near`' statement and parameters (`moments` not empty)."""
    values, parameters = _near_parameters(moments, window_seconds, limit)
    sql = (
        "SELECT a.seq, a.event_id, a.device_id, timezone('UTC', a.time), 'access', "
        "a.subject_kind, a.subject_ref, a.subject_masked FROM access_events a "
        f"JOIN (VALUES {values}) AS s(device_id, time) "
        "ON a.device_id = s.device_id AND a.time BETWEEN s.time - to_seconds($window) "
        "AND s.time + to_seconds($window) "
        "WHERE a.time >= $since AND a.time <= $until AND a.subject_ref IS NOT NULL "
        "ORDER BY a.time, a.seq LIMIT $limit"
    )
    return sql, parameters


def _subject_passage(row: tuple[Any, ...]) -> SubjectPassage:
    moment = row[3] if row[3].tzinfo is not None else row[3].replace(tzinfo=UTC)
    return SubjectPassage(seq=row[0], event_id=row[1], device_id=row[2], time=moment,
                          type=row[4], subject_kind=row[5], subject_token=row[6],
                          subject_masked=row[7])  # fmt: skip


def _passage(row: tuple[Any, ...]) -> PlatePassage:
    moment = row[3] if row[3].tzinfo is not None else row[3].replace(tzinfo=UTC)
    return PlatePassage(seq=row[0], event_id=row[1], device_id=row[2], time=moment,
                        plate_token=row[4], plate_masked=row[5])  # fmt: skip
