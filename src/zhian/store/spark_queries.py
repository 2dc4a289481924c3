"""The named queries (`zhian.store.queries.EventQueries`) on Apache Spark, over the Parquet
store's files (the scaled tier's batch engine, `batch.engine = "spark"`).

Each query is the DuckDB one (`zhian.store.duckdb_queries`) written in Spark SQL, with the
same meaning: tests/store/test_queries.py holds both engines to the same answers and
tests/models/test_engine_contract.py requires the same alerts from every batch model.

Times travel as microseconds since the epoch (`unix_micros`), so neither the JVM's nor the
Python process's time zone can shift them; the session runs in UTC and local days and
hours are computed by adding the offset, as on DuckDB. Needs the `spark` extra (pyspark)
and Java 17.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, functions
from pyspark.sql import types as spark_types

from zhian.store.queries import (
    ArrivalStats,
    CommunityDayEntries,
    EvidenceEvent,
    GateVehicleStay,
    HouseDoorOccupant,
    NightPresence,
    PassageCount,
    PlateSeen,
    ReferenceTables,
    ResidentSighting,
    RestrictedPlacePassage,
    RestrictedVehicleEntry,
    SealedCapture,
    StoredEventSummary,
    UnitDoorPassage,
)
from zhian.store.schema import EVENT_TABLES, EventTable, union_all

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SPARK_TYPES: Final[dict[str, spark_types.DataType]] = {
    "VARCHAR": spark_types.StringType(),
    "BIGINT": spark_types.LongType(),
    "INTEGER": spark_types.IntegerType(),
    "SMALLINT": spark_types.ShortType(),
    "DOUBLE": spark_types.DoubleType(),
    "TIMESTAMPTZ": spark_types.TimestampType(),
    "BLOB": spark_types.BinaryType(),
}

# Local time of an event column (a timestamp read as UTC wall time).
_LOCAL: Final = "timestamp_micros(unix_micros({col}) + CAST(:offset AS BIGINT) * 1000000)"
_UNKNOWN_SUBJECT: Final = (
    "NOT EXISTS (SELECT 1 FROM m_keys k WHERE k.key = concat(a.subject_kind, ':', a.subject_ref))"
)
_SINCE: Final = "timestamp_micros(:since)"
_UNTIL: Final = "timestamp_micros(:until)"
_US: Final = "unix_micros({col})"

_SIGHTINGS_SQL: Final = f"""
WITH s AS (
  SELECT k.resident_id, a.time, a.event_id, a.device_id, 'access' AS type, a.direction
  FROM access_events a JOIN m_keys k ON k.key = concat(a.subject_kind, ':', a.subject_ref)
  WHERE a.result = 'granted' AND a.time >= {_SINCE} AND a.time < {_UNTIL}
  UNION ALL
  SELECT k.resident_id, f.time, f.event_id, f.device_id, 'face', CAST(NULL AS STRING)
  FROM face_events f JOIN m_keys k ON k.key = concat(f.subject_kind, ':', f.subject_ref)
  WHERE f.time >= {_SINCE} AND f.time < {_UNTIL}
  UNION ALL
  SELECT v.owner_id, e.time, e.event_id, e.device_id, 'vehicle', e.direction
  FROM vehicle_events e JOIN m_vehicles v ON v.plate = e.plate
  JOIN m_devices d ON d.device_id = e.device_id
  -- A car-park camera's read says the car stands parked, not that its owner was there.
  WHERE v.owner_id IS NOT NULL AND e.time >= {_SINCE} AND e.time < {_UNTIL}
    AND d.kind <> 'parking_camera'
)
SELECT resident_id, unix_micros(max(time)), max_by(event_id, time), max_by(device_id, time),
       max_by(type, time), max_by(direction, time) FILTER (WHERE direction IS NOT NULL),
       unix_micros(max(time) FILTER (WHERE direction IS NOT NULL)),
       unix_micros(min(time))
