"""The analytical event store: one DuckDB table per event type, filled from the log.

Tables carry no index: events arrive roughly in time order, so DuckDB's per-block min/max
(zone maps) already prune by `time`, and retention can delete by time range later.

No personal data is kept in the clear: identifiers are stored as keyed tokens (with a
masked form), face features as sealed values (BLOB) bound to their row; see
`zhian.store.identifiers` and `zhian.store.features`.
"""

from __future__ import annotations

import base64
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter, itemgetter
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import duckdb
import msgspec
import pyarrow as pa
import pyarrow.compute

from zhian.ingest.events import (
    AccessEvent,
    AlarmEvent,
    CrowdEvent,
    Event,
    FaceEvent,
    HeartbeatEvent,
    LoggedEvent,
    VehicleEvent,
)
from zhian.store.features import StoreProtector
from zhian.store.identifiers import IdentifierKind, ProtectedIdentifier

# The row of `store_state` that records how far this store has applied the log.
STORE_CONSUMER: Final = "event_store"

_TIMESTAMP = pa.timestamp("us", tz="UTC")
_ARROW_TYPES: Final[dict[str, Any]] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "SMALLINT": pa.int16(),
    "DOUBLE": pa.float64(),
    "TIMESTAMPTZ": _TIMESTAMP,
    "BLOB": pa.binary(),
}
# Rows read and rewritten per round when face features are sealed anew (upgrade, rotation).
RESEAL_BATCH_ROWS: Final = 10_000

Extractor = Callable[[list[Any]], list[Any]]


def _field(name: str) -> Extractor:
    get = attrgetter(name)
    return lambda events: list(map(get, events))


def _subject_field(name: str) -> Extractor:
    def extract(events: list[Any]) -> list[Any]:
        return [None if e.subject is None else getattr(e.subject, name) for e in events]

    return extract


def _feature(events: list[Any]) -> list[str | None]:
    return [_feature_text(e.feature) for e in events]


def _feature_text(feature: str | list[float] | None) -> str | None:
    # The intake stores base64 already; a list can only come from an older log record.
    if feature is None or isinstance(feature, str):
        return feature
    return base64.b64encode(struct.pack(f"<{len(feature)}f", *feature)).decode("ascii")


@dataclass(frozen=True)
class _Column:
    name: str
    sql_type: str
    extract: Extractor
    # Personal identifiers are stored as their token, with the masked form in `masked_name`.
    identifier: IdentifierKind | None = None
    # Biometric values (the face feature) are stored sealed, bound to their row (a BLOB).
    sealed: bool = False

    @property
    def masked_name(self) -> str:
        return self.name.removesuffix("_ref") + "_masked"


@dataclass(frozen=True)
class _EventTable:
    """How one event type maps onto its table."""

    event_type: str
    name: str
    columns: tuple[_Column, ...]  # the type's own fields, after the common columns
    summary_sql: str  # one line for lists, built in SQL from the columns (masked forms)

    @property
    def identifier_columns(self) -> tuple[_Column, ...]:
        return tuple(c for c in self.columns if c.identifier is not None)

    @property
    def sealed_columns(self) -> tuple[_Column, ...]:
        return tuple(c for c in self.columns if c.sealed)

    def sql_columns(self) -> list[tuple[str, str]]:
        """Every column in table order; masked forms last, so older stores gain them by
        ALTER TABLE ... ADD COLUMN and positional inserts still line up."""
        return [
            *_COMMON_COLUMNS,
            *((c.name, c.sql_type) for c in self.columns),
            *((c.masked_name, "VARCHAR") for c in self.identifier_columns),
        ]


_COMMON_COLUMNS: Final = (
    ("seq", "BIGINT"),
    ("event_id", "VARCHAR"),
    ("device_id", "VARCHAR"),
    ("time", "TIMESTAMPTZ"),
    ("received_at", "TIMESTAMPTZ"),
    ("source", "VARCHAR"),
)


def _column(
    name: str,
    sql_type: str = "VARCHAR",
    extract: Extractor | None = None,
    identifier: IdentifierKind | None = None,
    sealed: bool = False,
) -> _Column:
    return _Column(name, sql_type, extract or _field(name), identifier, sealed)


