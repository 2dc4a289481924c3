"""Where and when registered residents were last seen: doors, cameras, their own cars."""

from __future__ import annotations

from datetime import timedelta

from zhian.models.base import ModelRun
from zhian.store.queries import ResidentSighting


def last_sightings(run: ModelRun) -> dict[str, ResidentSighting]:
    """Each resident's last sighting within the lookback, computed once per run."""
    found: dict[str, ResidentSighting] | None = run.shared.get("last_sightings")
    if found is None:
        since = run.now - timedelta(days=run.settings.lookback_days)
        rows = run.queries.resident_sightings(run.master.reference, since, run.now)
        found = run.shared["last_sightings"] = {row.resident_id: row for row in rows}
    return found
