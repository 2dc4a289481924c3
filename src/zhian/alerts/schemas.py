"""Pydantic read and filter schemas of the alert loop (docs/dev/alerts-api.md)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field


class AlertState(StrEnum):
    NEW = "new"
    SIGNED = "signed"
    DISPATCHED = "dispatched"
    ON_SITE = "on_site"
    HANDLED = "handled"
    CLOSED = "closed"


class Outcome(StrEnum):
    RESOLVED = "resolved"
    FALSE_ALARM = "false_alarm"
    DUPLICATE = "duplicate"


class Tier(StrEnum):
    MINOR = "minor"
    GENERAL = "general"
    MAJOR = "major"


# A tier's alerts are owned by one role (`zhian.alerts.service.TIER_ROLES`); a minor one,
# the grid worker's, is the property staff's too ("minor → grid worker and property"):
# it is among their to-dos and pushed to their phones, as it is the grid worker's.
_SHARES_ALERTS_OF: dict[str, tuple[str, ...]] = {"property_security": ("grid_worker",)}


def owner_roles_of(role: str) -> tuple[str, ...]:
    """The owner roles whose alerts a user of `role` must act on: their own, and for
    property staff the grid worker's."""
    return (role, *_SHARES_ALERTS_OF.get(role, ()))


STATE_NAMES_ZH = {
    AlertState.NEW: "待签收",
    AlertState.SIGNED: "已签收",
    AlertState.DISPATCHED: "已派警",
    AlertState.ON_SITE: "已到场",
    AlertState.HANDLED: "已处置",
    AlertState.CLOSED: "已结项",
}
STATE_NAMES_EN = {
    AlertState.NEW: "New",
    AlertState.SIGNED: "Signed",
    AlertState.DISPATCHED: "Dispatched",
    AlertState.ON_SITE: "On site",
    AlertState.HANDLED: "Handled",
    AlertState.CLOSED: "Closed",
}
OUTCOME_NAMES_ZH = {
    Outcome.RESOLVED: "已解决",
    Outcome.FALSE_ALARM: "误报",
    Outcome.DUPLICATE: "重复",
}
OUTCOME_NAMES_EN = {
    Outcome.RESOLVED: "Resolved",
    Outcome.FALSE_ALARM: "False alarm",
    Outcome.DUPLICATE: "Duplicate",
}
TIER_NAMES_ZH = {Tier.MINOR: "一般", Tier.GENERAL: "较大", Tier.MAJOR: "重大"}
TIER_NAMES_EN = {Tier.MINOR: "Minor", Tier.GENERAL: "General", Tier.MAJOR: "Major"}

_FROZEN = ConfigDict(frozen=True)


