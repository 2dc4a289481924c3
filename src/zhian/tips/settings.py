"""The resident tips' settings (`[tips]`).

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

# category -> the tier triage proposes (the officer may choose another). DESIGN.md's
# tiers: disputes and parking are minor, theft and crowding general, violence and fire major.
DEFAULT_CATEGORIES: dict[str, str] = {
    "parking": "minor",
    "noise": "minor",
    "dispute": "minor",
    "facility": "minor",
    "suspicious": "general",
    "theft": "general",
    "crowding": "general",
    "smoke": "major",
    "fire": "major",
    "violence": "major",
    "other": "minor",
}


class TipSettings(BaseModel):
    """Resident tips (随手拍): limits on what the public may send, and duplicate finding."""

    categories: dict[str, str] = Field(
        default=DEFAULT_CATEGORIES,
        description=(
            "The categories a resident chooses from, each with the tier triage proposes "
            '(minor, general or major), e.g. {smoke = "major"}.'
        ),
    )
    max_photos: int = Field(default=3, ge=0, le=10, description="Photos one tip may carry.")
    max_photo_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="The largest photo accepted, in bytes."
    )
    max_description_chars: int = Field(
        default=1000, ge=10, le=10000, description="The longest description accepted."
    )
    tips_per_address_per_hour: int = Field(
        default=5,
        ge=1,
        description="Tips accepted from one network address in an hour; more are refused (429).",
    )
    lookups_per_code_per_hour: int = Field(
        default=60,
        ge=1,
        description=(
            "Status reads and ratings of one follow-up code in an hour (per process); "
            "more are refused (429)."
        ),
    )
    lookups_per_address_per_hour: int = Field(
        default=120,
        ge=1,
        description=(
            "Status reads from one network address in an hour (per process), whatever the "
            "code: guessing codes is refused (429) long before it could succeed."
        ),
    )
    duplicate_radius_m: float = Field(
        default=150.0,
        gt=0,
        description="A tip of the same category this close to an earlier one is a duplicate.",
    )
    duplicate_window_minutes: float = Field(
        default=60.0,
        gt=0,
        description="… and within this many minutes of it.",
    )
    place_radius_m: float = Field(
        default=500.0,
        gt=0,
        description=(
            "A tip is placed at the nearest building within this distance (the place its "
            "alert correlates on, and that building's community); farther from every "
            "building, at the nearest community of the node."
        ),
    )
