"""The ferry's settings (`[ferry]`).

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class FerrySettings(BaseModel):
    """Ferry packages: events and images as files across a one-way gateway (docs/ferry.md)."""

    max_events_per_package: int = Field(
        default=100_000, ge=1, description="Most events one exported package holds."
    )
    watch_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often `zhian ferry watch` looks for new packages."
    )
