"""What the resident sends and sees, and what triage reads (Pydantic)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class TipStatus(StrEnum):
    PENDING = "pending"  # in the moderation queue
    ACCEPTED = "accepted"  # an alert handles it
    CLOSED = "closed"  # closed at triage with a reason for the resident


class ResidentStage(StrEnum):
    """Where a tip stands, in the resident's words (the status page)."""

    RECEIVED = "received"  # waiting for triage
    HANDLING = "handling"  # an alert is open for it
    HANDLED = "handled"  # its alert was closed
    CLOSED = "closed"  # closed at triage, with a reason


class TipSubmission(BaseModel):
    """A tip as typed by the resident (the photos travel beside it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: str = Field(min_length=1, max_length=32)
    description: str = Field(min_length=1)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    contact: str = Field(default="", max_length=40)


class TipReceipt(BaseModel):
    """What the resident keeps: the follow-up code, and whether the tip looked like a
    duplicate of one already received (it is still kept and triaged)."""

    code: str
    is_duplicate: bool


class TipPublicStatus(BaseModel):
    """The status page: nothing but what the resident sent and what came of it."""

    code: str
    category: str
    description: str
    submitted_at: datetime
    stage: ResidentStage
    outcome: str | None = Field(description="the alert's outcome once closed")
    close_reason: str | None
    rating: int | None
    may_rate: bool


class TipQueueItem(BaseModel):
    """A tip as triage sees it (contact masked; the clear value is never shown here)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    category: str
    description: str
    latitude: float
    longitude: float
    building_id: str | None
    community_id: str | None
    jurisdiction_id: str | None
    photos: list[str]
    contact_masked: str | None
    status: TipStatus
    duplicate_of: int | None
    alert_id: int | None
    close_reason: str | None
    rating: int | None
    submitted_at: datetime


class Satisfaction(BaseModel):
    """Residents' ratings of handled tips (1–5) in a scope: the satisfaction figure."""

    rated: int
    mean_rating: float | None
