"""Access patterns at one door: repeated denied reads, and tailgating (denied, then someone
else let in)."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from zhian.alerts.drafts import AlertDraft, RuleOutput
from zhian.ingest.events import AccessEvent, Event
from zhian.rules.base import ref
from zhian.rules.directory import PlaceDirectory
from zhian.rules.settings import RuleSettings

DENIED_RULE = "denied_access"
TAILGATING_RULE = "tailgating"


@dataclass(frozen=True)
class AccessConfig:
    denied_count: int
    denied_window: timedelta
    tailgating_window: timedelta

    @classmethod
    def from_settings(cls, settings: RuleSettings) -> AccessConfig:
        return cls(
            denied_count=settings.denied_count,
            denied_window=timedelta(seconds=settings.denied_window_seconds),
            tailgating_window=timedelta(seconds=settings.tailgating_seconds),
        )


class AccessPatternRule:
    """N denied reads at one door within T: a forced-entry attempt (general).
    A denied read of one subject, then a granted read of another subject at the same door
    within seconds, and the refused subject not let in on a retry within that window: a
    tailgating attempt (minor), raised once the window has passed."""

    # The engine hands this rule only these event types (see rules_by_event_type).
    event_types: ClassVar[frozenset[type]] = frozenset({AccessEvent})

    key: ClassVar[str] = "access_patterns"

    def __init__(self, config: AccessConfig) -> None:
        self.config = config
        self.directory = PlaceDirectory({})
        self.denied: dict[str, deque[AccessEvent]] = defaultdict(deque)
        # (granted read, denied read) awaiting the end of the denied subject's retry window
        self.pending: list[tuple[AccessEvent, AccessEvent]] = []

    def set_directory(self, directory: PlaceDirectory) -> None:
        self.directory = directory

    def on_event(self, event: Event, received_at: datetime) -> RuleOutput | None:
        if not isinstance(event, AccessEvent) or event.direction != "in":
            return None
        out = self._due(event.time)
        recent = self.denied[event.device_id]
        horizon = event.time - max(self.config.denied_window, self.config.tailgating_window)
        while recent and recent[0].time < horizon:
            recent.popleft()
        if event.result == "denied":
            recent.append(event)
            window = [e for e in recent if e.time >= event.time - self.config.denied_window]
            if len(window) >= self.config.denied_count:
                out = out or RuleOutput()
                out.drafts.append(self._denied(event, window))
            return out
        # The refused subject let in on a retry: a resident's misread, not a tailgater.
        self.pending = [
            p
            for p in self.pending
            if not (p[1].device_id == event.device_id and p[1].subject == event.subject)
        ]
        for denied in [e for e in recent if e.subject == event.subject]:
            recent.remove(denied)
        tailgaters = [
            e
            for e in recent
            if e.subject != event.subject and event.time - e.time <= self.config.tailgating_window
        ]
        if tailgaters:
            for e in tailgaters:
                recent.remove(e)
            # Decided only once the refused subject had its window to retry.
            self.pending.append((event, tailgaters[-1]))
        return out

    def evaluate(self, now: datetime) -> RuleOutput | None:
        return self._due(now)

    def _due(self, now: datetime) -> RuleOutput | None:
        if not self.pending:
            return None
        window = self.config.tailgating_window
        ready = [p for p in self.pending if p[1].time + window < now]
        if not ready:
            return None
        self.pending = [p for p in self.pending if p[1].time + window >= now]
        return RuleOutput(drafts=[self._tailgating(granted, denied) for granted, denied in ready])

    def _where(self, device_id: str) -> tuple[str, str, str | None, str | None]:
        place = self.directory.get(device_id)
        if place is None:
            return device_id, device_id, None, None
        return place.name, place.place_id, place.community_id, place.name

    def _denied(self, event: AccessEvent, window: list[AccessEvent]) -> AlertDraft:
        name, place_id, community_id, place_name = self._where(event.device_id)
        minutes = int(self.config.denied_window.total_seconds() // 60)
        return AlertDraft(
            rule=DENIED_RULE,
            kind="denied_access",
            tier="general",
            subject=event.device_id,
            place_id=place_id,
            observed_at=event.time,
            explanation_zh=f"{name}{minutes}分钟内{len(window)}次刷卡被拒：疑似强行进入",
            explanation_en=(
                f"{len(window)} denied reads in {minutes} min at door {event.device_id}: "
                "possible forced entry"
            ),
            device_id=event.device_id,
            community_id=community_id,
            place_name=place_name,
            events=tuple(ref(e) for e in window),
            figures={"denied_reads": len(window)},
        )

    def _tailgating(self, granted: AccessEvent, denied: AccessEvent) -> AlertDraft:
        name, place_id, community_id, place_name = self._where(granted.device_id)
        seconds = int((granted.time - denied.time).total_seconds())
        return AlertDraft(
            rule=TAILGATING_RULE,
            kind="tailgating",
            tier="minor",
            subject=granted.device_id,
            place_id=place_id,
            observed_at=granted.time,
            explanation_zh=f"{name}被拒后{seconds}秒他人刷卡开门：疑似尾随进入",
            explanation_en=(
                f"door {granted.device_id} opened for another person {seconds} s after a "
                "denied read: possible tailgating"
            ),
            device_id=granted.device_id,
            community_id=community_id,
            place_name=place_name,
            events=(ref(denied), ref(granted)),
            figures={"seconds_after_denied": seconds},
        )
