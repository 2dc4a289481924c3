"""Silent counting lines: a line that goes on reporting, and beating healthy, but counts
nobody (or the same number every minute, a frozen counter) while its zone's other
counters, or its own hour-of-week history, say people pass.

A blocked beam (a parked stall, a banner) leaves a line reporting zeros every minute: the
heartbeat says nothing is wrong and the offline check sees a device that reports. What
gives it away is that the zone is not empty. Each line learns, from the hours it counted,
its share of what its neighbours see: the other lines of its zone (crossings per
crossing) and the zone's occupancy camera (crossings per person-minute). A line that
reported nothing but zeros for `window_minutes` while every neighbour's share says at
least `min_expected` crossings should have been counted raises a `device_fault` alert
naming the evidence. So does a line that reported one same non-zero count every minute of
the window (a frozen counter): people crossing a line are never that regular (whatever its
mean, a Poisson count repeats a non-zero value thirty minutes running with a chance below
10⁻¹²). Where no neighbour was learnt, the line's own hour-of-week profile (two weeks or
more of its counts) is the evidence. The smallest expectation wins: a
neighbour line that counts phantom entries (a drifting line) is outvoted by a camera that
sees few people, which is how the rule keeps quiet lines at a quiet school gate.

The learnt shares and profiles live in memory: after a restart a line is judged again once
its zone has counted enough (an hour or two of a busy zone).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from zhian.alerts.drafts import AlertClear, AlertDraft, RuleOutput
from zhian.ingest.events import CrowdEvent, Event
from zhian.rules.directory import PlaceDirectory
from zhian.rules.settings import RuleSettings

SILENT_LINE_RULE = "counting_line_silent"
# The fault codes the alert's figures name: zeros, or the same count every minute.
SILENT_LINE_FAULT = "counting_line_silent"
FLAT_LINE_FAULT = "counting_line_flat"
# The evidence a silent line is judged on, as the alert's `line_evidence` figure names it.
ZONE_LINES = "zone_lines"
ZONE_CAMERA = "zone_camera"
OWN_HISTORY = "own_history"

# A share is trusted once its neighbour has counted this much (crossings or person-minutes,
# decayed): an hour of a busy street, a few of a quiet plaza.
_MIN_LEARNT = 100.0
# Per learnt hour, older hours weigh this much less (half weight after about a day).
_DECAY = 0.97
# The hour-of-week profile speaks once it has seen the hour this many times (weeks).
_PROFILE_MIN_WEEKS = 2
_PROFILE_WEIGHT = 0.3  # of the newest week in the profile's running mean
# A line that sent fewer readings than this share of the window's minutes is not judged:
# the offline check speaks for a line that does not report.
_MIN_REPORTING = 0.5
# A gap this long between a line's readings starts its run of zeros again.
_GAP = timedelta(minutes=5)


@dataclass(frozen=True)
class SilentLineConfig:
    window_minutes: int
    min_expected: float

    @classmethod
    def from_settings(cls, settings: RuleSettings) -> SilentLineConfig:
        return cls(
            window_minutes=settings.silent_line_minutes,
            min_expected=settings.silent_line_min_expected,
        )


@dataclass
class _Share:
    """What a line counted against what a neighbour saw, over the hours it counted."""

    own: float = 0.0
    seen: float = 0.0

    def add(self, own: float, seen: float) -> None:
        self.own = self.own * _DECAY + own
        self.seen = self.seen * _DECAY + seen

    def ratio(self) -> float | None:
        return self.own / self.seen if self.seen >= _MIN_LEARNT else None


@dataclass
class _Line:
    by_lines: _Share = field(default_factory=_Share)
    by_camera: _Share = field(default_factory=_Share)
    # hour of week -> (running mean of the hour's crossings, weeks seen)
    profile: dict[int, tuple[float, int]] = field(default_factory=dict)


@dataclass
class _Zone:
    # minute -> device -> crossings (lines) or people (occupancy), the last few hours
    minutes: dict[datetime, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    lines: set[str] = field(default_factory=set)
    cameras: set[str] = field(default_factory=set)
    learnt_until: datetime | None = None  # hours before this are learnt


class SilentLineRule:
    """Raises `device_fault` (rule `counting_line_silent`) for a counting line that counts
    nobody while its neighbours or its own history say people pass; clears it when the line
    counts someone again."""

    key: ClassVar[str] = SILENT_LINE_RULE
    event_types: ClassVar[frozenset[type]] = frozenset({CrowdEvent})

    def __init__(self, config: SilentLineConfig) -> None:
        self.config = config
        self.directory = PlaceDirectory({})
        self.zones: dict[str, _Zone] = {}
        self.lines: dict[str, _Line] = {}
        self.flagged: dict[str, int] = {}  # line -> the count it was flagged for
        # line -> since when it has reported one same count (zero, or frozen) without a
        # gap, that count, and its last reading's minute
        self.flat_since: dict[str, datetime] = {}
        self.flat_count: dict[str, int] = {}
        self.last_reading: dict[str, datetime] = {}
        # Readings are per minute: the engine ticks every second, the rule judges each minute.
        self._next_judgement: datetime | None = None

    def set_directory(self, directory: PlaceDirectory) -> None:
        self.directory = directory

    def on_event(self, event: Event, received_at: datetime) -> RuleOutput | None:
        if not isinstance(event, CrowdEvent):
            return None
        zone = self.zones.setdefault(event.zone_id, _Zone())
        minute = event.time.replace(second=0, microsecond=0)
        if event.count_in is not None or event.count_out is not None:
            crossings = (event.count_in or 0) + (event.count_out or 0)
            zone.lines.add(event.device_id)
            self.lines.setdefault(event.device_id, _Line())
            bucket = zone.minutes[minute]
            bucket[event.device_id] = bucket.get(event.device_id, 0) + crossings
            self._track_flat(event.device_id, minute, crossings)
            if event.device_id in self.flagged and crossings != self.flagged[event.device_id]:
                del self.flagged[event.device_id]
                return RuleOutput(clears=[self._clear(event.device_id, event.time)])
        elif event.occupancy is not None:
            zone.cameras.add(event.device_id)
            zone.minutes[minute][event.device_id] = event.occupancy
        return None

    def _track_flat(self, line: str, minute: datetime, crossings: int) -> None:
        """A run of one same count starts again at another count or after a gap."""
        previous = self.last_reading.get(line)
        gap = previous is None or minute - previous > _GAP
        if gap or crossings != self.flat_count.get(line):
            self.flat_since[line] = minute
            self.flat_count[line] = crossings
        if previous is None or minute > previous:
            self.last_reading[line] = minute

    def evaluate(self, now: datetime) -> RuleOutput | None:
        if self._next_judgement is not None and now < self._next_judgement:
            return None
        self._next_judgement = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        out = RuleOutput()
        window = timedelta(minutes=self.config.window_minutes)
        for zone in self.zones.values():
            self._learn(zone, now)
            recent = [(m, v) for m, v in zone.minutes.items() if now - window <= m < now]
            for line in sorted(zone.lines - self.flagged.keys()):
                draft = self._judge(zone, line, recent, now)
                if draft is not None:
                    self.flagged[line] = self.flat_count[line]
                    out.drafts.append(draft)
        return out or None

    def _judge(
        self,
        zone: _Zone,
        line: str,
        recent: list[tuple[datetime, dict[str, int]]],
        now: datetime,
    ) -> AlertDraft | None:
        place = self.directory.get(line)
        if place is None or not place.is_enabled:
            return None
        since = self.flat_since.get(line)
        if since is None or now - since < timedelta(minutes=self.config.window_minutes):
            return None  # its count changed, or it began reporting, within the window
        readings = [counts[line] for _, counts in recent if line in counts]
        if len(readings) < _MIN_REPORTING * self.config.window_minutes:
            return None
        state = self.lines[line]
        evidence: list[tuple[float, str]] = []
        others = zone.lines - {line}
        ratio = state.by_lines.ratio()
        if ratio is not None and others:
            seen = sum(v for _, counts in recent for d, v in counts.items() if d in others)
            evidence.append((ratio * seen, ZONE_LINES))
        ratio = state.by_camera.ratio()
        if ratio is not None and zone.cameras:
            seen = sum(v for _, counts in recent for d, v in counts.items() if d in zone.cameras)
            evidence.append((ratio * seen, ZONE_CAMERA))
        if not evidence:  # the hour of week on the devices' own clock (their offset)
            last = max(minute for minute, _ in recent)
            mean, weeks = state.profile.get(_hour_of_week(last), (0.0, 0))
            if weeks >= _PROFILE_MIN_WEEKS:
                evidence.append((mean * self.config.window_minutes / 60, OWN_HISTORY))
        if not evidence:
            return None
        expected, source = min(evidence)
        if expected < self.config.min_expected:
            return None
        return self._draft(line, self.flat_count[line], expected, source, now)

    def _learn(self, zone: _Zone, now: datetime) -> None:
        """Fold each hour that ended (a minute's grace for late readings) into the lines'
        shares and profiles, then forget minutes older than the window and that hour."""
        hour = now.replace(minute=0, second=0, microsecond=0)
        if now - hour < timedelta(minutes=2):
            hour -= timedelta(hours=1)
        if zone.learnt_until is None:
            zone.learnt_until = min(zone.minutes, default=hour).replace(minute=0)
        while zone.learnt_until < hour:
            start = zone.learnt_until
            end = start + timedelta(hours=1)
            minutes = [counts for m, counts in zone.minutes.items() if start <= m < end]
            for line in zone.lines:
                self._learn_hour(zone, line, minutes, start)
            zone.learnt_until = end
        keep = min(hour, now - timedelta(minutes=self.config.window_minutes))
        for minute in [m for m in zone.minutes if m < keep]:
            del zone.minutes[minute]

    def _learn_hour(
        self, zone: _Zone, line: str, minutes: list[dict[str, int]], start: datetime
    ) -> None:
        if line in self.flagged or not any(line in counts for counts in minutes):
            return  # not while it is judged silent, nor an hour it did not report
        state = self.lines[line]
        own = sum(counts.get(line, 0) for counts in minutes)
        key = _hour_of_week(start)
        mean, weeks = state.profile.get(key, (0.0, 0))
        mean = own if weeks == 0 else (1 - _PROFILE_WEIGHT) * mean + _PROFILE_WEIGHT * own
        state.profile[key] = (mean, weeks + 1)
        if own == 0:
            return  # an hour of zeros teaches no share (a quiet hour, or the line failing)
        others = zone.lines - {line}
        if others:
            seen = sum(v for counts in minutes for d, v in counts.items() if d in others)
            state.by_lines.add(own, seen)
        if zone.cameras:
            seen = sum(v for counts in minutes for d, v in counts.items() if d in zone.cameras)
            state.by_camera.add(own, seen)

    def _draft(
        self, line: str, count: int, expected: float, source: str, now: datetime
    ) -> AlertDraft:
        place = self.directory.devices[line]
        minutes = self.config.window_minutes
        why_zh, why_en = _EVIDENCE_TEXT[source]
        if count == 0:
            said_zh = f"{place.name}疑似计数失效：近{minutes}分钟上报的进出人数均为0"
            said_en = f"{place.kind_en} {line} counts nobody: {minutes} min of zero crossings"
        else:  # a frozen counter: people pass, never the same number each minute
            said_zh = f"{place.name}疑似计数冻结：近{minutes}分钟每分钟上报的进出人数都是{count}"
            said_en = (
                f"{place.kind_en} {line} reports the same {count} crossings every minute for "
                f"{minutes} min"
            )
        return AlertDraft(
            rule=SILENT_LINE_RULE,
            kind="device_fault",
            tier="minor",
            subject=line,
            place_id=place.place_id,
            observed_at=now,
            explanation_zh=(
                f"{said_zh}，而{why_zh}（按以往比例应约{expected:.0f}人次）；心跳正常，"
                "请检查是否被遮挡或计数故障"
            ),
            explanation_en=(
                f"{said_en} while {why_en} (about {expected:.0f} crossings expected by its "
                "usual share); its heartbeat is healthy: check for a blocked beam or a stuck "
                "counter"
            ),
            device_id=line,
            community_id=place.community_id,
            place_name=place.name,
            figures={
                "fault_code": SILENT_LINE_FAULT if count == 0 else FLAT_LINE_FAULT,
                "window_minutes": minutes,
                "expected_crossings": round(expected, 1),
                "line_evidence": source,
            },
        )

    def _clear(self, line: str, at: datetime) -> AlertClear:
        place = self.directory.get(line)
        return AlertClear(
            rule=SILENT_LINE_RULE,
            subject=line,
            place_id=place.place_id if place is not None else line,
            observed_at=at,
            note_zh="计数恢复",
            note_en="the line counts again",
        )


# What each kind of evidence says, for the alert's explanation.
_EVIDENCE_TEXT: dict[str, tuple[str, str]] = {
    ZONE_LINES: ("同区域其他计数线仍有人通过", "the zone's other lines count people"),
    ZONE_CAMERA: ("区域人数统计仍显示有人", "the zone's occupancy camera sees people"),
    OWN_HISTORY: (
        "以往同一时段有人通过",
        "its own history at this hour of the week says people pass",
    ),
}
# The evidence figure's values, for the evidence page.
LINE_EVIDENCE_NAMES: dict[str, tuple[str, str]] = {
    ZONE_LINES: ("同区域其他计数线", "the zone's other lines"),
    ZONE_CAMERA: ("区域人数统计", "the zone's occupancy camera"),
    OWN_HISTORY: ("本计数线同时段历史", "its own history at this hour of the week"),
}


def _hour_of_week(at: datetime) -> int:
    return at.weekday() * 24 + at.hour
