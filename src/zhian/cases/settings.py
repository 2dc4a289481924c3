"""The case records' and case linkage's settings (`[cases]`).

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

# code -> parent code ("" for a top-level category). The tree of the field's practice:
# property crime, violence, fraud, public order.
DEFAULT_CATEGORIES: dict[str, str] = {
    "property": "",
    "burglary": "property",
    "theft": "property",
    "theft_from_vehicle": "theft",
    "vehicle_theft": "theft",
    "pickpocketing": "theft",
    "fraud": "",
    "telecom_fraud": "fraud",
    "violence": "",
    "robbery": "violence",
    "assault": "violence",
    "public_order": "",
    "dispute": "public_order",
}

DEFAULT_MO_FEATURES: list[str] = [
    "entry_point",
    "entry_method",
    "target",
    "property_taken",
    "tools",
]


class CaseSettings(BaseModel):
    """Case records (categories, modus-operandi features) and case linkage."""

    categories: dict[str, str] = Field(
        default=DEFAULT_CATEGORIES,
        description=(
            'The category tree: each category code and its parent\'s code ("" at the top), '
            'e.g. {burglary = "property", property = ""}.'
        ),
    )
    mo_features: list[str] = Field(
        default=DEFAULT_MO_FEATURES,
        description=(
            "The modus-operandi features a case may record (each a short text or a list "
            "of them); the time-of-day class is derived from the time window."
        ),
    )
    night_from_hour: int = Field(
        default=22, ge=0, le=23, description="Time-of-day class: night starts at this hour."
    )
    morning_from_hour: int = Field(
        default=6, ge=0, le=23, description="Time-of-day class: morning starts at this hour."
    )
    afternoon_from_hour: int = Field(
        default=12, ge=0, le=23, description="Time-of-day class: afternoon starts at this hour."
    )
    evening_from_hour: int = Field(
        default=18, ge=0, le=23, description="Time-of-day class: evening starts at this hour."
    )
    max_window_hours_for_time_of_day: float = Field(
        default=12.0,
        gt=0,
        description="A time window longer than this has no time-of-day class (unknown).",
    )
    linkage_radius_m: float = Field(
        default=3000.0,
        gt=0,
        description="Blocking: cases farther apart than this are never candidate links.",
    )
    linkage_window_days: float = Field(
        default=120.0,
        gt=0,
        description="Blocking: cases further apart in time than this are never candidates.",
    )
    linkage_candidates: int = Field(
        default=20, ge=1, le=500, description="Candidate links shown for one case."
    )
    retrain_every_labelled: int = Field(
        default=1000,
        ge=1,
        description=(
            "Retrain the linkage model once this many solved cases (with an offender "
            "token) have been added since the newest version was trained (a rollback "
            "stands until then)."
        ),
    )
    hotspot_cell_m: float = Field(
        default=150.0,
        ge=10,
        le=5000,
        description="Hotspots (热力图): the side of a grid cell, in metres.",
    )
    hotspot_method: str = Field(
        default="self_exciting",
        pattern="^(naive|kde|self_exciting)$",
        description=(
            "Hotspots: the forecast shown on the map and ranked per station: naive (counts), "
            "kde (kernel density) or self_exciting (background + near-repeat)."
        ),
    )
    hotspot_bandwidth_m: float = Field(
        default=100.0, gt=0, description="Hotspots: the kernel density method's bandwidth (σ)."
    )
    hotspot_horizon_days: float = Field(
        default=7.0, gt=0, le=90, description="Hotspots: how many days ahead a forecast covers."
    )
    hotspot_lookback_days: float = Field(
        default=365.0, gt=0, description="Hotspots: how many days of past cases a forecast uses."
    )
    hotspot_neighbours: int = Field(
        default=3,
        ge=1,
        le=100,
        description=(
            "Hotspots, self-exciting model: the background kernel around a case reaches its "
            "k-th nearest other case (narrow where cases crowd, wide where they are sparse)."
        ),
    )
    hotspot_min_bandwidth_m: float = Field(
        default=20.0,
        gt=0,
        description="Hotspots, self-exciting model: the narrowest background kernel (σ).",
    )
    hotspot_count_share: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description=(
            "Hotspots, self-exciting model: the share of the long-term rate taken from each "
            "cell's own count of past cases (the rest from the smoothed background). "
            "`zhian eval hotspots` chooses it on a validation window and prints its choice."
        ),
    )
    patrol_shifts: str = Field(
        default="day=8-16,evening=16-24,night=0-8",
        pattern=r"^\s*[^=,]+=\d{1,2}-\d{1,2}(\s*,\s*[^=,]+=\d{1,2}-\d{1,2})*\s*$",
        description=(
            "Patrol allocation (警力优化): the shifts, name=start-end hours, comma-separated."
        ),
    )
    patrol_officers_per_shift: int = Field(
        default=2, ge=1, le=200, description="Patrol allocation: officers on patrol per shift."
    )
    patrol_stops_per_officer: int = Field(
        default=3, ge=1, le=20, description="Patrol allocation: patrol points per officer."
    )
    patrol_radius_m: float = Field(
        default=300.0, gt=0, le=3000, description="Patrol allocation: what a patrol point covers."
    )
    patrol_hours_per_stop: int = Field(
        default=2, ge=1, le=24, description="Patrol allocation: hours recommended at each point."
    )
    patrol_alert_days: float = Field(
        default=90.0, gt=0, description="Patrol allocation: days of alert history weighed."
    )
    patrol_crowd_weight: float = Field(
        default=1.0,
        ge=0,
        description=(
            "Patrol allocation: expected incidents a crowd zone adds in the shift under way, "
            "per warning level it is at or forecast to reach."
        ),
    )
