"""The event store's table schema: one table per event type, its columns and how each is
filled from an event. Any engine that holds the events (DuckDB here, Parquet later) keeps
these tables and columns; the SQL fragments are DuckDB's and serve that engine's queries.

Tables carry no index by time: events arrive roughly in time order, so DuckDB's per-block
min/max (zone maps) already prune by `time`, and retention deletes by time range. One read
cannot be pruned that way, a subject's passages (trajectories, search, the follow list): the
store keeps an ART index on `vehicle_events.plate` unless `store.plate_index` is off, and
on the subject tokens of `access_events` and `face_events` (a resident's door passages and
matched captures) unless `store.subject_index` is off (bench/trajectory.py and
bench/search.py measure what they gain and what they cost intake).

No personal data is kept in the clear: identifiers are stored as keyed tokens (with a
masked form), face features as sealed values (BLOB) bound to their row; see
`zhian.store.identifiers` and `zhian.store.features`.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final

from zhian.ingest.events import (
    AccessEvent,
    AlarmEvent,
    CrowdEvent,
    Event,
    FaceEvent,
    HeartbeatEvent,
    VehicleEvent,
)
from zhian.store.identifiers import IdentifierKind

# The row of `store_state` that records how far this store has applied the log.
STORE_CONSUMER: Final = "event_store"

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
class StoreColumn:
    """One column of an event type's own fields."""

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
class EventTable:
    """How one event type maps onto its table."""

    event_type: str
    name: str
    columns: tuple[StoreColumn, ...]  # the type's own fields, after the common columns
    summary_sql: str  # one line for lists, built in SQL from the columns (masked forms)
    # What a complete event of the type carries beyond its required fields (data quality).
    complete_sql: str = "TRUE"
    # Columns DuckDB stores uncompressed (`USING COMPRESSION uncompressed`): those an index
    # lookup fetches row by row. Fetching one row of a compressed string column (DuckDB's
    # DICT_FSST) costs far more than of a plain one, and the lookup fetches the indexed
    # column itself for every row it finds (bench/search.py, docs/search.md).
    uncompressed: tuple[str, ...] = ()

    @property
    def identifier_columns(self) -> tuple[StoreColumn, ...]:
        return tuple(c for c in self.columns if c.identifier is not None)

    @property
    def sealed_columns(self) -> tuple[StoreColumn, ...]:
        return tuple(c for c in self.columns if c.sealed)

    @property
    def has_image(self) -> bool:
        return any(c.name == "image" for c in self.columns)

    def create_sql(self, name: str | None = None) -> str:
        """The table's CREATE TABLE (as `name`, to rewrite it: `zhian.store.maintenance`)."""
        body = ", ".join(
            f"{column} {sql_type}"
            + (" USING COMPRESSION uncompressed" if column in self.uncompressed else "")
            for column, sql_type in self.sql_columns()
        )
        return f"CREATE TABLE IF NOT EXISTS {name or self.name} ({body})"

    def sql_columns(self) -> list[tuple[str, str]]:
        """Every column in table order; masked forms last, so older stores gain them by
        ALTER TABLE ... ADD COLUMN and positional inserts still line up."""
        return [
            *COMMON_COLUMNS,
            *((c.name, c.sql_type) for c in self.columns),
            *((c.masked_name, "VARCHAR") for c in self.identifier_columns),
        ]


COMMON_COLUMNS: Final = (
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
) -> StoreColumn:
    return StoreColumn(name, sql_type, extract or _field(name), identifier, sealed)


_SUBJECT_COLUMNS = (
    _column("subject_kind", extract=_subject_field("kind")),
    _column("subject_ref", extract=_subject_field("ref"), identifier="subject"),
)
_SUBJECT_SQL = "subject_kind || ' ' || subject_masked"

EVENT_TABLES: Final[dict[type[Event], EventTable]] = {
    AccessEvent: EventTable(
        "access",
        "access_events",
        (*_SUBJECT_COLUMNS, _column("direction"), _column("method"), _column("result")),
        f"concat_ws(' · ', direction, method, result, {_SUBJECT_SQL})",
    ),
    VehicleEvent: EventTable(
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
        complete_sql="image IS NOT NULL",
        # A plate's trajectory and passages are read through the plate index.
        uncompressed=("plate", "event_id"),
    ),
    FaceEvent: EventTable(
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
        complete_sql="feature IS NOT NULL AND image IS NOT NULL",
    ),
    AlarmEvent: EventTable(
        "alarm",
        "alarm_events",
        (_column("kind"), _column("level", "SMALLINT"), _column("detail")),
        "concat_ws(' · ', kind, 'level ' || level, nullif(left(detail, 80), ''))",
    ),
    HeartbeatEvent: EventTable(
        "heartbeat",
        "heartbeat_events",
        (_column("status"), _column("fault_code")),
        "concat_ws(' · ', status, fault_code)",
        complete_sql="status = 'ok' OR fault_code IS NOT NULL",
    ),
    CrowdEvent: EventTable(
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
        complete_sql="occupancy IS NOT NULL OR (count_in IS NOT NULL AND count_out IS NOT NULL "
        "AND interval_seconds IS NOT NULL)",
    ),
}

TABLE_BY_TYPE: Final = {table.event_type: table for table in EVENT_TABLES.values()}


@dataclass(frozen=True)
class StoreIndex:
    """An ART index the store keeps on one column, while its setting is on."""

    name: str
    table: str
    column: str
    setting: str  # the `store.` setting that keeps it

    def create(self) -> str:
        return f"CREATE INDEX IF NOT EXISTS {self.name} ON {self.table} ({self.column})"

    def drop(self) -> str:
        return f"DROP INDEX IF EXISTS {self.name}"


PLATE_INDEX: Final = "vehicle_events_plate"
STORE_INDEXES: Final = (
    StoreIndex(PLATE_INDEX, "vehicle_events", "plate", "plate_index"),
    StoreIndex("access_events_subject", "access_events", "subject_ref", "subject_index"),
    StoreIndex("face_events_subject", "face_events", "subject_ref", "subject_index"),
)


def schema_statements() -> list[str]:
    """The DDL that creates an empty store (idempotent)."""
    statements = [
        "CREATE TABLE IF NOT EXISTS store_state "
        "(consumer VARCHAR PRIMARY KEY, last_seq BIGINT NOT NULL)",
        f"INSERT INTO store_state VALUES ('{STORE_CONSUMER}', 0) ON CONFLICT DO NOTHING",
    ]
    statements.extend(table.create_sql() for table in EVENT_TABLES.values())
    return statements


def wanted_indexes(*, plate_index: bool, subject_index: bool) -> dict[StoreIndex, bool]:
    """Each of the store's indexes, and whether the settings keep it."""
    on = {"plate_index": plate_index, "subject_index": subject_index}
    return {index: on[index.setting] for index in STORE_INDEXES}


def index_statements(*, plate_index: bool, subject_index: bool) -> list[str]:
    """The DDL that adds the indexes the settings keep and drops the others (idempotent);
    run after the tables are up to date, so that upgrading older rows never rewrites an
    indexed column. `zhian.store.maintenance.build_indexes` runs the same with progress."""
    wanted = wanted_indexes(plate_index=plate_index, subject_index=subject_index)
    return [index.create() if keep else index.drop() for index, keep in wanted.items()]


def union_all(select: Callable[[EventTable], str]) -> str:
    """One SELECT per event table, joined by UNION ALL (reads across every type)."""
    return " UNION ALL ".join(select(table) for table in EVENT_TABLES.values())
