"""The named queries (`zhian.store.queries.EventQueries`) on the embedded tier's DuckDB."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from typing import Any, Final

import duckdb
import pyarrow as pa

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
from zhian.store.schema import EventTable, union_all

# Local time of an event column, as naive local wall time.
_LOCAL: Final = "(timezone('UTC', {col}) + to_seconds($offset))"
_UNKNOWN_SUBJECT: Final = (
    "NOT EXISTS (SELECT 1 FROM m_keys k WHERE k.key = a.subject_kind || ':' || a.subject_ref)"
)

_SIGHTINGS_SQL: Final = """
WITH s AS (
  SELECT k.resident_id, a.time, a.event_id, a.device_id, 'access' AS type, a.direction
  FROM access_events a JOIN m_keys k ON k.key = a.subject_kind || ':' || a.subject_ref
  WHERE a.result = 'granted' AND a.time >= $since AND a.time < $until
  UNION ALL
  SELECT k.resident_id, f.time, f.event_id, f.device_id, 'face', NULL
  FROM face_events f JOIN m_keys k ON k.key = f.subject_kind || ':' || f.subject_ref
  WHERE f.time >= $since AND f.time < $until
  UNION ALL
  SELECT v.owner_id, e.time, e.event_id, e.device_id, 'vehicle', e.direction
  FROM vehicle_events e JOIN m_vehicles v ON v.plate = e.plate
  JOIN m_devices d ON d.device_id = e.device_id
  -- A car-park camera's read says the car stands parked, not that its owner was there.
  WHERE v.owner_id IS NOT NULL AND e.time >= $since AND e.time < $until
    AND d.kind <> 'parking_camera'
)
SELECT resident_id, timezone('UTC', max(time)), arg_max(event_id, time),
       arg_max(device_id, time), arg_max(type, time),
       arg_max(direction, time) FILTER (WHERE direction IS NOT NULL),
       timezone('UTC', max(time) FILTER (WHERE direction IS NOT NULL)),
       timezone('UTC', min(time))
FROM s GROUP BY resident_id
"""

_GATE_STAYS_SQL: Final = """
WITH stays AS (
  SELECT e.plate, any_value(e.plate_masked) AS masked, d.community_id,
         arg_max(e.direction, e.time) AS direction, max(e.time) AS last_at,
         arg_max(e.event_id, e.time) AS event_id, arg_max(e.device_id, e.time) AS device_id,
         count(*) AS passages, arg_max(e.vehicle_class, e.time) AS vehicle_class
  FROM vehicle_events e JOIN m_devices d ON d.device_id = e.device_id
  WHERE d.kind = 'vehicle_gate' AND d.watches_stays AND e.time >= $since AND e.time < $until
    AND NOT EXISTS (SELECT 1 FROM m_vehicles v WHERE v.plate = e.plate
                    AND v.community_id = d.community_id)
  GROUP BY e.plate, d.community_id
), seen AS (
  -- A read anywhere but this community's own car-park cameras (those say it is parked).
  SELECT s.plate, s.community_id, max(e.time) AS seen_at
  FROM stays s JOIN vehicle_events e ON e.plate = s.plate
  JOIN m_devices d ON d.device_id = e.device_id
  WHERE e.time >= $since AND e.time < $until
    AND NOT (d.kind = 'parking_camera' AND d.community_id = s.community_id)
  GROUP BY s.plate, s.community_id
), readers AS (
  SELECT DISTINCT community_id FROM m_devices WHERE kind = 'parking_camera'
), parked AS (
  -- Reads of it parked here since its last passage: days read (UTC days) and the newest.
  SELECT s.plate, s.community_id, count(DISTINCT floor(epoch(e.time) / 86400)) AS days,
         max(e.time) AS last_parked
  FROM stays s JOIN vehicle_events e ON e.plate = s.plate AND e.time > s.last_at
  JOIN m_devices d ON d.device_id = e.device_id AND d.kind = 'parking_camera'
   AND d.community_id = s.community_id
  WHERE e.time < $until
  GROUP BY s.plate, s.community_id
)
SELECT s.plate, s.masked, s.community_id, s.direction, timezone('UTC', s.last_at), s.event_id,
       s.device_id, s.passages, s.vehicle_class, timezone('UTC', seen.seen_at),
       r.community_id IS NOT NULL, coalesce(p.days, 0), timezone('UTC', p.last_parked)
