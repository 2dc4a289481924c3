"""The upward link's settings (`[parent]`): where the parent node is and what goes up.

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

# all: events as taken in, images and face features included; structured: no images and no
# face features (the narrowest link); thumbnails: images shrunk to thumbnails, features kept.
EventMode = Literal["all", "structured", "thumbnails", "none"]


class ParentSettings(BaseModel):
    """The parent node this node forwards to (community → district → city, docs/cascade.md)."""

    url: str = Field(
        default="",
        description=(
            "Base address of the parent Zhian node (http://host:port); empty: this node "
            "forwards nowhere."
        ),
    )
    node_id: str = Field(
        default="",
        pattern=r"^$|^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description="This node's name at the parent (its batches and link health carry it).",
    )
    token: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "The node credential: an API token issued at the parent with the permission "
            "`cascade.forward` and this node's jurisdiction. Set it in ZHIAN_PARENT__TOKEN."
        ),
    )
    events: EventMode = Field(
        default="structured",
        description=(
            "Which events go up: all (images and face features too), structured (neither), "
            "thumbnails (images shrunk to thumbnails), none."
        ),
    )
    alerts: bool = Field(default=True, description="Forward alerts and their state changes.")
    device_online: bool = Field(
        default=True, description="Forward the device online summaries (per community and kind)."
    )
    orders: bool = Field(
        default=True,
        description=(
            "Apply the parent's watchlist orders (布控下发, 撤控) here and report their hits up."
        ),
    )
    orders_poll_seconds: float = Field(
        default=10.0, gt=0, description="How often the parent is asked for its watchlist orders."
    )
    status_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "How often this node tells the parent its side of the link (cache depth, "
            "back-fill progress), for the parent's links table; also when a back-fill ends."
        ),
    )
    batch_events: int = Field(
        default=500, ge=1, le=5000, description="Most events in one batch to the parent."
    )
    ack_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description="A batch not acknowledged within this time is sent again (the field's 5 s).",
    )
    attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Tries of one batch before the link counts as down (the field's 3).",
    )
    backoff_initial_seconds: float = Field(
        default=1.0,
        gt=0,
        description="First pause before registering again after the link went down.",
    )
    backoff_max_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Longest pause between registrations: the pause doubles up to it, jittered.",
    )
    poll_seconds: float = Field(
        default=1.0, gt=0, description="Pause of the forwarder when nothing waits to go up."
    )
    cache_alarm_bytes: int = Field(
        default=8 * 2**30,
        ge=1,
        description=(
            "Log bytes waiting for the parent above which the link health raises the cache "
            "alarm (the cache is the event log itself: retention keeps what is not forwarded)."
        ),
    )
    cache_alarm_free_fraction: float = Field(
        default=0.1,
        gt=0,
        lt=1,
        description=(
            "The cache alarm is also raised when the disk under the log has less than this "
            "fraction free while anything waits for the parent."
        ),
    )

    parameter_overrides: bool = Field(
        default=False,
        description=(
            "Keep this node's own value of a model parameter the parent pushes down, where it "
            "set one; the parent sees each such override. Off: the parent's presets apply."
        ),
    )

    searches: bool = Field(
        default=True,
        description=(
            "Answer the parent's cross-node search requests (跨区域研判), fetched with the "
            "orders every `orders_poll_seconds`: each is checked, run on this node's store, "
            "audited here and answered (or refused with the reason). Off: none is fetched "
            "and the parent sees them time out."
        ),
    )

    procedure_overrides: bool = Field(
        default=False,
        description=(
            "Keep this node's own response procedure (预案) where the parent pushes one down "
            "and a user here edited it; the parent sees each such override. Off: the "
            "parent's procedures apply."
        ),
    )

    @model_validator(mode="after")
    def _complete(self) -> ParentSettings:
        if self.url and not self.node_id:
            raise ValueError("parent.node_id is required when parent.url is set")
        if self.backoff_max_seconds < self.backoff_initial_seconds:
            raise ValueError("parent.backoff_max_seconds is below parent.backoff_initial_seconds")
        return self

    @property
    def is_enabled(self) -> bool:
        return bool(self.url)