FROM s GROUP BY resident_id
"""

_GATE_STAYS_SQL: Final = f"""
WITH stays AS (
  SELECT e.plate, first(e.plate_masked) AS masked, d.community_id,
         max_by(e.direction, e.time) AS direction, max(e.time) AS last_at,
         max_by(e.event_id, e.time) AS event_id, max_by(e.device_id, e.time) AS device_id,
         count(*) AS passages, max_by(e.vehicle_class, e.time) AS vehicle_class
  FROM vehicle_events e JOIN m_devices d ON d.device_id = e.device_id
  WHERE d.kind = 'vehicle_gate' AND d.watches_stays AND e.time >= {_SINCE} AND e.time < {_UNTIL}
    AND NOT EXISTS (SELECT 1 FROM m_vehicles v WHERE v.plate = e.plate
                    AND v.community_id = d.community_id)
  GROUP BY e.plate, d.community_id
), seen AS (
  -- A read anywhere but this community's own car-park cameras (those say it is parked).
  SELECT s.plate, s.community_id, max(e.time) AS seen_at
  FROM stays s JOIN vehicle_events e ON e.plate = s.plate
  JOIN m_devices d ON d.device_id = e.device_id
  WHERE e.time >= {_SINCE} AND e.time < {_UNTIL}
    AND NOT (d.kind = 'parking_camera' AND d.community_id = s.community_id)
  GROUP BY s.plate, s.community_id
), readers AS (
  SELECT DISTINCT community_id FROM m_devices WHERE kind = 'parking_camera'
), parked AS (
  -- Reads of it parked here since its last passage: days read (UTC days) and the newest.
  SELECT s.plate, s.community_id,
         count(DISTINCT floor(unix_micros(e.time) / 86400000000)) AS days,
         max(e.time) AS last_parked
  FROM stays s JOIN vehicle_events e ON e.plate = s.plate AND e.time > s.last_at
  JOIN m_devices d ON d.device_id = e.device_id AND d.kind = 'parking_camera'
   AND d.community_id = s.community_id
  WHERE e.time < {_UNTIL}
  GROUP BY s.plate, s.community_id
)
SELECT s.plate, s.masked, s.community_id, s.direction, unix_micros(s.last_at), s.event_id,
       s.device_id, s.passages, s.vehicle_class, unix_micros(seen.seen_at),
       r.community_id IS NOT NULL, coalesce(p.days, 0), unix_micros(p.last_parked)
FROM stays s JOIN seen ON seen.plate = s.plate AND seen.community_id = s.community_id
LEFT JOIN readers r ON r.community_id = s.community_id
LEFT JOIN parked p ON p.plate = s.plate AND p.community_id = s.community_id
"""

_RESTRICTED_SQL: Final = f"""
SELECT e.plate, e.plate_masked, e.vehicle_class, d.community_id, e.event_id, e.device_id,
       unix_micros(e.time), hour({_LOCAL.format(col="e.time")}), e.direction
FROM vehicle_events e JOIN m_devices d ON d.device_id = e.device_id
WHERE d.kind = 'vehicle_gate' AND d.is_residential
  AND e.vehicle_class IN ('muck_truck', 'hazmat') AND e.time >= {_SINCE} AND e.time < {_UNTIL}
ORDER BY e.time
"""

# A vehicle's registration: plates are unique in the registry, so the join keeps one row.
_RESTRICTED_PLACES_SQL: Final = f"""
SELECT e.plate, e.plate_masked, e.vehicle_class, e.direction, e.device_id, e.event_id,
       unix_micros(e.time), hour({_LOCAL.format(col="e.time")}),
       v.community_id, v.plate IS NOT NULL
FROM vehicle_events e JOIN m_devices d ON d.device_id = e.device_id
LEFT JOIN m_vehicles v ON v.plate = e.plate
WHERE d.is_restricted AND e.time >= {_SINCE} AND e.time < {_UNTIL}
ORDER BY e.time
"""


_UNIT_PASSAGES_SQL: Final = f"""
SELECT concat(a.subject_kind, ':', a.subject_ref) AS who, d.community_id, d.unit_id,
       a.event_id, a.device_id, unix_micros(a.time)