FROM stays s JOIN seen ON seen.plate = s.plate AND seen.community_id = s.community_id
LEFT JOIN readers r ON r.community_id = s.community_id
LEFT JOIN parked p ON p.plate = s.plate AND p.community_id = s.community_id
"""

_RESTRICTED_SQL: Final = f"""
SELECT e.plate, e.plate_masked, e.vehicle_class, d.community_id, e.event_id, e.device_id,
       timezone('UTC', e.time), hour({_LOCAL.format(col="e.time")}), e.direction
FROM vehicle_events e JOIN m_devices d ON d.device_id = e.device_id
WHERE d.kind = 'vehicle_gate' AND d.is_residential
  AND e.vehicle_class IN ('muck_truck', 'hazmat') AND e.time >= $since AND e.time < $until
ORDER BY e.time
"""

# A vehicle's registration: plates are unique in the registry, so the join keeps one row.
_RESTRICTED_PLACES_SQL: Final = f"""
SELECT e.plate, e.plate_masked, e.vehicle_class, e.direction, e.device_id, e.event_id,
       timezone('UTC', e.time), hour({_LOCAL.format(col="e.time")}),
       v.community_id, v.plate IS NOT NULL
FROM vehicle_events e JOIN m_devices d ON d.device_id = e.device_id
LEFT JOIN m_vehicles v ON v.plate = e.plate
WHERE d.is_restricted AND e.time >= $since AND e.time < $until
ORDER BY e.time
"""


# Unknown subjects only: not a registered resident or card, not a registered visitor pass
# (couriers and declared visitors hold `visitor` passes issued to a named person).
_UNIT_PASSAGES_SQL: Final = f"""
SELECT a.subject_kind || ':' || a.subject_ref, d.community_id, d.unit_id, a.event_id,
       a.device_id, timezone('UTC', a.time)
FROM access_events a JOIN m_devices d ON d.device_id = a.device_id
WHERE a.result = 'granted' AND a.direction = 'in' AND d.unit_id IS NOT NULL
  AND a.subject_kind <> 'visitor' AND a.time >= $since AND a.time < $until
  AND {_UNKNOWN_SUBJECT}
  AND (a.subject_kind || ':' || a.subject_ref) IN (
    SELECT b.subject_kind || ':' || b.subject_ref FROM access_events b
    JOIN m_devices u ON u.device_id = b.device_id AND u.unit_id IS NOT NULL
    WHERE b.time >= $since AND b.time < $until AND b.direction = 'in'
    GROUP BY ALL HAVING count(DISTINCT u.unit_id) >= $min_units)
ORDER BY 1, a.time
"""

_COMMUNITY_DAYS_SQL: Final = f"""
SELECT a.subject_kind || ':' || a.subject_ref AS who,
       CAST({_LOCAL.format(col="a.time")} AS DATE) AS day,
       list(DISTINCT d.community_id), count(DISTINCT d.community_id),
       list(struct_pack(id := a.event_id, dev := a.device_id, t := timezone('UTC', a.time))
            ORDER BY a.time)[1:8]
FROM access_events a JOIN m_devices d ON d.device_id = a.device_id AND d.is_residential
WHERE a.result = 'granted' AND a.direction = 'in' AND a.subject_kind <> 'visitor'
  AND a.time >= $since AND a.time < $until AND {_UNKNOWN_SUBJECT}