_SUBJECT_COLUMNS = (
    _column("subject_kind", extract=_subject_field("kind")),
    _column("subject_ref", extract=_subject_field("ref"), identifier="subject"),
)
_SUBJECT_SQL = "subject_kind || ' ' || subject_masked"

EVENT_TABLES: Final[dict[type[Event], _EventTable]] = {
    AccessEvent: _EventTable(
        "access",
        "access_events",
        (*_SUBJECT_COLUMNS, _column("direction"), _column("method"), _column("result")),
        f"concat_ws(' · ', direction, method, result, {_SUBJECT_SQL})",
    ),
    VehicleEvent: _EventTable(
        "vehicle",
        "vehicle_events",
        (
            _column("plate", identifier="plate"),
            _column("plate_color"),
            _column("vehicle_class"),
            _column("direction"),
            _column("image"),
        ),
        "concat_ws(' · ', direction, plate_masked, plate_color, vehicle_class)",
    ),
    FaceEvent: _EventTable(
        "face",
        "face_events",
        (
            _column("quality", "DOUBLE"),
            *_SUBJECT_COLUMNS,
            _column("feature", "BLOB", extract=_feature, sealed=True),
            _column("image"),
        ),
        "concat_ws(' · ', 'quality ' || printf('%.2f', quality), "
        f"coalesce({_SUBJECT_SQL}, 'no match'))",
    ),
    AlarmEvent: _EventTable(
        "alarm",
        "alarm_events",
        (_column("kind"), _column("level", "SMALLINT"), _column("detail")),
        "concat_ws(' · ', kind, 'level ' || level, nullif(left(detail, 80), ''))",
    ),
    HeartbeatEvent: _EventTable(
        "heartbeat",
        "heartbeat_events",
        (_column("status"), _column("fault_code")),
        "concat_ws(' · ', status, fault_code)",
    ),
    CrowdEvent: _EventTable(
        "crowd",
        "crowd_events",
        (
            _column("zone_id"),
            _column("occupancy", "INTEGER"),
            _column("count_in", "INTEGER"),
            _column("count_out", "INTEGER"),
            _column("interval_seconds", "INTEGER"),
        ),
        "concat_ws(' · ', 'zone ' || zone_id, 'occupancy ' || occupancy, "
        "'in ' || count_in, 'out ' || count_out, interval_seconds || ' s')",
    ),
}


class StoredEventSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One stored event as lists show it: the common fields and a one-line summary."""

    type: str
    seq: int
    event_id: str
    device_id: str
    time: datetime
    received_at: datetime
    source: str
    summary: str  # plates and subject references masked
    identifiers: list[str] = []  # the tokens of the identifiers the summary masks


class EventStore:
    """Every accepted event, by type, in a DuckDB file this process alone writes.

    The store applies the log in order and remembers the last sequence number it applied
    in the same transaction as the rows, so each logged event is stored exactly once.
    """

    def __init__(self, path: Path, protector: StoreProtector) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self.protector = protector
        self._connection = duckdb.connect(str(path))
        self._write_lock = threading.Lock()
        self._create_schema()
        # Readers take cursors from a connection nobody executes on, so that opening one
        # never races with a batch being written on the main connection.
        self._reader_root = self._connection.cursor()
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

    def _create_schema(self) -> None:
        statements = [
            "CREATE TABLE IF NOT EXISTS store_state "
            "(consumer VARCHAR PRIMARY KEY, last_seq BIGINT NOT NULL)",
            f"INSERT INTO store_state VALUES ('{STORE_CONSUMER}', 0) ON CONFLICT DO NOTHING",
        ]
        for table in EVENT_TABLES.values():
            body = ", ".join(f"{name} {sql_type}" for name, sql_type in table.sql_columns())
            statements.append(f"CREATE TABLE IF NOT EXISTS {table.name} ({body})")
        with self._write_lock:
            for statement in statements:
                self._connection.execute(statement)
            for table in EVENT_TABLES.values():
                self._tokenise_older_rows(table)
                self._seal_older_rows(table)
            if self._compaction_marker.exists():
                self._compact()

    @property
    def _compaction_marker(self) -> Path:
        # Present from before an upgrade commits until the file is rewritten: a crash in
        # between leaves it, and the next open finishes the rewrite.
        return self._path.with_name(self._path.name + ".compact")

    def _compact(self) -> None:
        """Rewrite the store into a fresh file that replaces this one. DuckDB leaves the
        blocks an update frees as they were, so after an upgrade the clear identifiers
        and face features would otherwise stay readable in the file's free space."""
        fresh = self._path.with_name(self._path.name + ".fresh")
        fresh.unlink(missing_ok=True)
        connection = self._connection
        ((database,),) = connection.execute("SELECT current_database()").fetchall()
        connection.execute("ATTACH ? AS fresh", [str(fresh)])
        connection.execute(f'COPY FROM DATABASE "{database}" TO fresh')
        connection.execute("DETACH fresh")
        connection.close()
        fresh.replace(self._path)
        self._compaction_marker.unlink()
        self._connection = duckdb.connect(str(self._path))

    def _tokenise_older_rows(self, table: _EventTable) -> None:
        """Bring a store written before identifiers were tokenised up to date, in place:
        each stored value becomes its token, and its masked form fills the new column."""
        present = {
            name
            for (name,) in self._connection.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table.name]
            ).fetchall()
        }
        for column in table.identifier_columns:
            if column.masked_name in present:
                continue
            self._compaction_marker.touch()
            connection = self._connection
            with _transaction(connection):
                connection.execute(
                    f"ALTER TABLE {table.name} ADD COLUMN {column.masked_name} VARCHAR"
                )
                values = [
                    value
                    for (value,) in connection.execute(
                        f"SELECT DISTINCT {column.name} FROM {table.name} "
                        f"WHERE {column.name} IS NOT NULL"
                    ).fetchall()
                ]
                kind = column.identifier
                assert kind is not None  # identifier_columns holds only these
                protected = [self.protector.protect(kind, value) for value in values]
                mapping = pa.table(
                    {
                        "value": pa.array(values, type=pa.string()),
                        "token": pa.array([p.token for p in protected], type=pa.string()),
                        "masked": pa.array([p.masked for p in protected], type=pa.string()),
                    }
                )
                connection.register("tokenised", mapping)
                connection.execute(
                    f"UPDATE {table.name} SET {column.name} = t.token, "
                    f"{column.masked_name} = t.masked FROM tokenised t "
                    f"WHERE {table.name}.{column.name} = t.value"
                )
                connection.unregister("tokenised")
                self.protector.flush()  # the sealed values first: the rows lose theirs

    def _seal_older_rows(self, table: _EventTable) -> None:
        """Bring a store written before face features were sealed up to date, in place: the
        column becomes a BLOB (same position, so positional inserts still line up) and
        each clear value is replaced by its sealed value, all in one transaction."""
        seal = self.protector.seal_feature
        for column in table.sealed_columns:
            ((data_type,),) = self._connection.execute(
                "SELECT data_type FROM duckdb_columns() WHERE table_name = ? AND column_name = ?",
                [table.name, column.name],
            ).fetchall()
            if data_type == "BLOB":
                continue
            self._compaction_marker.touch()
            connection = self._connection
            with _transaction(connection):
                # encode(): the clear base64 text as bytes, until each row is sealed below.
                connection.execute(
                    f"ALTER TABLE {table.name} ALTER COLUMN {column.name} "
                    f"SET DATA TYPE BLOB USING encode({column.name})"
                )
                _rewrite_sealed(
                    connection,
                    table,
                    column,
                    lambda device_id, event_id, clear: seal(
                        device_id, event_id, clear.decode("ascii")
                    ),
                )

    # -- writing ------------------------------------------------------------------------

    def last_seq(self) -> int:
        """The log sequence number of the newest event applied; 0 before the first."""
        return self._last_seq

    def apply(self, batch: Sequence[tuple[int, LoggedEvent]]) -> None:
        """Store a batch of logged events in one transaction; seqs already applied are skipped."""
        with self._write_lock:
            last_seq = self._last_seq
            if not batch:
                return
            if min(map(_seq_of, batch)) <= last_seq:  # a replay after a crash
                batch = [pair for pair in batch if pair[0] > last_seq]
                if not batch:
                    return
            new_last_seq = max(map(_seq_of, batch))
            groups: dict[type[Event], list[tuple[int, LoggedEvent]]] = {}
            for pair in batch:
                kind = type(pair[1].event)
                members = groups.get(kind)
                if members is None:
                    groups[kind] = [pair]
                else:
                    members.append(pair)
            protect, seal = self.protector.protect, self.protector.seal_feature
            tables = [
                (EVENT_TABLES[kind], _arrow_table(EVENT_TABLES[kind], pairs, protect, seal))
                for kind, pairs in groups.items()
            ]
            # Sealed values are durable before the rows that carry only their tokens.
            self.protector.flush()
            connection = self._connection
            with _transaction(connection):
                for table, rows in tables:
                    _insert(connection, table, rows)
                connection.execute(
                    "UPDATE store_state SET last_seq = ? WHERE consumer = ?",
                    [new_last_seq, STORE_CONSUMER],
                )
            self._last_seq = new_last_seq

    # -- reading ------------------------------------------------------------------------

    def _query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        # A cursor per call: DuckDB connections are not shared across threads.
        with closing(self._reader_root.cursor()) as cursor:
            return cursor.execute(sql, list(parameters)).fetchall()

    def count_by_type(self) -> dict[str, int]:
        """Number of stored events of each type, zero included."""
        sql = " UNION ALL ".join(
            f"SELECT '{t.event_type}', count(*) FROM {t.name}" for t in EVENT_TABLES.values()
        )
        return {event_type: int(count) for event_type, count in self._query(sql)}

    def recent_events(
        self, limit: int = 50, device_id: str | None = None
    ) -> list[StoredEventSummary]:
        """The newest events by event time, of every type, optionally of one device."""
        where = "" if device_id is None else "WHERE device_id = $device_id"
        parts = [
            f"SELECT '{t.event_type}' AS type, seq, event_id, device_id, time, received_at, "
            f"source, {t.summary_sql} AS summary, {_tokens_sql(t)} AS tokens "
            f"FROM {t.name} {where}"
            for t in EVENT_TABLES.values()
        ]
        sql = (
            "SELECT type, seq, event_id, device_id, timezone('UTC', time), "
            "timezone('UTC', received_at), source, summary, tokens "
            f"FROM ({' UNION ALL '.join(parts)}) ORDER BY time DESC, seq DESC LIMIT $limit"
        )
        parameters: dict[str, object] = {"limit": limit}
        if device_id is not None:
            parameters["device_id"] = device_id
        with closing(self._reader_root.cursor()) as cursor:
            rows = cursor.execute(sql, parameters).fetchall()
        return [
            StoredEventSummary(
                type=row[0],
                seq=row[1],
                event_id=row[2],
                device_id=row[3],
                time=_utc(row[4]),
                received_at=_utc(row[5]),
                source=row[6],
                summary=row[7],
                identifiers=list(row[8]),
            )
            for row in rows
        ]

    def device_last_seen(self) -> dict[str, datetime]:
        """The newest event time of each device, over events of every type."""
        parts = " UNION ALL ".join(
            f"SELECT device_id, max(time) AS time FROM {t.name} GROUP BY device_id"
            for t in EVENT_TABLES.values()
        )
        sql = f"SELECT device_id, timezone('UTC', max(time)) FROM ({parts}) GROUP BY device_id"
        return {device_id: _utc(time) for device_id, time in self._query(sql)}

    def events_per_minute(self, since: datetime) -> list[tuple[datetime, int]]:
        """Events per UTC minute of event time from `since` on; minutes without any are left out."""
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        parts = " UNION ALL ".join(
            f"SELECT time FROM {t.name} WHERE time >= $1" for t in EVENT_TABLES.values()
        )
        sql = (
            "SELECT date_trunc('minute', timezone('UTC', time)) AS minute, count(*) "
            f"FROM ({parts}) GROUP BY minute ORDER BY minute"
        )
        return [(_utc(minute), int(count)) for minute, count in self._query(sql, [since])]

    def event_id_counts(self, device_id: str) -> dict[str, int]:
        """How often each event id of a device is stored (all 1 when nothing is doubled)."""
        parts = " UNION ALL ".join(
            f"SELECT event_id FROM {t.name} WHERE device_id = $1" for t in EVENT_TABLES.values()
        )
        sql = f"SELECT event_id, count(*) FROM ({parts}) GROUP BY event_id"
        return {event_id: int(count) for event_id, count in self._query(sql, [device_id])}

    def count_event(self, device_id: str, event_id: str) -> int:
        """How many times a device's event is stored: exactly 1 when all is well."""
        parts = " UNION ALL ".join(
            f"SELECT count(*) AS n FROM {t.name} WHERE device_id = $1 AND event_id = $2"
            for t in EVENT_TABLES.values()
        )
        row = self._query(f"SELECT sum(n) FROM ({parts})", [device_id, event_id])[0]
        return int(row[0])

    def has_event(self, device_id: str, event_id: str) -> bool:
        return self.count_event(device_id, event_id) > 0

    # -- retention and data quality (governance, issue #4) --------------------------------

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
        table = _TABLE_BY_TYPE[event_type]
        where, parameters = _retention_filter(table, cutoff, keep or RetentionKeep())
        if dry_run:
            ((count,),) = self._query_named(
                f"SELECT count(*) FROM {table.name} WHERE {where}", parameters
            )
            return int(count)
        with self._write_lock:
            rows = self._connection.execute(
                f"DELETE FROM {table.name} WHERE {where}", parameters
            ).fetchall()
        return int(rows[0][0]) if rows else 0

    @contextmanager
    def writes_paused(self) -> Iterator[None]:
        """No batch is applied inside the block (the vault's purge needs a still store)."""
        with self._write_lock:
            yield

    def identifier_tokens(self) -> set[str]:
        """Every identifier token a stored event still holds (the vault keeps no others)."""
        parts = " UNION ".join(
            f"SELECT {c.name} FROM {t.name} WHERE {c.name} IS NOT NULL"
            for t in EVENT_TABLES.values()
            for c in t.identifier_columns
        )
        return {token for (token,) in self._query(parts)}

    def reseal_features(self) -> int:
        """Seal every face feature not under the active key anew (key rotation), in one
        transaction; returns how many were re-sealed."""
        reseal = self.protector.reseal_feature
        with self._write_lock:
            connection = self._connection
            with _transaction(connection):
                changed = sum(
                    _rewrite_sealed(connection, table, column, reseal)
                    for table in EVENT_TABLES.values()
                    for column in table.sealed_columns
                )
        return changed

    def sealed_key_counts(self) -> Counter[str]:
        """How many sealed face features each key id holds (the key census)."""
        census: Counter[str] = Counter()
        key_of = self.protector.feature_key_id
        with closing(self._reader_root.cursor()) as cursor:
            for table in EVENT_TABLES.values():
                for column in table.sealed_columns:
                    cursor.execute(
                        f"SELECT {column.name} FROM {table.name} WHERE {column.name} IS NOT NULL"
                    )
                    while rows := cursor.fetchmany(RESEAL_BATCH_ROWS):
                        census.update(key_of(value) for (value,) in rows)
        return census

    def image_refs(self) -> set[str]:
        """Every image reference a stored event still holds (vehicle and face snapshots)."""
        parts = " UNION ".join(
            f"SELECT image FROM {t.name} WHERE image IS NOT NULL"
            for t in EVENT_TABLES.values()
            if any(c.name == "image" for c in t.columns)
        )
        return {ref for (ref,) in self._query(parts)}

    def arrival_stats(
        self, since: datetime, until: datetime, *, late_after_seconds: float
    ) -> list[ArrivalStats]:
        """Per device, source and UTC hour of arrival: counts, lateness and completeness."""
        parts = " UNION ALL ".join(
            f"SELECT device_id, source, time, received_at, ({_COMPLETE_SQL[t.event_type]}) "
            f"AS complete FROM {t.name} WHERE received_at >= $since AND received_at < $until"
            for t in EVENT_TABLES.values()
        )
        sql = (
            "SELECT device_id, source, date_trunc('hour', timezone('UTC', received_at)) AS hour, "
            "count(*), avg(lag), max(lag), min(lag), count(*) FILTER (WHERE lag > $late), "
            "count(*) FILTER (WHERE lag < 0), count(*) FILTER (WHERE complete) "
            "FROM (SELECT *, epoch(received_at) - epoch(time) AS lag FROM "
            f"({parts})) GROUP BY ALL ORDER BY hour, device_id, source"
        )
        rows = self._query_named(sql, {"since": since, "until": until, "late": late_after_seconds})
        return [
            ArrivalStats(
                device_id=row[0],
                source=row[1],
                hour=_utc(row[2]),
                accepted=int(row[3]),
                mean_lag_seconds=float(row[4]),
                max_lag_seconds=float(row[5]),
                min_lag_seconds=float(row[6]),
                late=int(row[7]),
                ahead=int(row[8]),
                complete=int(row[9]),
            )
            for row in rows
        ]

    def _query_named(self, sql: str, parameters: dict[str, object]) -> list[tuple[Any, ...]]:
        with closing(self._reader_root.cursor()) as cursor:
            return cursor.execute(sql, parameters).fetchall()

    def query(
        self,
        sql: str,
        parameters: dict[str, object] | None = None,
        *,
        tables: dict[str, pa.Table] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Read-only SQL over the event tables (batch models, issue #6); `tables` are Arrow
        tables (master data) visible by name to this one query."""
        with closing(self._reader_root.cursor()) as cursor:
            for name, table in (tables or {}).items():
                cursor.register(name, table)
            return cursor.execute(sql, parameters or {}).fetchall()


def _tokens_sql(table: _EventTable) -> str:
    """A list of the row's identifier tokens (none, or one per identifier column)."""
    names = [c.name for c in table.identifier_columns]
    if not names:
        return "[]::VARCHAR[]"
    return f"list_filter([{', '.join(names)}], lambda x: x IS NOT NULL)"


def _arrow_table(
    table: _EventTable,
    pairs: list[tuple[int, LoggedEvent]],
    protect: Callable[[IdentifierKind, str], ProtectedIdentifier],
    seal: Callable[[str, str, str], bytes],
) -> pa.Table:
    """The rows of one table, built column by column (much faster than row by row)."""
    seqs = list(map(_seq_of, pairs))
    logged = [pair[1] for pair in pairs]
    events = [item.event for item in logged]
    columns: dict[str, pa.Array] = {
        "seq": pa.array(seqs, type=pa.int64()),
        "event_id": pa.array([e.id for e in events], type=pa.string()),
        "device_id": pa.array([e.device_id for e in events], type=pa.string()),
        "time": _timestamps([e.time for e in events]),
        "received_at": _timestamps([item.received_at for item in logged]),
        "source": pa.array([item.source for item in logged], type=pa.string()),
    }
    masked: dict[str, pa.Array] = {}
    for column in table.columns:
        values = column.extract(events)
        if column.identifier is not None:
            kind = column.identifier
            protected = [None if value is None else protect(kind, value) for value in values]
            values = [None if p is None else p.token for p in protected]
            masked[column.masked_name] = pa.array(
                [None if p is None else p.masked for p in protected], type=pa.string()
            )
        elif column.sealed:
            values = [
                None if value is None else seal(e.device_id, e.id, value)
                for e, value in zip(events, values, strict=True)
            ]
        columns[column.name] = pa.array(values, type=_ARROW_TYPES[column.sql_type])
    return pa.table({**columns, **masked})


_json_encode = msgspec.json.Encoder().encode
_decode_strings = msgspec.json.Decoder(list[str]).decode


def _timestamps(values: list[datetime]) -> pa.Array:
    """A UTC timestamp column from aware datetimes."""
    # Through RFC 3339 text: msgspec writes it and Arrow parses it, offsets included,
    # three times faster than Arrow converting datetime objects one by one.
    try:
        return pa.compute.cast(pa.array(_decode_strings(_json_encode(values))), _TIMESTAMP)
    except pa.ArrowInvalid:
        # Naive datetimes carry no offset; Arrow's own conversion takes them as UTC.
        return pa.array(values, type=_TIMESTAMP)


def _insert(connection: duckdb.DuckDBPyConnection, table: _EventTable, rows: pa.Table) -> None:
    # Columns are built in the table's order, so a positional insert fits; it also spares
    # registering a view per table, which costs more than the insert for small batches.
    connection.from_arrow(rows).insert_into(table.name)


_seq_of = itemgetter(0)

# (device id, event id, stored value) -> the value to store instead, or None to keep it.
SealedRewrite = Callable[[str, str, bytes], bytes | None]


def _rewrite_sealed(
    connection: duckdb.DuckDBPyConnection,
    table: _EventTable,
    column: _Column,
    rewrite: SealedRewrite,
) -> int:
    """Pass every stored value of a sealed column through `rewrite`, in rounds by `seq`
    (unique per stored event), inside the caller's transaction; returns rows changed."""
    changed = 0
    after = -1
    while True:
        rows = connection.execute(
            f"SELECT seq, device_id, event_id, {column.name} FROM {table.name} "
            f"WHERE {column.name} IS NOT NULL AND seq > ? ORDER BY seq LIMIT ?",
            [after, RESEAL_BATCH_ROWS],
        ).fetchall()
        if not rows:
            return changed
        after = rows[-1][0]
        updates = [
            (seq, fresh)
            for seq, device_id, event_id, value in rows
            if (fresh := rewrite(device_id, event_id, value)) is not None
        ]
        if not updates:
            continue
        connection.register(
            "rewritten",
            pa.table(
                {
                    "seq": pa.array([seq for seq, _ in updates], type=pa.int64()),
                    "value": pa.array([value for _, value in updates], type=pa.binary()),
                }
            ),
        )
        connection.execute(
            f"UPDATE {table.name} SET {column.name} = r.value FROM rewritten r "
            f"WHERE {table.name}.seq = r.seq"
        )
        connection.unregister("rewritten")
        changed += len(updates)


def _utc(value: datetime) -> datetime:
    """DuckDB hands back naive UTC (we ask for `timezone('UTC', …)`, which needs no pytz)."""
    return value.replace(tzinfo=UTC)


# --- retention and data quality (governance, issue #4) -----------------------------------


@dataclass(frozen=True)
class RetentionKeep:
    """Events a purge must leave alone (legal holds): by device, subject or plate (their
    tokens, as the store holds them) or event (`device_id/event_id`)."""

    device_ids: frozenset[str] = frozenset()
    subject_refs: frozenset[str] = frozenset()
    plates: frozenset[str] = frozenset()
    event_keys: frozenset[str] = frozenset()


class ArrivalStats(msgspec.Struct, frozen=True, kw_only=True):
    """What arrived from one device through one source in one hour, and how late.

    Lag is arrival minus event time, in seconds; `ahead` counts negative lags (a device
    clock running fast). `complete` counts events carrying every optional field their
    type should have.
    """

    device_id: str
    source: str
    hour: datetime
    accepted: int
    mean_lag_seconds: float
    max_lag_seconds: float
    min_lag_seconds: float
    late: int
    ahead: int
    complete: int


_TABLE_BY_TYPE: Final = {table.event_type: table for table in EVENT_TABLES.values()}

# What a complete event of each type carries beyond its required fields.
_COMPLETE_SQL: Final = {
    "access": "TRUE",
    "vehicle": "image IS NOT NULL",
    "face": "feature IS NOT NULL AND image IS NOT NULL",
    "alarm": "TRUE",
    "heartbeat": "status = 'ok' OR fault_code IS NOT NULL",
    "crowd": "occupancy IS NOT NULL OR (count_in IS NOT NULL AND count_out IS NOT NULL "
    "AND interval_seconds IS NOT NULL)",
}


def _retention_filter(
    table: _EventTable, cutoff: datetime, keep: RetentionKeep
) -> tuple[str, dict[str, object]]:
    columns = {column.name for column in table.columns}
    where = ["time < $cutoff"]
    parameters: dict[str, object] = {"cutoff": cutoff}
    if keep.device_ids:
        where.append("NOT list_contains($devices, device_id)")
        parameters["devices"] = sorted(keep.device_ids)
    if keep.event_keys:
        where.append("NOT list_contains($events, device_id || '/' || event_id)")
        parameters["events"] = sorted(keep.event_keys)
    if keep.subject_refs and "subject_ref" in columns:
        where.append("(subject_ref IS NULL OR NOT list_contains($subjects, subject_ref))")
        parameters["subjects"] = sorted(keep.subject_refs)
    if keep.plates and "plate" in columns:
        where.append("NOT list_contains($plates, plate)")
        parameters["plates"] = sorted(keep.plates)
    return " AND ".join(where), parameters


@contextmanager
def _transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB transaction: committed when the block ends, rolled back if it raises
    (keeping the block's error, not the rollback's)."""
    connection.begin()
    try:
        yield
        connection.commit()
    except BaseException:
        with suppress(duckdb.Error):
            connection.rollback()
        raise
