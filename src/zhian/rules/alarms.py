"""Alarms (smoke, fire, gas, intrusion, perimeter, SOS, tamper, forced door …): alerts by
kind and level."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from zhian.alerts.drafts import AlertDraft, RuleOutput, Tier
from zhian.ingest.events import AlarmEvent, Event
from zhian.rules.base import ref
from zhian.rules.device_text import alarm_detail_zh
from zhian.rules.directory import PlaceDirectory
from zhian.rules.settings import RuleSettings

ALARM_RULE = "alarm"
ALARM_NAMES: dict[str, tuple[str, str]] = {
    "smoke": ("烟感报警", "smoke alarm"),
    "fire": ("火灾报警", "fire alarm"),
    "gas": ("燃气泄漏报警", "gas leak alarm"),
    "intrusion": ("入侵报警", "intrusion alarm"),
    "perimeter": ("周界报警", "perimeter alarm"),
    "sos": ("一键求助报警", "SOS alarm"),
    "tamper": ("设备防拆报警", "tamper alarm"),
    "water_leak": ("漏水报警", "water leak alarm"),
    "door_forced": ("门被强行打开", "door forced open"),
    "door_held_open": ("门长时间未关", "door held open"),
    "other": ("设备报警", "device alarm"),
}


@dataclass(frozen=True)
class AlarmConfig:
    """Tier by alarm kind; `levels` raises a kind to the next tier from that level on."""

    tiers: dict[str, Tier]
    raise_from_level: dict[str, int]

    @classmethod
    def from_settings(cls, settings: RuleSettings) -> AlarmConfig:
        # Fire and SOS are always major (the field's practice); a smoke or gas alarm of
        # level 3+ (confirmed by the sensor's own second stage) is major too.
        return cls(
            tiers={
                "fire": "major",
                "sos": "major",
                "gas": "general",
                "smoke": "general",
                "intrusion": "general",
                "perimeter": "general",
                "tamper": "minor",
                "water_leak": "minor",
                # A forced door is an attempted break-in: the area officer on site, as an
                # intrusion; a door left open is for the property staff to close.
                "door_forced": "general",
                "door_held_open": "minor",
                "other": "minor",
            },
            raise_from_level={
                "smoke": 3,
                "gas": 3,
                "intrusion": 4,
                "perimeter": 4,
                "door_forced": 4,
            },
        )

    def tier(self, kind: str, level: int) -> Tier:
        tier = self.tiers.get(kind, "minor")
        threshold = self.raise_from_level.get(kind)
        if threshold is not None and level >= threshold:
            return "major" if tier == "general" else "general"
        return tier


class AlarmRule:
    """One alert per device and alarm kind while open; repeats raise its count."""

    # The engine hands this rule only these event types (see rules_by_event_type).
    event_types: ClassVar[frozenset[type]] = frozenset({AlarmEvent})

    key: ClassVar[str] = ALARM_RULE

    def __init__(self, config: AlarmConfig) -> None:
        self.config = config
        self.directory = PlaceDirectory({})

    def set_directory(self, directory: PlaceDirectory) -> None:
        self.directory = directory

    def on_event(self, event: Event, received_at: datetime) -> RuleOutput | None:
        if not isinstance(event, AlarmEvent):
            return None
        place = self.directory.get(event.device_id)
        name_zh, name_en = ALARM_NAMES.get(event.kind, ALARM_NAMES["other"])
        where = place.name if place is not None else event.device_id
        detail = f"：{alarm_detail_zh(event.detail)}" if event.detail else ""
        draft = AlertDraft(
            rule=ALARM_RULE,
            kind=f"alarm_{event.kind}",
            tier=self.config.tier(event.kind, event.level),
            subject=f"{event.device_id}:{event.kind}",
            place_id=place.building_place_id if place is not None else event.device_id,
            observed_at=event.time,
            explanation_zh=f"{where}{name_zh}（{event.level}级）{detail}",
            explanation_en=f"{name_en} (level {event.level}) at {event.device_id}"
            + (f": {event.detail}" if event.detail else ""),
            device_id=event.device_id,
            community_id=None if place is None else place.community_id,
            place_name=None if place is None else place.name,
            events=(ref(event),),
            figures={"level": event.level, "alarm_kind": event.kind},
        )
        return RuleOutput(drafts=[draft])

    def evaluate(self, now: datetime) -> RuleOutput | None:
        return None
