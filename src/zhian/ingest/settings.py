"""The intake's settings (`[intake]`, `[images]`).

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# The plate kinds of zhian.governance.plates.PlateKind but `other` (spelled out here: a
# settings module imports nothing of Zhian).
PlateKindName = Literal["civil", "new_energy", "police", "military", "embassy", "hk_macau"]


class IntakeSettings(BaseModel):
    """Limits the event intake applies to every protocol."""

    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Largest request body accepted, in bytes."
    )
    max_batch_items: int = Field(
        default=10_000, ge=1, description="Most events accepted in one request or file chunk."
    )
    max_future_seconds: int = Field(
        default=600,
        ge=0,
        description="How far an event's time may lie ahead of the server clock (clock skew).",
    )
    max_age_days: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Oldest event time accepted, in days before now. Also bounds the duplicate "
            "index: a duplicate older than this is rejected as too old instead."
        ),
    )
    plate_kinds: list[PlateKindName] = Field(
        default=["civil", "new_energy", "police", "military", "embassy", "hk_macau"],
        description=(
            "Plate kinds this deployment recognises (civil, new_energy, police, military, "
            "embassy, hk_macau). A plate of none of them is still accepted, as kind `other`, "
            "and counted on the data-quality page; only empty readings, control characters "
            "or symbols and readings over 12 characters are refused."
        ),
    )
    directory_refresh_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "How often a running node reloads its device directory, to see changes by "
            "another process that no event asks about (a device disabled). A device "
            "imported or enabled elsewhere is looked up at its first event."
        ),
    )


class ImageSettings(BaseModel):
    """Uploaded images (face captures, vehicle snapshots)."""

    max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Largest image accepted, in bytes."
    )
