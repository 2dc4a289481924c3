"""Where and when registered residents were last seen: doors, cameras, their own cars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from zhian.models.base import ModelRun, utc

SIGHTINGS_SQL = """
WITH s AS (
  SELECT k.resident_id, a.time, a.event_id, a.device_id, 'access' AS type, a.direction
  FROM access_events a JOIN m_keys k ON k.key = a.subject_kind || ':' || a.subject_ref
  WHERE a.result = 'granted' AND a.time >= $since AND a.time < $now
  UNION ALL
  SELECT k.resident_id, f.time, f.event_id, f.device_id, 'face', NULL
  FROM face_events f JOIN m_keys k ON k.key = f.subject_kind || ':' || f.subject_ref
  WHERE f.time >= $since AND f.time < $now
  UNION ALL
  SELECT v.owner_id, e.time, e.event_id, e.device_id, 'vehicle', e.direction
  FROM vehicle_events e JOIN m_vehicles v ON v.plate = e.plate
  WHERE v.owner_id IS NOT NULL AND e.time >= $since AND e.time < $now
)
SELECT resident_id, timezone('UTC', max(time)), arg_max(event_id, time),
       arg_max(device_id, time), arg_max(type, time),
       arg_max(direction, time) FILTER (WHERE direction IS NOT NULL),
       timezone('UTC', max(time) FILTER (WHERE direction IS NOT NULL))
FROM s GROUP BY resident_id
"""


@dataclass(frozen=True)
class LastSighting:
    """A resident's newest sighting, and their newest passage that has a direction."""

    resident_id: str
    at: datetime
    event_id: str
    device_id: str
    event_type: str
    direction: str | None
    direction_at: datetime | None


def last_sightings(run: ModelRun) -> dict[str, LastSighting]:
    """Each resident's last sighting within the lookback, computed once per run."""
    found: dict[str, LastSighting] | None = run.shared.get("last_sightings")
    if found is None:
        found = run.shared["last_sightings"] = _query(run)
    return found


def _query(run: ModelRun) -> dict[str, LastSighting]:
    since = run.now - timedelta(days=run.settings.lookback_days)
    rows = run.query(SIGHTINGS_SQL, since=since)
    return {
        row[0]: LastSighting(
            row[0],
            utc(row[1]),
            row[2],
            row[3],
            row[4],
            row[5],
            None if row[6] is None else utc(row[6]),
        )
        for row in rows
    }
