"""Settings of the registry (一标三实): how long a registration draft may stay open."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, Field

# A draft is due this many days after it was created, unless the node sets otherwise.
DEFAULT_DRAFT_DUE_DAYS: Final = 7


class RegistrySettings(BaseModel):
    """Registry tasks: the registration drafts' due time."""

    draft_due_days: int = Field(
        default=DEFAULT_DRAFT_DUE_DAYS,
        ge=1,
        le=365,
        description="Days after its creation a registration draft falls due: completed or "
        "dismissed by then, it counts as a registry task done on time "
        "(`registry_tasks_completed` in statistics, reports and assessment); still open "
        "then, or decided after, it counts as late.",
    )