GROUP BY ALL HAVING count(DISTINCT d.community_id) >= $min_communities
"""

# A registered resident's card and face are one person (m_keys); anyone else is their
# subject.
_OCCUPANTS_SQL: Final = f"""
WITH p AS (
  SELECT d.house_id, a.subject_kind AS kind,
         coalesce(k.resident_id, a.subject_kind || ':' || a.subject_ref) AS who,
         CAST({_LOCAL.format(col="a.time")} AS DATE) AS day, a.time, a.event_id, a.device_id
  FROM access_events a
  JOIN m_devices d ON d.device_id = a.device_id AND d.house_id IS NOT NULL
  LEFT JOIN m_keys k ON k.key = a.subject_kind || ':' || a.subject_ref
  WHERE a.result = 'granted' AND a.time >= $since AND a.time < $until
)
SELECT house_id, who, any_value(kind), timezone('UTC', min(time)),
       list(DISTINCT day),
       list(struct_pack(id := event_id, dev := device_id, t := timezone('UTC', time))
            ORDER BY time DESC)[1:2]
FROM p GROUP BY house_id, who
"""

# A subject is present on a night when its last passage between 17:00 and 03:00 local is
# coming in: it came home and did not leave again. Nights are named by their evening.
_NIGHTS_SQL: Final = f"""
WITH p AS (
  SELECT a.subject_kind || ':' || a.subject_ref AS who, a.subject_kind AS kind, a.direction,
         a.time, a.event_id, a.device_id, d.community_id, d.unit_id,
         {_LOCAL.format(col="a.time")} AS lt
  FROM access_events a JOIN m_devices d ON d.device_id = a.device_id AND d.is_residential
  WHERE a.result = 'granted' AND a.time >= $since AND a.time < $until AND {_UNKNOWN_SUBJECT}
),
nights AS (
  SELECT who, CAST(lt - INTERVAL 12 HOUR AS DATE) AS night, arg_max(direction, time) AS last_dir
  FROM p WHERE hour(lt) >= 17 OR hour(lt) < 3 GROUP BY ALL
),
present AS (
  SELECT who, list(night ORDER BY night) AS nights FROM nights WHERE last_dir = 'in' GROUP BY who
)
SELECT p.who, any_value(p.kind), timezone('UTC', min(p.time)), present.nights,
       mode(p.unit_id) FILTER (WHERE p.unit_id IS NOT NULL), mode(p.community_id),
       list(struct_pack(id := p.event_id, dev := p.device_id, t := timezone('UTC', p.time))
            ORDER BY p.time DESC)[1:8]
FROM p JOIN present USING (who)
GROUP BY p.who, present.nights
"""

# The captures of the person passing, linked by place and time alone (no reference of the
# capture is read); features come out sealed.
_CAPTURES_SQL: Final = """
WITH p AS (
  SELECT a.subject_kind || ':' || a.subject_ref AS who, a.device_id, a.time
  FROM access_events a JOIN m_devices d ON d.device_id = a.device_id AND d.is_residential
  WHERE a.result = 'granted' AND a.time >= $since AND a.time < $until
    AND list_contains($whos, a.subject_kind || ':' || a.subject_ref)
),
linked AS (
  SELECT DISTINCT p.who, f.event_id, f.device_id, f.time, f.feature
  FROM p JOIN m_door_cameras c ON c.door_id = p.device_id
  JOIN face_events f ON f.device_id = c.camera_id
   AND f.time BETWEEN p.time - to_seconds($link) AND p.time + to_seconds($link)
  WHERE f.feature IS NOT NULL
    AND f.time >= $since - to_seconds($link) AND f.time < $until
)
SELECT who, list(struct_pack(id := event_id, dev := device_id, t := timezone('UTC', time),
                             feature := feature) ORDER BY time DESC)[1:$most]