class AlertFilter(BaseModel):
    """Filters of the alert wall; every field is optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tier: Tier | None = None
    state: AlertState | None = None
    kind: str | None = None
    place: str | None = Field(default=None, description="place_id, community_id or device_id")
    jurisdiction_id: str | None = Field(default=None, description="this jurisdiction and below")
    since: datetime | None = None
    until: datetime | None = None
    is_open: bool | None = None
    is_breached: bool | None = None


class DeadlineRead(BaseModel):
    model_config = _FROZEN

    milestone: str
    due_at: datetime
    met_at: datetime | None
    warned_at: datetime | None
    breached_at: datetime | None


class EventRefRead(BaseModel):
    model_config = _FROZEN

    id: str
    type: str
    device_id: str
    time: datetime


class CandidateRead(BaseModel):
    model_config = _FROZEN

    entry_id: int
    label: str
    score: float


class EvidenceRead(BaseModel):
    model_config = _FROZEN

    events: list[EventRefRead]
    images: list[str]
    figures: dict[str, float | int | str]
    candidates: list[CandidateRead]
    explanation_zh: str
    explanation_en: str


class ActionRead(BaseModel):
    model_config = _FROZEN

    id: int
    action: str
    from_state: AlertState | None
    to_state: AlertState | None
    user_id: int | None
    ip: str | None
    note: str
    at: datetime
    data: dict[str, Any]


class StepRead(BaseModel):
    model_config = _FROZEN

    key: str
    text_zh: str
    text_en: str
    role: str | None  # who takes the step; None: whoever handles the alert
    status: Literal["pending", "ticked", "skipped"]
    reason: str
    user_id: int | None
    at: datetime | None


class AlertSummary(BaseModel):
    """A row of the alert wall, and the alert inside live-feed messages."""

    model_config = _FROZEN

    id: int
    kind: str
    rule: str
    tier: Tier
    state: AlertState
    outcome: Outcome | None
    title_zh: str
    title_en: str
    device_id: str | None
    place_id: str | None
    place_name: str | None
    community_id: str | None
    jurisdiction_id: str | None
    owner_role: str
    escalated_to_jurisdiction_id: str | None
    count: int
    incident_id: int | None
    is_breached: bool
    next_deadline: DeadlineRead | None
    created_at: datetime
    last_seen_at: datetime
    closed_at: datetime | None


class AlertDetail(AlertSummary):
    """An alert with its evidence, history, clocks, checklist and the actions valid now."""

    evidence: EvidenceRead
    timeline: list[ActionRead]
    deadlines: list[DeadlineRead]
    procedure: list[StepRead]
    actions: list[str]
    feedback: str | None
    attachments: list[str]
    signed_at: datetime | None
    signed_by: int | None
    dispatched_at: datetime | None
    assignee_id: int | None
    on_site_at: datetime | None
    handled_at: datetime | None
    closed_by: int | None


class AlertPage(BaseModel):
    model_config = _FROZEN

    items: list[AlertSummary]
    total: int
    page: int
    per_page: int


class TodoItem(BaseModel):
    model_config = _FROZEN

    alert: AlertSummary
    action: str
    due_at: datetime | None


class TodayCounts(BaseModel):
    model_config = _FROZEN

    new_today: int
    open_now: int
    breached_open: int


class DaySeries(BaseModel):
    model_config = _FROZEN

    day: date
    handled: int
    open: int
    false_alarm: int


class KpiReport(BaseModel):
    model_config = _FROZEN

    jurisdiction_id: str | None
    since: datetime
    until: datetime
    alerts_by_tier: dict[Tier, int]
    median_sign_seconds: float | None
    median_close_seconds: float | None
    deadline_compliance_pct: float | None
    false_alarm_rate_by_rule: dict[str, float]
    device_online_rate_pct: float | None


class OnlineRatePoint(BaseModel):
    model_config = _FROZEN

    sampled_at: datetime
    community_id: str
    device_kind: str
    total: int
    online: int
    rate_pct: float


class LiveMessage(BaseModel):
    """One message of the live feed (SSE: `event: <type>`, `data: <json>`)."""

    model_config = _FROZEN

    type: str
    at: datetime
    alert: AlertSummary | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class AlertFinding(NamedTuple):
    """What a rule or model found: its name, subject and place (the alert's key)."""

    rule: str
    subject: str
    place_id: str
    community_id: str | None


class AlertHistoryEntry(BaseModel):
    """One step of an alert's history with where the alert belongs: what a node tells its
    parent (zhian.cascade). No subject and no evidence: they may hold personal data."""

    model_config = _FROZEN

    action_id: int
    alert_id: int
    action: str
    from_state: str | None
    to_state: str | None
    at: datetime
    rule: str
    kind: str
    tier: str
    title_zh: str
    title_en: str
    community_id: str | None
    jurisdiction_id: str | None
    device_id: str | None
    # A watchlist hit's entry (the alert's subject `entry:<id>`): the parent maps it to the
    # order it sent down and raises the hit there too.
    watchlist_entry_id: int | None = None


class OnlineSampleRead(BaseModel):
    """One device online sample (per community and device kind), with its id."""

    model_config = _FROZEN

    id: int
    sampled_at: datetime
    community_id: str
    device_kind: str
    total: int
    online: int
