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
            "Log backend: local (segment files in the workspace, the embedded tier) or nats "
            "(a NATS JetStream stream, replicated by the NATS cluster; the nats_* settings; "
            "docs/deploy-scaled.md)."
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
    # The NATS JetStream backend's settings (docs/deploy-scaled.md).
    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        min_length=1,
        description=(
            "NATS server URL(s), comma-separated: list every node of the cluster so that "
            "the log reconnects to another one when one fails."
        ),
    )
    nats_stream: str = Field(
        default="ZHIAN_EVENTS",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description=(
            "JetStream stream holding the log; created on first use. Reader positions "
            "go to the key-value bucket <stream>_READERS beside it."
        ),
    )
    nats_subject: str = Field(
        default="zhian.events.log",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Subject the log's records are published on (the stream's only subject).",
    )
    nats_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description=(
            "Replication factor of the stream and the reader bucket: 3 on a cluster of 3, "
            "so that an append is acknowledged once two nodes hold it."
        ),
    )
    nats_duplicate_window_seconds: float = Field(
        default=120.0,
        ge=1.0,
        le=86_400.0,
        description=(
            "How long the stream remembers a record's message id (Nats-Msg-Id): a batch "
            "sent again within it, by any intake process, is stored once."
        ),
    )
    nats_max_message_bytes: int = Field(
        default=1024 * 1024,
        ge=64 * 1024,
        le=64 * 1024 * 1024,
        description=(
            "Largest message the log publishes (at most the server's max_payload): the "
            "intake splits a request whose record would be larger into several records."
        ),
    )
    nats_segment_records: int = Field(
        default=10_000,
        ge=1,
        description=(
            "Records per retention unit: retention drops whole runs of this many records "
            "(the local log's segments), never the newest run."
        ),
    )
    nats_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300.0,
        description=(
            "How long an append waits for the stream's acknowledgements (and a read for "
            "its answer) before the intake reports the log unavailable."
        ),
    )