FROM linked GROUP BY who
"""


class DuckDbEventQueries:
    """`EventQueries` over a DuckDB store; each call reads through a cursor of its own
    (DuckDB connections are not shared across threads) taken from `reader_root`, a
    connection nobody executes on, so a read never races with a batch being written."""

    def __init__(self, reader_root: duckdb.DuckDBPyConnection) -> None:
        self._root = reader_root

    def _rows(
        self,
        sql: str,
        parameters: dict[str, object] | None = None,
        tables: dict[str, pa.Table] | None = None,
    ) -> list[tuple[Any, ...]]:
        # DuckDB refuses named parameters a statement does not use.
        used = {k: v for k, v in (parameters or {}).items() if f"${k}" in sql}
        with closing(self._root.cursor()) as cursor:
            for name, table in (tables or {}).items():
                cursor.register(name, table)
            return cursor.execute(sql, used).fetchall()

    # --- operations pages and data quality ----------------------------------------------

    def count_by_type(self) -> dict[str, int]:
        sql = union_all(lambda t: f"SELECT '{t.event_type}', count(*) FROM {t.name}")
        return {event_type: int(count) for event_type, count in self._rows(sql)}

    def recent_events(
        self, limit: int = 50, device_id: str | None = None
    ) -> list[StoredEventSummary]:
        where = "" if device_id is None else "WHERE device_id = $device_id"
        parts = union_all(
            lambda t: (
                f"SELECT '{t.event_type}' AS type, seq, event_id, device_id, time, "
                f"received_at, source, {t.summary_sql} AS summary, {_tokens_sql(t)} AS tokens "
                f"FROM {t.name} {where}"
            )
        )
        sql = (
            "SELECT type, seq, event_id, device_id, timezone('UTC', time), "
            "timezone('UTC', received_at), source, summary, tokens "
            f"FROM ({parts}) ORDER BY time DESC, seq DESC LIMIT $limit"
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
        sql = f"SELECT device_id, timezone('UTC', max(time)) FROM ({parts}) GROUP BY device_id"
        return {device_id: _utc(time) for device_id, time in self._rows(sql)}

    def events_per_minute(self, since: datetime) -> list[tuple[datetime, int]]:
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        parts = union_all(lambda t: f"SELECT time FROM {t.name} WHERE time >= $since")
        sql = (
            "SELECT date_trunc('minute', timezone('UTC', time)) AS minute, count(*) "
            f"FROM ({parts}) GROUP BY minute ORDER BY minute"
        )
        return [(_utc(minute), int(count)) for minute, count in self._rows(sql, {"since": since})]

    def arrival_stats(
        self, since: datetime, until: datetime, *, late_after_seconds: float
    ) -> list[ArrivalStats]:
        parts = union_all(
            lambda t: (
                f"SELECT device_id, source, time, received_at, ({t.complete_sql}) "
                f"AS complete FROM {t.name} WHERE received_at >= $since AND received_at < $until"
            )
        )
        sql = (
            "SELECT device_id, source, date_trunc('hour', timezone('UTC', received_at)) AS hour, "
            "count(*), avg(lag), max(lag), min(lag), count(*) FILTER (WHERE lag > $late), "
            "count(*) FILTER (WHERE lag < 0), count(*) FILTER (WHERE complete) "
            "FROM (SELECT *, epoch(received_at) - epoch(time) AS lag FROM "
            f"({parts})) GROUP BY ALL ORDER BY hour, device_id, source"
        )
        rows = self._rows(sql, {"since": since, "until": until, "late": late_after_seconds})
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

    def passage_counts(self, since: datetime, until: datetime) -> list[PassageCount]:
        parts = " UNION ALL ".join(
            f"SELECT device_id, '{kind}' AS type, coalesce(direction, '') AS direction, time "
            f"FROM {kind}_events WHERE time >= $since AND time < $until"
            for kind in ("access", "vehicle")
        )
        sql = (
            "SELECT device_id, type, direction, date_trunc('hour', timezone('UTC', time)) AS hour,"
            f" count(*) FROM ({parts}) GROUP BY ALL ORDER BY hour, device_id, type, direction"
        )
        return [
            PassageCount(
                device_id=r[0], type=r[1], direction=r[2], hour=_utc(r[3]), count=int(r[4])
            )
            for r in self._rows(sql, {"since": since, "until": until})
        ]

    def plates_seen(self, since: datetime, until: datetime) -> list[PlateSeen]:
        sql = (
            "SELECT device_id, plate, max(plate_masked), timezone('UTC', min(time)), "
            "timezone('UTC', max(time)), count(*) FROM vehicle_events "
            "WHERE plate IS NOT NULL AND time >= $since AND time < $until "
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
            for r in self._rows(sql, {"since": since, "until": until})
        ]

    # --- batch models ---------------------------------------------------------------------

    def resident_sightings(
        self, reference: ReferenceTables, since: datetime, until: datetime
    ) -> list[ResidentSighting]:
        rows = self._rows(_SIGHTINGS_SQL, _window(since, until), reference.by_name())
        return [
            ResidentSighting(
                row[0],
                _utc(row[1]),
                row[2],
                row[3],
                row[4],
                row[5],
                _utc_or_none(row[6]),
                _utc(row[7]),
            )
            for row in rows
        ]

    def gate_vehicle_stays(
        self, reference: ReferenceTables, since: datetime, until: datetime
    ) -> list[GateVehicleStay]:
        rows = self._rows(_GATE_STAYS_SQL, _window(since, until), reference.by_name())
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
                last_parked_at=_utc_or_none(r[12]),
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
        parameters = _window(since, until, offset=utc_offset_seconds)
        rows = self._rows(_RESTRICTED_SQL, parameters, reference.by_name())
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
        parameters = _window(since, until, offset=utc_offset_seconds)
        rows = self._rows(_RESTRICTED_PLACES_SQL, parameters, reference.by_name())
        return [
            RestrictedPlacePassage(
                r[0], r[1], r[2], r[3], r[4], r[5], _utc(r[6]), int(r[7]), r[8], bool(r[9])
            )
            for r in rows
        ]

    def unit_door_passages(
        self, reference: ReferenceTables, since: datetime, until: datetime, *, min_units: int
    ) -> list[UnitDoorPassage]:
        parameters = _window(since, until, min_units=min_units)
        rows = self._rows(_UNIT_PASSAGES_SQL, parameters, reference.by_name())
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
        parameters = _window(
            since, until, offset=utc_offset_seconds, min_communities=min_communities
        )
        rows = self._rows(_COMMUNITY_DAYS_SQL, parameters, reference.by_name())
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
        parameters = _window(since, until, offset=utc_offset_seconds)
        rows = self._rows(_OCCUPANTS_SQL, parameters, reference.by_name())
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
        parameters = _window(since, until, offset=utc_offset_seconds)
        rows = self._rows(_NIGHTS_SQL, parameters, reference.by_name())
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
        parameters = _window(since, until, whos=subjects, link=link_seconds, most=max_captures)
        tables = {**reference.by_name(), "m_door_cameras": door_cameras}
        return {
            who: [SealedCapture(i["id"], i["dev"], _utc(i["t"]), i["feature"]) for i in captures]
            for who, captures in self._rows(_CAPTURES_SQL, parameters, tables)
        }


def _window(since: datetime, until: datetime, **extra: object) -> dict[str, object]:
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be timezone-aware")
    return {"since": since, "until": until, **extra}


def _evidence(items: list[dict[str, Any]] | None) -> list[EvidenceEvent]:
    return [EvidenceEvent(i["id"], i["dev"], _utc(i["t"])) for i in items or ()]


def _tokens_sql(table: EventTable) -> str:
    """A list of the row's identifier tokens (none, or one per identifier column)."""
    names = [c.name for c in table.identifier_columns]
    if not names:
        return "[]::VARCHAR[]"
    return f"list_filter([{', '.join(names)}], lambda x: x IS NOT NULL)"


def _utc(value: datetime) -> datetime:
    """DuckDB hands back naive UTC (we ask for `timezone('UTC', …)`, which needs no pytz)."""
    return value.replace(tzinfo=UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)
