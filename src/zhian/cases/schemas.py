"""Case schemas: what a case states when entered or imported, and how it reads back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class CaseStatus(StrEnum):
    REPORTED = "reported"  # 已受理
    INVESTIGATING = "investigating"  # 已立案 / 侦查中
    CLOSED = "closed"  # 已结案


STATUS_NAMES_ZH = {
    CaseStatus.REPORTED: "已受理",
    CaseStatus.INVESTIGATING: "侦查中",
    CaseStatus.CLOSED: "已结案",
}


class CaseCreate(BaseModel):
    """A new case. The place is coordinates (WGS84, converted already) and/or a house or
    building of the registry (whose position is used when no coordinates are given).
    `offender_ref` is the offender's identifier in the clear, for solved cases only: the
    service keeps its keyed token and drops the clear value."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[\w\-./]+$")
    category: str = Field(min_length=1, max_length=64)
    time_from: datetime
    time_to: datetime | None = None
    address: str | None = Field(default=None, max_length=500)
    house_id: str | None = Field(default=None, max_length=64)
    building_id: str | None = Field(default=None, max_length=64)
    jurisdiction_id: str | None = Field(default=None, max_length=64)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    mo: dict[str, list[str]] = Field(default_factory=dict)
    status: CaseStatus = CaseStatus.REPORTED
    is_solved: bool = False
    offender_ref: str | None = Field(default=None, min_length=1, max_length=128)

    @field_validator("time_from", "time_to")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the time with its offset, e.g. 2026-03-01T08:00+08:00")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CaseCreate:
        if self.time_to is not None and self.time_to < self.time_from:
            raise ValueError("time_to lies before time_from")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        if (self.latitude is None and self.house_id is None and self.building_id is None
                and not self.address):  # fmt: skip
            raise ValueError(
                "a case needs a place: coordinates, a house_id, a building_id or an address "
                "naming a building of the registry"
            )
        if self.offender_ref is not None and not self.is_solved:
            raise ValueError("only a solved case names an offender")
        return self


class CaseUpdate(BaseModel):
    """Changes to a case: only the fields given change."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    category: str | None = Field(default=None, min_length=1, max_length=64)
    time_from: datetime | None = None
    time_to: datetime | None = None
    address: str | None = Field(default=None, max_length=500)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    mo: dict[str, list[str]] | None = None
    status: CaseStatus | None = None
    is_solved: bool | None = None
    offender_ref: str | None = Field(default=None, min_length=1, max_length=128)

    @field_validator("time_from", "time_to")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the time with its offset, e.g. 2026-03-01T08:00+08:00")
        return value


class CaseFromAlert(BaseModel):
    """A confirmed alert becoming a case: its category, and optionally its own number."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    category: str = Field(min_length=1, max_length=64)
    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[\w\-./]+$")
    address: str | None = Field(default=None, max_length=500)


class CaseRead(BaseModel):
    """A case as pages and the API show it (the offender only as whether one is known)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: str
    category: str
    time_from: datetime
    time_to: datetime
    time_of_day: str
    address: str | None
    house_id: str | None
    building_id: str | None
    community_id: str | None
    jurisdiction_id: str
    latitude: float
    longitude: float
    mo: dict[str, list[str]]
    status: CaseStatus
    is_solved: bool
    has_offender: bool
    alert_id: int | None
    source: str
    created_at: datetime
    updated_at: datetime


class LinkReason(BaseModel):
    """One reason beside a candidate link: a feature, its value in words, and its share of
    the log-odds (positive: speaks for a link)."""

    model_config = ConfigDict(frozen=True)

    feature: str
    value: str
    weight: float


class CandidateLink(BaseModel):
    """Another case that may be by the same offender, with the model's probability."""

    model_config = ConfigDict(frozen=True)

    case: CaseRead
    probability: float
    distance_m: float
    time_gap_days: float
    reasons: list[LinkReason]
    decision: str | None  # "accepted", "rejected" or None (not decided)
    model_version: int | None


class LinkDecision(BaseModel):
    """An analyst's decision on a candidate link."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    accept: bool
    note: str = Field(default="", max_length=1000)


class LinkRead(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    case_a: str
    case_b: str
    is_accepted: bool
    probability: float | None
    model_version: int | None
    note: str
    decided_by: int
    decided_at: datetime


class ModelVersionRead(BaseModel):
    """A linkage model version with its held-out evaluation."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    created_at: datetime
    created_by: int | None
    reason: str
    labelled_cases: int
    train_cases: int
    test_cases: int
    train_pairs: int
    test_pairs: int
    auc: float | None
    auc_distance: float | None
    auc_time: float | None
    auc_distance_time: float | None
    brier: float | None
    is_active: bool


class VersionScoreRead(BaseModel):
    """One version in a comparison: its figures from when it was trained, and now."""

    model_config = ConfigDict(frozen=True)

    id: int
    created_at: datetime
    is_active: bool
    labelled_cases: int
    auc_when_trained: float | None
    auc: float | None  # on the comparison's test pairs
    brier: float | None


class LinkageComparisonRead(BaseModel):
    """Versions scored on the same pairs: the later 30 % (by time) of today's solved
    cases, so a version trained on fewer cases is judged on the same cases as the newest."""

    model_config = ConfigDict(frozen=True)

    test_cases: int
    test_pairs: int
    test_linked_pairs: int
    versions: list[VersionScoreRead]