FROM access_events a JOIN m_devices d ON d.device_id = a.device_id
WHERE a.result = 'granted' AND a.direction = 'in' AND d.unit_id IS NOT NULL
  AND a.subject_kind <> 'visitor' AND a.time >= {_SINCE} AND a.time < {_UNTIL}
  AND {_UNKNOWN_SUBJECT}
  AND concat(a.subject_kind, ':', a.subject_ref) IN (
    SELECT concat(b.subject_kind, ':', b.subject_ref) FROM access_events b
    JOIN m_devices u ON u.device_id = b.device_id AND u.unit_id IS NOT NULL
    WHERE b.time >= {_SINCE} AND b.time < {_UNTIL} AND b.direction = 'in'
    GROUP BY b.subject_kind, b.subject_ref HAVING count(DISTINCT u.unit_id) >= :min_units)
ORDER BY who, a.time
"""

_EVIDENCE: Final = "collect_list(named_struct('t', unix_micros({t}), 'id', {id}, 'dev', {dev}))"

_COMMUNITY_DAYS_SQL: Final = f"""
SELECT who, day, collect_set(community_id), count(DISTINCT community_id),
       slice(array_sort({_EVIDENCE.format(t="time", id="event_id", dev="device_id")}), 1, 8)
FROM (
  SELECT concat(a.subject_kind, ':', a.subject_ref) AS who,
         to_date({_LOCAL.format(col="a.time")}) AS day, d.community_id, a.time, a.event_id,
         a.device_id
  FROM access_events a JOIN m_devices d ON d.device_id = a.device_id AND d.is_residential
  WHERE a.result = 'granted' AND a.direction = 'in' AND a.subject_kind <> 'visitor'
    AND a.time >= {_SINCE} AND a.time < {_UNTIL} AND {_UNKNOWN_SUBJECT}
)
GROUP BY who, day HAVING count(DISTINCT community_id) >= :min_communities
"""

_OCCUPANTS_SQL: Final = f"""
WITH p AS (
  SELECT d.house_id, a.subject_kind AS kind,
         coalesce(k.resident_id, concat(a.subject_kind, ':', a.subject_ref)) AS who,
         to_date({_LOCAL.format(col="a.time")}) AS day, a.time, a.event_id, a.device_id
  FROM access_events a
  JOIN m_devices d ON d.device_id = a.device_id AND d.house_id IS NOT NULL
  LEFT JOIN m_keys k ON k.key = concat(a.subject_kind, ':', a.subject_ref)
  WHERE a.result = 'granted' AND a.time >= {_SINCE} AND a.time < {_UNTIL}
)
SELECT house_id, who, first(kind), unix_micros(min(time)), collect_set(day),
       slice(sort_array({_EVIDENCE.format(t="time", id="event_id", dev="device_id")}, false),
             1, 2)
FROM p GROUP BY house_id, who
"""

_NIGHTS_SQL: Final = f"""
WITH p AS (
  SELECT concat(a.subject_kind, ':', a.subject_ref) AS who, a.subject_kind AS kind,
         a.direction, a.time, a.event_id, a.device_id, d.community_id, d.unit_id,
         {_LOCAL.format(col="a.time")} AS lt
  FROM access_events a JOIN m_devices d ON d.device_id = a.device_id AND d.is_residential
  WHERE a.result = 'granted' AND a.time >= {_SINCE} AND a.time < {_UNTIL}
    AND {_UNKNOWN_SUBJECT}
),
nights AS (
  SELECT who, to_date(lt - INTERVAL 12 HOURS) AS night, max_by(direction, time) AS last_dir
  FROM p WHERE hour(lt) >= 17 OR hour(lt) < 3 GROUP BY who, to_date(lt - INTERVAL 12 HOURS)
),
present AS (
  SELECT who, array_sort(collect_list(night)) AS nights FROM nights WHERE last_dir = 'in'
  GROUP BY who
)
SELECT p.who, first(p.kind), unix_micros(min(p.time)), present.nights,
       mode(p.unit_id, true), mode(p.community_id, true),
       slice(sort_array({_EVIDENCE.format(t="p.time", id="p.event_id", dev="p.device_id")},
                        false), 1, 8)
