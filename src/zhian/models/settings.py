"""The batch analytic models' settings (`[models]`), one field group per model.

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ModelSettings(BaseModel):
    """Batch analytic models (docs/models.md): schedule and default parameters; each
    community may override a parameter on the models page."""

    enabled: bool = Field(default=True, description="Run the batch models in a feeding node.")
    interval_minutes: float = Field(default=60, gt=0, description="Minutes between model runs.")
    utc_offset_hours: float = Field(
        default=8, description="Offset of local time, for nights, days and allowed hours."
    )
    lookback_days: int = Field(
        default=60, ge=1, description="History a run reads for last sightings and presence."
    )
    unregistered_min_nights: int = Field(
        default=5, ge=1, description="Nights present (of the window) before a registration task."
    )
    unregistered_window_days: int = Field(
        default=7, ge=1, description="Window of the unregistered-resident model, in days."
    )
    visitor_grace_days: int = Field(
        default=60,
        ge=0,
        description="A declared visitor pass (kind visitor) stays this many days before it "
        "counts as residence (visiting relatives).",
    )
    unregistered_face_similarity_floor: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description="Least cosine similarity between the face captured as an unregistered "
        "resident passes and a resident's enrolled face for that resident to be offered as one "
        "of the top 3 registry candidates (registered elsewhere, 人户分离).",
    )
    moved_out_absent_days: int = Field(
        default=21, ge=1, description="Days without any passage before a resident seems moved out."
    )
    vacant_absent_days: int = Field(
        default=14, ge=1, description="Days every registered resident of a house is absent."
    )
    utility_water_baseline_m3: float = Field(
        default=0.05,
        ge=0,
        description="Water per day above which a house's utility reading counts as consumption, "
        "in m³.",
    )
    utility_electricity_baseline_kwh: float = Field(
        default=2.0,
        ge=0,
        description="Electricity per day above which a reading counts as consumption, in kWh "
        "(a fridge on standby stays below).",
    )
    utility_occupied_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Share of the absent days with consumption above which a house is lived in, "
        "not vacant.",
    )
    group_rental_m2_per_person: float = Field(
        default=5.0, gt=0, description="Least floor area per regular occupant, in m²."
    )
    group_rental_min_occupants: int = Field(
        default=5, ge=2, description="Fewest regular occupants before a house can be crowded."
    )
    group_rental_min_days: int = Field(
        default=7,
        ge=1,
        description="Days (of the window) someone passes a house's own door to be a regular "
        "occupant.",
    )
    group_rental_window_days: int = Field(
        default=14, ge=1, description="Window of the group-rental model, in days."
    )
    zombie_absent_days: int = Field(
        default=7, ge=1, description="Days a vehicle stays in after entering, without passage."
    )
    zombie_commercial_absent_days: int = Field(
        default=30,
        ge=1,
        description="Days a van or truck (deliveries, trades) stays in after entering, without "
        "passage: such vehicles come and go many times a day, so an exit the gate did not read "
        "is far likelier than one left for good.",
    )
    muck_allowed_from_hour: int = Field(
        default=22, ge=0, le=23, description="Local hour from which muck trucks may enter."
    )
    muck_allowed_until_hour: int = Field(
        default=5, ge=0, le=23, description="Local hour until which muck trucks may enter."
    )
    casing_min_units: int = Field(
        default=5, ge=2, description="Distinct unit doors a non-resident enters within the window."
    )
    casing_window_minutes: int = Field(
        default=30, ge=1, description="Window of the unit-door casing rule, in minutes."
    )
    casing_min_communities: int = Field(
        default=3, ge=2, description="Communities an unknown face enters in one local day."
    )
    # 72 h, not 48: a retiree who stays in one whole day, came home in the morning and goes
    # out the next afternoon is unseen for 50+ hours on an ordinary week (measured in the
    # simulator's 5-seed evaluation, docs/models.md §7); a person taken ill at home is still
    # found on the third day.
    welfare_silent_hours: float = Field(
        default=72,
        gt=0,
        description="Hours an opted-in resident, last seen coming home, may pass unseen.",
    )


class BatchSettings(BaseModel):
    """Where the batch models' named queries run (docs/deploy-scaled.md)."""

    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description="Engine of the batch models' queries: \"duckdb\" (the event store's own) "
        'or "spark" (Apache Spark over the Parquet store; needs store.type = "parquet", the '
        "`spark` extra and Java 17).",
    )
    spark_master: str = Field(
        default="local[2]",
        description='Spark master the batch engine connects to: "local[N]" runs Spark inside '
        'the worker process, "spark://host:7077" a standalone cluster.',
    )
