"""Settings of the assessment: the indicators, their weights and targets (docs/assessment.md)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Better(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


class IndicatorSetting(BaseModel):
    """One indicator: a figure of the metrics layer, its weight and its target."""

    metric: str = Field(max_length=64, description="A figure of docs/statistics.md.")
    weight: float = Field(ge=0, le=100, description="Share of the total score.")
    target: float = Field(ge=0, le=100_000, description="The value that earns full marks.")
    better: Better = Field(description="Whether a higher or a lower value is better.")


# The indicators. Handling on time is 100 − overdue rate; sign time is the median
# minutes to sign; registry tasks and satisfaction are figures of docs/statistics.md.
DEFAULT_INDICATORS: dict[str, dict[str, object]] = {
    "sign_time": {"metric": "median_sign_minutes", "weight": 25, "target": 5, "better": "lower"},
    "on_time_handling": {"metric": "on_time_rate", "weight": 30, "target": 95, "better": "higher"},
    "online_rate": {"metric": "device_online_rate", "weight": 25, "target": 98, "better": "higher"},
    "false_alarm_rate": {
        "metric": "false_alarm_rate",
        "weight": 20,
        "target": 10,
        "better": "lower",
    },
    "data_reporting": {
        "metric": "data_reporting_rate",
        "weight": 10,
        "target": 95,
        "better": "higher",
    },
    "registry_tasks": {
        "metric": "registry_tasks_completed",
        "weight": 10,
        "target": 90,
        "better": "higher",
    },
    "resident_satisfaction": {
        "metric": "resident_satisfaction",
        "weight": 10,
        "target": 90,
        "better": "higher",
    },
}


class AssessmentSettings(BaseModel):
    """The indicators units are scored on, until an authorised user edits them on the
    assessment page (edits are kept in the database and audited)."""

    indicators: dict[str, IndicatorSetting] = Field(
        default=DEFAULT_INDICATORS,
        validate_default=True,
        description="Indicator name -> {metric, weight, target, better}: the defaults of the "
        "assessment page. Metrics: those of docs/statistics.md, and `on_time_rate` "
        "(100 − overdue_rate).",
    )