FROM p JOIN present ON p.who = present.who
GROUP BY p.who, present.nights
"""

_CAPTURES_SQL: Final = f"""
WITH p AS (
  SELECT concat(a.subject_kind, ':', a.subject_ref) AS who, a.device_id, a.time
  FROM access_events a JOIN m_devices d ON d.device_id = a.device_id AND d.is_residential
  WHERE a.result = 'granted' AND a.time >= {_SINCE} AND a.time < {_UNTIL}
    AND concat(a.subject_kind, ':', a.subject_ref) IN (SELECT who FROM m_whos)
),
linked AS (
  SELECT DISTINCT p.who, f.event_id, f.device_id, f.time, f.feature
  FROM p JOIN m_door_cameras c ON c.door_id = p.device_id
  JOIN face_events f ON f.device_id = c.camera_id
   AND unix_micros(f.time) BETWEEN unix_micros(p.time) - CAST(:link AS BIGINT) * 1000000
                              AND unix_micros(p.time) + CAST(:link AS BIGINT) * 1000000
  WHERE f.feature IS NOT NULL
    AND unix_micros(f.time) >= :since - CAST(:link AS BIGINT) * 1000000 AND f.time < {_UNTIL}
)
SELECT who, slice(sort_array(collect_list(named_struct('t', unix_micros(time), 'id', event_id,
                                                       'dev', device_id, 'feature', feature)),
                             false), 1, :most)
FROM linked GROUP BY who
"""


def spark_session(master: str, app_name: str = "zhian-batch") -> SparkSession:
    """A Spark session for the batch models (one per process, reused): UTC, no web UI."""
    builder: Any = SparkSession.builder
    return (  # type: ignore[no-any-return]
        builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        # A view's files are listed when it is made, for every query: above this many paths
        # (32 by default) Spark lists them in a job of its own, a task per file: 1–8 s for
        # 50 files on busy cores against 0.2–0.3 s in the driver
        # (bench/results/spark-listing-50-files.txt).
        .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )


def spark_schema(table: EventTable) -> spark_types.StructType:
    """An event table's columns as Spark types."""
    return spark_types.StructType(
        [
            spark_types.StructField(name, _SPARK_TYPES[sql_type])
            for name, sql_type in table.sql_columns()
        ]
    )


_ARROW_TO_SPARK: Final[dict[pa.DataType, spark_types.DataType]] = {
    pa.string(): spark_types.StringType(),
    pa.large_string(): spark_types.StringType(),
    pa.bool_(): spark_types.BooleanType(),
    pa.int64(): spark_types.LongType(),
    pa.int32(): spark_types.IntegerType(),
    pa.float64(): spark_types.DoubleType(),
}


# The store's files by table, of the days a window [since, until) touches (None: open).
TableFiles = Callable[[datetime | None, datetime | None], dict[str, list[Path]]]


