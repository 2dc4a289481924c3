"""The streaming rules' settings (`[rules]`) and crowd safety's (`[crowd]`).

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, model_validator


class RuleSettings(BaseModel):
    """Streaming rules: thresholds of device health, access patterns and watchlist hits."""

    offline_seconds: int = Field(
        default=900,
        ge=60,
        description="Silence (no heartbeat, no event) after which a device counts as offline.",
    )
    offline_seconds_by_kind: dict[str, int] = Field(
        default={},
        description=(
            "Per device kind override of offline_seconds, e.g. {smoke_sensor = 3600} for "
            "sensors that report hourly."
        ),
    )
    offline_recovery_seconds: int = Field(
        default=300,
        ge=0,
        description="A device back after an outage reports this long before its offline alert "
        "closes; silent again within it, the same alert stays open (a flapping link is one "
        "alert, not one per drop). 0 closes it at the first report.",
    )
    online_sample_seconds: int = Field(
        default=300,
        ge=10,
        description="How often the online rate per community and kind is sampled.",
    )
    denied_count: int = Field(
        default=3, ge=2, description="Denied reads at one door that make a forced-entry attempt."
    )
    denied_window_seconds: int = Field(
        default=300, ge=10, description="Window in which denied_count denied reads must fall."
    )
    tailgating_seconds: int = Field(
        default=15,
        ge=1,
        description=(
            "A denied read by one subject followed within this many seconds by a granted read "
            "of another subject at the same door is a tailgating attempt."
        ),
    )
    plate_tolerance: int = Field(
        default=1,
        ge=0,
        le=1,
        description="Characters a plate may differ from a watchlist plate (a misread) and hit.",
    )
    face_threshold: float = Field(
        default=0.85,
        gt=0,
        le=1,
        description="Cosine similarity from which a face feature hits a watchlist person.",
    )
    silent_line_minutes: int = Field(
        default=30,
        ge=5,
        le=1440,
        description="A counting line that reported only zero crossings this long, while its "
        "zone's other counters (or its own history at this hour of the week) say people pass, "
        "raises a device fault (rule counting_line_silent); so does one that reported the "
        "same non-zero count every minute that long (a frozen counter).",
    )
    silent_line_min_expected: float = Field(
        default=20.0,
        gt=0,
        description="The crossings the silent line's neighbours (by its learnt share of what "
        "they see) must expect over silent_line_minutes before it is called silent; the "
        "smallest expectation of its neighbours counts.",
    )
    batch_events: int = Field(
        default=5000, ge=1, description="Most log records the rule engine reads in one step."
    )
    poll_seconds: float = Field(
        default=0.02, gt=0, description="How often the rule engine looks for new log records."
    )
    evaluate_seconds: float = Field(
        default=1.0, gt=0, description="How often timer rules (device offline) are evaluated."
    )


class PlannedEventSettings(BaseModel):
    """A crowd event declared in advance (a temple fair, a festival): its zone, window and
    expected size, which the zone's forecast adds to the usual pattern in the window."""

    zone_id: str = Field(min_length=1, max_length=64, description="The zone it fills.")
    start: datetime = Field(description="When it starts (local time, or with an offset).")
    end: datetime = Field(description="When it ends.")
    expected: int = Field(
        gt=0, description="People it adds to the zone's usual count at once (its expected size)."
    )

    @model_validator(mode="after")
    def _window(self) -> PlannedEventSettings:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self


class CrowdSettings(BaseModel):
    """Crowd safety (docs/crowd.md): density levels, hysteresis, forecast and staffing."""

    levels: list[float] = Field(
        default=[0.5, 1.0, 1.5, 2.5, 4.0],
        min_length=5,
        max_length=5,
        description=(
            "Persons/m² from which a zone is busy, pre-warning, warning (the field's "
            "threshold), danger and critical; below the first it is free."
        ),
    )
    hysteresis: list[float] = Field(
        default=[0.05, 0.1, 0.1, 0.2, 0.3],
        min_length=5,
        max_length=5,
        description=(
            "Persons/m² below each level's threshold the density must fall before the zone "
            "leaves that level (one margin per entry of levels)."
        ),
    )
    forecast_minutes: int = Field(
        default=20, ge=10, le=60, description="How far ahead the occupancy forecast looks."
    )
    forecast_probability: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description=(
            "Probability of crossing the warning level within forecast_minutes from which "
            "a forecast warning is raised."
        ),
    )
    forecast_min_density: float = Field(
        default=0.5,
        ge=0,
        description="Persons/m² a zone must hold now before its forecast may raise a warning.",
    )
    persons_per_officer: list[int] = Field(
        default=[0, 2000, 1000, 500, 300, 200],
        min_length=6,
        max_length=6,
        description=(
            "Staffing ratio: people one officer covers at each level (free, busy, "
            "pre-warning, warning, danger, critical); 0 means no officer is needed."
        ),
    )
    camera_error: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Relative standard error of a camera occupancy reading (the reconciler).",
    )
    line_error: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Relative standard error of a counting line's in/out counts (drift).",
    )
    utc_offset_hours: float = Field(
        default=8,
        ge=-12,
        le=14,
        description="Offset of local time, for the forecast's hour of the week and holidays.",
    )
    holidays: list[date] = Field(
        default=[],
        description=(
            "Public holidays (local dates): the forecast gives them a Sunday's pattern and "
            'keeps them out of the weekly profile, e.g. ["2026-10-01", "2026-10-02"].'
        ),
    )
    planned_events: list[PlannedEventSettings] = Field(
        default=[],
        description=(
            "Crowd events declared in advance, each {zone_id, start, end, expected}: the "
            "zone's forecast expects that many more people than usual in the window."
        ),
    )
    horizons_minutes: list[int] = Field(
        default=[60, 180, 1440],
        min_length=1,
        description="Horizons `zhian eval crowd` scores the forecast at, in minutes.",
    )
