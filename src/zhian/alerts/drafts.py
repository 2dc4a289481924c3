"""What rules and models hand to the alert service: drafts and clears, not how to handle them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Tier = Literal["minor", "general", "major"]
TIER_ORDER: dict[str, int] = {"minor": 0, "general": 1, "major": 2}


@dataclass(frozen=True, slots=True)
class EventRef:
    """A pointer to an event in the log/event store that supports an alert."""

    id: str
    type: str
    device_id: str
    time: datetime


@dataclass(frozen=True, slots=True)
class Candidate:
    """A watchlist candidate of a hit, with its similarity score (1.0 for exact)."""

    entry_id: int
    label: str
    score: float


@dataclass(frozen=True, slots=True)
class AlertDraft:
    """A warning a rule or model wants raised, with its evidence.

    `(rule, subject, place_id)` identifies it: while an alert with that key is open, a new
    draft updates its count and evidence instead of opening another.

    `raised_at` is set only for history replayed after the fact (the demo's replayed days):
    the moment the rule would have raised it live, which the alert then opens at (its SLA
    deadlines count from it). None, the live default: the alert opens when it is raised.
    """

    rule: str
    kind: str
    tier: Tier
    subject: str
    place_id: str
    observed_at: datetime
    explanation_zh: str
    explanation_en: str
    device_id: str | None = None
    community_id: str | None = None
    place_name: str | None = None
    events: tuple[EventRef, ...] = ()
    images: tuple[str, ...] = ()
    figures: dict[str, float | int | str] = field(default_factory=dict)
    candidates: tuple[Candidate, ...] = ()
    raised_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.rule}|{self.subject}|{self.place_id}"


@dataclass(frozen=True, slots=True)
class AlertClear:
    """The condition behind an open alert ended by itself (a device came back).

    `cleared_at` is set only for history replayed after the fact, as a draft's `raised_at`:
    the moment the rule ended it, which the close is stamped at. The node's clock is then
    where the replay has reached, ahead of the rules reading it. None, the live default:
    the alert closes when the clear is applied.
    """

    rule: str
    subject: str
    place_id: str
    observed_at: datetime
    note_zh: str
    note_en: str
    cleared_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.rule}|{self.subject}|{self.place_id}"


@dataclass(frozen=True, slots=True)
class OnlineSample:
    """Devices reporting at one moment, for one community and device kind."""

    sampled_at: datetime
    community_id: str
    device_kind: str
    total: int
    online: int


@dataclass(slots=True)
class RuleOutput:
    """Everything one rule step produced."""

    drafts: list[AlertDraft] = field(default_factory=list)
    clears: list[AlertClear] = field(default_factory=list)
    samples: list[OnlineSample] = field(default_factory=list)

    def extend(self, other: RuleOutput) -> None:
        self.drafts.extend(other.drafts)
        self.clears.extend(other.clears)
        self.samples.extend(other.samples)

    def __bool__(self) -> bool:
        return bool(self.drafts or self.clears or self.samples)
