"""The event store's settings (`[store]`).

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class StoreSettings(BaseModel):
    """The analytical event store (DuckDB on the embedded tier)."""

    batch_events: int = Field(
        default=20_000, ge=1, description="Most events the store appends in one transaction."
    )
    poll_seconds: float = Field(
        default=0.2, gt=0, description="How often the store looks for new events in the log."
    )