class SparkEventQueries:
    """`EventQueries` answered by Spark over the Parquet store's files; `files` names them
    by table (`ParquetEventStore.table_files`) and is asked afresh for every query, so a
    query sees what the store had committed when it began. A query over a window of event
    time is handed only the files of the window's days (the manifest knows each file's
    day): Spark lists, plans and opens those alone, so a model's cost follows its window,
    not the store's history."""

    def __init__(self, spark: Callable[[], SparkSession], files: TableFiles) -> None:
        # The session starts (a JVM, seconds) at the first query, not when a node opens.
        self._session = spark
        self._files = files

    @property
    def _spark(self) -> SparkSession:
        return self._session()

    # --- plumbing -------------------------------------------------------------------------

    def input_files(self, table: str) -> list[str]:
        """The files Spark resolved for `table` in the latest query (its view's input files,
        as Spark lists them): what that query read of the table."""
        return sorted(self._spark.table(table).inputFiles())

    def _events(self, sql: str, since: datetime | None, until: datetime | None) -> None:
        """A view of each event table `sql` names over the window's files (a table it does
        not name is not listed: Spark lists a table's files when its view is made)."""
        files = self._files(since, until)
        for table in EVENT_TABLES.values():
            if table.name not in sql:
                continue
            paths = [str(p) for p in files.get(table.name, [])]
            schema = spark_schema(table)
            frame: DataFrame = (
                self._spark.read.schema(schema).parquet(*paths)
                if paths
                else self._spark.createDataFrame([], schema)
            )
            frame.createOrReplaceTempView(table.name)

    def _arrow(self, name: str, table: pa.Table) -> None:
        fields = []
        for f in table.schema:
            if f.type not in _ARROW_TO_SPARK:
                raise TypeError(f"reference table {name}: column {f.name} of type {f.type}")
            fields.append(spark_types.StructField(f.name, _ARROW_TO_SPARK[f.type]))
        schema = spark_types.StructType(fields)
        rows = [tuple(r.values()) for r in table.to_pylist()]
        # Broadcast: Spark cannot size a frame made from Python rows, so without the hint
        # it plans a sort-merge join that shuffles the event rows too (× 1.05–1.6 once
        # warm, bench/results/spark-broadcast-3e6.txt).
        functions.broadcast(self._spark.createDataFrame(rows, schema)).createOrReplaceTempView(name)

    def _rows(
        self,
        sql: str,
        parameters: dict[str, object] | None = None,
        tables: dict[str, pa.Table] | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Any]:
        """The rows of `sql` over the event files of the days [since, until) touches (every
        file when both are None); the SQL itself still filters by time within them."""
        self._events(sql, since, until)
        for name, table in (tables or {}).items():
            self._arrow(name, table)
        used = {k: v for k, v in (parameters or {}).items() if f":{k}" in sql}
        return list(self._spark.sql(sql, args=used).collect())

    # --- operations pages and data quality ----------------------------------------------

    def count_by_type(self) -> dict[str, int]:
        sql = union_all(lambda t: f"SELECT '{t.event_type}', count(*) FROM {t.name}")
        return {row[0]: int(row[1]) for row in self._rows(sql)}

    def recent_events(
        self, limit: int = 50, device_id: str | None = None
    ) -> list[StoredEventSummary]:
        where = "" if device_id is None else "WHERE device_id = :device_id"
        parts = union_all(
            lambda t: (
                f"SELECT '{t.event_type}' AS type, seq, event_id, device_id, time, "
                f"received_at, source, {_summary_sql(t)} AS summary, {_tokens_sql(t)} AS tokens "
                f"FROM {t.name} {where}"
            )
        )
        sql = (
            "SELECT type, seq, event_id, device_id, unix_micros(time), "
            "unix_micros(received_at), source, summary, tokens "
            f"FROM ({parts}) ORDER BY time DESC, seq DESC LIMIT :limit"
        )
        rows = self._rows(sql, {"limit": limit, "device_id": device_id})
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
        parts = union_all(
            lambda t: f"SELECT device_id, max(time) AS time FROM {t.name} GROUP BY device_id"
        )
        sql = f"SELECT device_id, unix_micros(max(time)) FROM ({parts}) GROUP BY device_id"
        return {row[0]: _utc(row[1]) for row in self._rows(sql)}

    def events_per_minute(self, since: datetime) -> list[tuple[datetime, int]]:
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        parts = union_all(lambda t: f"SELECT time FROM {t.name} WHERE time >= {_SINCE}")
        sql = (
            "SELECT unix_micros(date_trunc('MINUTE', time)) AS minute, count(*) "
            f"FROM ({parts}) GROUP BY 1 ORDER BY 1"
        )
        rows = self._rows(sql, {"since": _micros(since)}, since=since)
        return [(_utc(row[0]), int(row[1])) for row in rows]

    def arrival_stats(
        self, since: datetime, until: datetime, *, late_after_seconds: float
    ) -> list[ArrivalStats]:
        parts = union_all(
            lambda t: (
                f"SELECT device_id, source, time, received_at, ({t.complete_sql}) AS complete "
                f"FROM {t.name} WHERE received_at >= {_SINCE} AND received_at < {_UNTIL}"
            )
        )
        sql = (
            "SELECT device_id, source, unix_micros(date_trunc('HOUR', received_at)) AS hour, "
            "count(*), avg(lag), max(lag), min(lag), count(*) FILTER (WHERE lag > :late), "
            "count(*) FILTER (WHERE lag < 0), count(*) FILTER (WHERE complete) "
            "FROM (SELECT *, (unix_micros(received_at) - unix_micros(time)) / 1000000.0D AS lag "
            f"FROM ({parts})) GROUP BY device_id, source, 3 ORDER BY hour, device_id, source"
        )
        parameters = {**_window(since, until), "late": float(late_after_seconds)}
        # By arrival, not event time: a late or early event lies in another day's files, so
        # every file is read.
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
            for row in self._rows(sql, parameters)
        ]

    def passage_counts(self, since: datetime, until: datetime) -> list[PassageCount]:
        parts = " UNION ALL ".join(
            f"SELECT device_id, '{kind}' AS type, coalesce(direction, '') AS direction, time "
            f"FROM {kind}_events WHERE time >= {_SINCE} AND time < {_UNTIL}"
            for kind in ("access", "vehicle")
        )
        sql = (
            "SELECT device_id, type, direction, unix_micros(date_trunc('HOUR', time)) AS hour, "
            f"count(*) FROM ({parts}) GROUP BY device_id, type, direction, 4 "
            "ORDER BY hour, device_id, type, direction"
        )
        return [
            PassageCount(
                device_id=r[0], type=r[1], direction=r[2], hour=_utc(r[3]), count=int(r[4])
            )
            for r in self._rows(sql, _window(since, until), since=since, until=until)
        ]

    def plates_seen(self, since: datetime, until: datetime) -> list[PlateSeen]:
        sql = (
            "SELECT device_id, plate, max(plate_masked), unix_micros(min(time)), "
            "unix_micros(max(time)), count(*) FROM vehicle_events WHERE plate IS NOT NULL "
            f"AND time >= {_SINCE} AND time < {_UNTIL} "
            "GROUP BY device_id, plate ORDER BY device_id, plate"
        )
        return [
            PlateSeen(
                device_id=r[0],
                plate=r[1],
                plate_masked=r[2] or "",
                first_seen=_utc(r[3]),
                last_seen=_utc(r[4]),
                passages=int(r[5]),
            )
            for r in self._rows(sql, _window(since, until), since=since, until=until)
        ]

    # --- batch models ---------------------------------------------------------------------

    def resident_sightings(
        self, reference: ReferenceTables, since: datetime, until: datetime
    ) -> list[ResidentSighting]:
        rows = self._rows(
            _SIGHTINGS_SQL, _window(since, until), reference.by_name(), since=since, until=until
        )
        return [
            ResidentSighting(
                r[0],
                _utc(r[1]),
                r[2],
                r[3],
                r[4],
                r[5],
                None if r[6] is None else _utc(r[6]),
                _utc(r[7]),
            )
            for r in rows
        ]

    def gate_vehicle_stays(
        self, reference: ReferenceTables, since: datetime, until: datetime
    ) -> list[GateVehicleStay]:
        rows = self._rows(
            _GATE_STAYS_SQL, _window(since, until), reference.by_name(), since=since, until=until
        )
        return [
            GateVehicleStay(
                r[0],
                r[1],
                r[2],
                r[3],
                _utc(r[4]),
                r[5],
                r[6],
                int(r[7]),
                r[8],
                _utc(r[9]),
                parked_readers=bool(r[10]),
                parked_days=int(r[11]),
                last_parked_at=None if r[12] is None else _utc(r[12]),
            )
            for r in rows
        ]

    def restricted_vehicle_entries(
        self,
        reference: ReferenceTables,
        since: datetime,
        until: datetime,
        *,
        utc_offset_seconds: int,
    ) -> list[RestrictedVehicleEntry]:
        parameters = {**_window(since, until), "offset": utc_offset_seconds}
        rows = self._rows(
            _RESTRICTED_SQL, parameters, reference.by_name(), since=since, until=until
        )
        return [
            RestrictedVehicleEntry(r[0], r[1], r[2], r[3], r[4], r[5], _utc(r[6]), int(r[7]), r[8])
            for r in rows
        ]

    def restricted_place_passages(
        self,
        reference: ReferenceTables,
        since: datetime,
        until: datetime,
        *,
        utc_offset_seconds: int,
    ) -> list[RestrictedPlacePassage]:
        parameters = {**_window(since, until), "offset": utc_offset_seconds}
        rows = self._rows(
            _RESTRICTED_PLACES_SQL, parameters, reference.by_name(), since=since, until=until
        )
        return [
            RestrictedPlacePassage(
                r[0], r[1], r[2], r[3], r[4], r[5], _utc(r[6]), int(r[7]), r[8], bool(r[9])
            )
            for r in rows
        ]

    def unit_door_passages(
        self, reference: ReferenceTables, since: datetime, until: datetime, *, min_units: int
    ) -> list[UnitDoorPassage]:
        parameters = {**_window(since, until), "min_units": min_units}
        rows = self._rows(
            _UNIT_PASSAGES_SQL, parameters, reference.by_name(), since=since, until=until
        )
        return [UnitDoorPassage(r[0], r[1], r[2], r[3], r[4], _utc(r[5])) for r in rows]

    def community_day_entries(
        self,
        reference: ReferenceTables,
        since: datetime,
        until: datetime,
        *,
        utc_offset_seconds: int,
        min_communities: int,
    ) -> list[CommunityDayEntries]:
        parameters = {
            **_window(since, until),
            "offset": utc_offset_seconds,
            "min_communities": min_communities,
        }
        rows = self._rows(
            _COMMUNITY_DAYS_SQL, parameters, reference.by_name(), since=since, until=until
        )
        return [
            CommunityDayEntries(r[0], r[1], list(r[2]), int(r[3]), _evidence(r[4])) for r in rows
        ]

    def house_door_occupants(
        self,
        reference: ReferenceTables,
        since: datetime,
        until: datetime,
        *,
        utc_offset_seconds: int,
    ) -> list[HouseDoorOccupant]:
        parameters = {**_window(since, until), "offset": utc_offset_seconds}
        rows = self._rows(_OCCUPANTS_SQL, parameters, reference.by_name(), since=since, until=until)
        return [
            HouseDoorOccupant(r[0], r[1], r[2], _utc(r[3]), list(r[4]), _evidence(r[5]))
            for r in rows
        ]

    def night_presences(
        self,
        reference: ReferenceTables,
        since: datetime,
        until: datetime,
        *,
        utc_offset_seconds: int,
    ) -> list[NightPresence]:
        parameters = {**_window(since, until), "offset": utc_offset_seconds}
        rows = self._rows(_NIGHTS_SQL, parameters, reference.by_name(), since=since, until=until)
        return [
            NightPresence(r[0], r[1], _utc(r[2]), list(r[3]), r[4], r[5], _evidence(r[6]))
            for r in rows
        ]

    def door_face_captures(
        self,
        reference: ReferenceTables,
        door_cameras: pa.Table,
        subjects: list[str],
        since: datetime,
        until: datetime,
        *,
        link_seconds: int,
        max_captures: int,
    ) -> dict[str, list[SealedCapture]]:
        if not subjects:
            return {}
        # Face captures up to `link_seconds` before the window belong to its first passages.
        link = timedelta(seconds=link_seconds)
        parameters = {**_window(since, until), "link": link_seconds, "most": max_captures}
        tables = {
            **reference.by_name(),
            "m_door_cameras": door_cameras,
            "m_whos": pa.table({"who": pa.array(subjects, type=pa.string())}),
        }
        return {
            row[0]: [
                SealedCapture(i["id"], i["dev"], _utc(i["t"]), bytes(i["feature"])) for i in row[1]
            ]
            for row in self._rows(
                _CAPTURES_SQL, parameters, tables, since=since - link, until=until
            )
        }


def _window(since: datetime, until: datetime) -> dict[str, object]:
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be timezone-aware")
    return {"since": _micros(since), "until": _micros(until)}


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _utc(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _evidence(items: list[Any] | None) -> list[EvidenceEvent]:
    return [EvidenceEvent(i["id"], i["dev"], _utc(i["t"])) for i in items or ()]


def _summary_sql(table: EventTable) -> str:
    """The one-line summary, in Spark SQL (DuckDB's `printf` is Spark's `format_string`)."""
    return table.summary_sql.replace("printf(", "format_string(")


def _tokens_sql(table: EventTable) -> str:
    names = [c.name for c in table.identifier_columns]
    if not names:
        return "CAST(array() AS ARRAY<STRING>)"
    return f"filter(array({', '.join(names)}), x -> x IS NOT NULL)"
