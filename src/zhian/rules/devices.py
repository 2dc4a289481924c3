"""Device health: offline (silent too long) and fault (heartbeat says so), and the online rate."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from zhian.alerts.drafts import AlertClear, AlertDraft, OnlineSample, RuleOutput
from zhian.ingest.events import Event, HeartbeatEvent
from zhian.rules.base import ref
from zhian.rules.device_text import fault_name
from zhian.rules.directory import COVERAGE, DevicePlace, PlaceDirectory
from zhian.rules.settings import RuleSettings

OFFLINE_RULE = "device_offline"
FAULT_RULE = "device_fault"


@dataclass(frozen=True)
class DeviceHealthConfig:
    offline_seconds: int
    offline_seconds_by_kind: dict[str, int]
    sample_seconds: int
    recovery_seconds: int = 0

    @classmethod
    def from_settings(cls, settings: RuleSettings) -> DeviceHealthConfig:
        return cls(
            offline_seconds=settings.offline_seconds,
            offline_seconds_by_kind=dict(settings.offline_seconds_by_kind),
            sample_seconds=settings.online_sample_seconds,
            recovery_seconds=settings.offline_recovery_seconds,
        )

    def period(self, kind: str) -> timedelta:
        return timedelta(seconds=self.offline_seconds_by_kind.get(kind, self.offline_seconds))


class DeviceHealthRule:
    """Raises device_offline when a device is silent longer than its kind's period and
    device_fault on a `fault` heartbeat; clears each when the device reports fine again.

    Silence is the time since the device's last event *arrived*, on the engine's stream
    time (see `RuleEngine`). Every device starts as last seen when the rule first
    evaluates, which gives a full period of grace after a restart.

    A device back from an outage must keep reporting for `recovery_seconds` before its
    alert clears: a link that drops again within it stays one open alert (flapping), not
    an alert and a clear per drop.
    """

    key: ClassVar[str] = "device_health"

    def __init__(self, config: DeviceHealthConfig) -> None:
        self.config = config
        self.directory = PlaceDirectory({})
        self.last_seen: dict[str, datetime] = {}
        self.offline: set[str] = set()
        # Offline devices reporting again: when they came back (arrival) and the event's time.
        self.returned: dict[str, tuple[datetime, datetime]] = {}
        self.faulty: set[str] = set()
        self._next_sample: datetime | None = None

    def set_directory(self, directory: PlaceDirectory) -> None:
        self.directory = directory

    def on_event(self, event: Event, received_at: datetime) -> RuleOutput | None:
        device_id = event.device_id
        # Arrival, not the device's own clock: a late batch (a ferry package, a gateway's
        # backlog) still proves the link is up, and a skewed device clock cannot hide it.
        previous = self.last_seen.get(device_id)
        if previous is None or received_at > previous:
            self.last_seen[device_id] = received_at
        out: RuleOutput | None = None
        if device_id in self.offline and device_id not in self.returned:
            if self.config.recovery_seconds > 0:
                self.returned[device_id] = (received_at, event.time)
            else:
                out = RuleOutput()
                out.clears.append(self._back(device_id, event.time))
        if isinstance(event, HeartbeatEvent):
            if event.status == "fault" and device_id not in self.faulty:
                place = self.directory.get(device_id)
                if place is not None and place.is_enabled:
                    self.faulty.add(device_id)
                    out = out or RuleOutput()
                    out.drafts.append(self._fault(place, event))
            elif event.status == "ok" and device_id in self.faulty:
                self.faulty.discard(device_id)
                out = out or RuleOutput()
                out.clears.append(
                    self._clear(FAULT_RULE, device_id, event.time, "故障已恢复", "fault cleared")
                )
        return out

    def evaluate(self, now: datetime) -> RuleOutput | None:
        out = RuleOutput()
        self._settle_returns(now, out)
        for device_id, place in self.directory.devices.items():
            if not place.is_enabled or device_id in self.offline:
                continue
            seen = self.last_seen.setdefault(device_id, now)
            silent = now - seen
            if silent > self.config.period(place.kind):
                self.offline.add(device_id)
                out.drafts.append(self._offline(place, seen, silent))
        if self._next_sample is None or now >= self._next_sample:
            out.samples.extend(self.samples(now))
            step = timedelta(seconds=self.config.sample_seconds)
            self._next_sample = now + step
        return out or None

    def _settle_returns(self, now: datetime, out: RuleOutput) -> None:
        """Clear the devices that still report a recovery time after they came back; a
        device silent again past its period before that is still offline, under the same
        alert (its next report starts the recovery time again)."""
        recovery = timedelta(seconds=self.config.recovery_seconds)
        for device_id, (back_at, back_time) in list(self.returned.items()):
            place = self.directory.get(device_id)
            period = self.config.period(place.kind) if place is not None else recovery
            seen = self.last_seen.get(device_id, back_at)
            if now - seen > period:
                del self.returned[device_id]  # dropped again: the open alert holds it
            elif seen - back_at >= recovery:  # still reporting a recovery time after
                del self.returned[device_id]
                self.offline.discard(device_id)
                out.clears.append(self._back(device_id, back_time))

    def _back(self, device_id: str, at: datetime) -> AlertClear:
        self.offline.discard(device_id)
        return self._clear(OFFLINE_RULE, device_id, at, "设备恢复上报", "device reports again")

    def samples(self, now: datetime) -> list[OnlineSample]:
        """Online devices per community and kind now (a faulty device still reports: online)."""
        total: dict[tuple[str, str], int] = defaultdict(int)
        online: dict[tuple[str, str], int] = defaultdict(int)
        for device_id, place in self.directory.devices.items():
            if not place.is_enabled or place.community_id is None:
                continue
            key = (place.community_id, place.kind)
            total[key] += 1
            if device_id not in self.offline or device_id in self.returned:
                online[key] += 1
        return [
            OnlineSample(
                sampled_at=now, community_id=c, device_kind=k, total=n, online=online[(c, k)]
            )
            for (c, k), n in sorted(total.items())
        ]

    def _offline(self, place: DevicePlace, seen: datetime, silent: timedelta) -> AlertDraft:
        coverage_zh, coverage_en = COVERAGE.get(place.kind, ("无覆盖", "has no coverage"))
        minutes = int(silent.total_seconds() // 60)
        return AlertDraft(
            rule=OFFLINE_RULE,
            kind="device_offline",
            tier="minor",
            subject=place.id,
            place_id=place.place_id,
            observed_at=seen + silent,
            explanation_zh=f"{place.name}离线：{place.location_zh}{coverage_zh}（已{minutes}分钟无上报）",
            explanation_en=(
                f"{place.kind_en} {place.id} offline: {place.location_zh} {coverage_en} "
                f"(silent for {minutes} min)"
            ),
            device_id=place.id,
            community_id=place.community_id,
            place_name=place.name,
            figures={"silent_minutes": minutes, "last_seen_at": seen.isoformat()},
        )

    def _fault(self, place: DevicePlace, event: HeartbeatEvent) -> AlertDraft:
        code = event.fault_code or "unknown"
        coverage_zh, _ = COVERAGE.get(place.kind, ("覆盖受影响", "coverage affected"))
        return AlertDraft(
            rule=FAULT_RULE,
            kind="device_fault",
            tier="minor",
            subject=place.id,
            place_id=place.place_id,
            observed_at=event.time,
            explanation_zh=f"{place.name}故障（{fault_name(code)}）：{place.location_zh}可能"
            f"{coverage_zh}",
            explanation_en=f"{place.kind_en} {place.id} reports fault {code}: coverage at "
            f"{place.location_zh} at risk",
            device_id=place.id,
            community_id=place.community_id,
            place_name=place.name,
            events=(ref(event),),
            figures={"fault_code": code},
        )

    def _clear(self, rule: str, device_id: str, at: datetime, zh: str, en: str) -> AlertClear:
        place = self.directory.get(device_id)
        place_id = place.place_id if place is not None else device_id
        return AlertClear(
            rule=rule, subject=device_id, place_id=place_id, observed_at=at, note_zh=zh, note_en=en
        )
