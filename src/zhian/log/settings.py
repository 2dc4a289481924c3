"""The durable event log's settings (`[log]`): `type` picks the backend.

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LogSettings(BaseModel):
    """The durable event log; `type` picks the backend, which owns the other settings."""

    type: Literal["local", "nats"] = Field(
        default="local",
        description=(
            "Log backend: local (segment files in the workspace, the embedded tier). nats "
            "(JetStream, the scaled tier) is reserved: a node refuses to start with it until "
            'the issue "The scaled tier" builds it.'
        ),
    )
    # The local backend's settings.
    fsync: bool = Field(
        default=True,
        description=(
            "fsync each group commit before acknowledging. Turn off only for throwaway runs."
        ),
    )
    segment_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1024 * 1024, description="Size at which a log segment rolls."
    )
