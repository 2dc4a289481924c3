"""Crowd safety (人流超载预警): a streaming rule over crowd counts, one alert per zone.

Per zone: occupancy reconciled from counting lines and camera counts (crowd_forecast), its
density over the zone's area, a level with hysteresis, a Holt forecast `forecast_minutes`
ahead, and recommendations (flow points to close, zones to divert to, officers needed).
Events update the occupancy; the timer tick (`evaluate`) samples it once a minute, decides
the level and the forecast, and raises, updates or clears the zone's alert. docs/crowd.md.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import ClassVar

from zhian.alerts.drafts import AlertClear, AlertDraft, EventRef, RuleOutput, Tier
from zhian.db.engine import Database
from zhian.ingest.events import CrowdEvent, Event
from zhian.rules.base import ref
from zhian.rules.crowd_data import CrowdDataService, CrowdDirectory
from zhian.rules.crowd_forecast import (
    Forecast,
    PlannedWindow,
    Reconciler,
    ZoneForecaster,
    crossing_minutes,
    probability_above,
)
from zhian.rules.directory import PlaceDirectory
from zhian.rules.settings import CrowdSettings

CROWD_RULE = "crowd"
CROWD_KIND = "crowd_overload"
LEVELS: tuple[tuple[str, str, str], ...] = (
    ("free", "畅通", "free"),
    ("busy", "繁忙", "busy"),
    ("pre_warning", "预警", "pre-warning"),
    ("warning", "警戒", "warning"),
    ("danger", "危险", "danger"),
    ("critical", "极度危险", "critical"),
)
PRE_WARNING, WARNING, DANGER = 2, 3, 4
HISTORY_MINUTES = 180  # samples kept per zone (the view's chart)
STALE = timedelta(minutes=10)  # a zone without counts this long is not judged
MIN_SAMPLES = 5  # minutes of samples before a forecast is trusted
MAX_GAP_MINUTES = 30  # a longer gap restarts the forecast


@dataclass(frozen=True)
class CrowdConfig:
    levels: tuple[float, ...]
    hysteresis: tuple[float, ...]
    forecast_minutes: int
    forecast_probability: float
    forecast_min_density: float
    persons_per_officer: tuple[int, ...]
    camera_error: float
    line_error: float
    utc_offset: timedelta = timedelta(hours=8)
    holidays: frozenset[date] = frozenset()
    planned_events: tuple[tuple[str, PlannedWindow], ...] = ()  # (zone id, window)

    @classmethod
    def from_settings(cls, settings: CrowdSettings) -> CrowdConfig:
        offset = timedelta(hours=settings.utc_offset_hours)
        local = timezone(offset)

        def aware(at: datetime) -> datetime:
            return at if at.tzinfo is not None else at.replace(tzinfo=local)

        return cls(
            levels=tuple(settings.levels),
            hysteresis=tuple(settings.hysteresis),
            forecast_minutes=settings.forecast_minutes,
            forecast_probability=settings.forecast_probability,
            forecast_min_density=settings.forecast_min_density,
            persons_per_officer=tuple(settings.persons_per_officer),
            camera_error=settings.camera_error,
            line_error=settings.line_error,
            utc_offset=offset,
            holidays=frozenset(settings.holidays),
            planned_events=tuple(
                (e.zone_id, PlannedWindow(aware(e.start), aware(e.end), float(e.expected)))
                for e in settings.planned_events
            ),
        )

    def forecaster(self, zone_id: str, step: timedelta = timedelta(minutes=1)) -> ZoneForecaster:
        """The zone's forecaster as the rule runs it (`zhian eval crowd` runs the same)."""
        return ZoneForecaster(
            step,
            holidays=self.holidays,
            events=[window for zone, window in self.planned_events if zone == zone_id],
            utc_offset=self.utc_offset,
        )

    @property
    def threshold(self) -> float:
        """The warning density (the field's threshold, 1.5 persons/m² by default)."""
        return self.levels[WARNING - 1]

    def level(self, density: float, previous: int) -> int:
        """The level of a density: up as soon as a threshold is reached, down only once the
        density is a margin below the threshold of the level it leaves."""
        up = sum(1 for bound in self.levels if density >= bound)
        if up >= previous:
            return up
        level = previous
        while level > up and density < self.levels[level - 1] - self.hysteresis[level - 1]:
            level -= 1
        return level

    def officers(self, occupancy: float, level: int) -> int:
        ratio = self.persons_per_officer[level]
        return 0 if ratio <= 0 else math.ceil(occupancy / ratio)


@dataclass(frozen=True, slots=True)
class Recommendation:
    close_points: tuple[tuple[str, str], ...]  # (id, name) of flow points to close
    divert_to: tuple[tuple[str, str, int], ...]  # (zone id, name, spare places)
    officers: int


@dataclass(frozen=True, slots=True)
class ZoneView:
    """One zone's situation at the last tick: what the crowd view shows."""

    zone_id: str
    name: str
    area_m2: float
    occupancy: float
    density: float
    level: int
    forecast: Forecast | None
    forecast_warning: bool
    crossing_in_minutes: int | None
    probability: float
    recommendation: Recommendation
    history: tuple[tuple[datetime, float], ...]
    updated_at: datetime

    @property
    def level_key(self) -> str:
        return LEVELS[self.level][0]

    @property
    def level_zh(self) -> str:
        return LEVELS[self.level][1]

    @property
    def level_en(self) -> str:
        return LEVELS[self.level][2]


@dataclass(frozen=True)
class CrowdSnapshot:
    at: datetime | None
    zones: tuple[ZoneView, ...] = ()
    config: CrowdConfig | None = None


@dataclass
class _Track:
    reconciler: Reconciler
    forecaster: ZoneForecaster
    last_minute: datetime | None = None
    last_event_at: datetime | None = None
    interval: timedelta = timedelta(minutes=1)  # the zone's reading interval, last seen
    level: int = 0
    forecast_warning: bool = False
    alerted: tuple[int, bool] | None = None  # (level, forecast warning) last raised
    history: deque[tuple[datetime, float]] = field(
        default_factory=lambda: deque(maxlen=HISTORY_MINUTES)
    )
    refs: deque[EventRef] = field(default_factory=lambda: deque(maxlen=5))


class CrowdRule:
    """Reconciled occupancy, levels, forecast and recommendations per zone; one alert each."""

    # The engine hands this rule only these event types (see rules_by_event_type).
    event_types: ClassVar[frozenset[type]] = frozenset({CrowdEvent})

    key: ClassVar[str] = CROWD_RULE

    def __init__(self, config: CrowdConfig) -> None:
        self.config = config
        self.zones = CrowdDirectory({})
        self._load_zones: Callable[[], CrowdDirectory] | None = None
        self._tracks: dict[str, _Track] = {}
        self.snapshot = CrowdSnapshot(None, config=config)

    # -- wiring ------------------------------------------------------------------------------

    def configure(self, config: CrowdConfig, load_zones: Callable[[], CrowdDirectory]) -> None:
        self.config = config
        self._load_zones = load_zones
        self.snapshot = CrowdSnapshot(self.snapshot.at, self.snapshot.zones, config)

    def set_directory(self, directory: PlaceDirectory) -> None:
        if self._load_zones is not None:
            self.zones = self._load_zones()

    # -- stream ------------------------------------------------------------------------------

    def on_event(self, event: Event, received_at: datetime) -> RuleOutput | None:
        if not isinstance(event, CrowdEvent) or event.zone_id not in self.zones.zones:
            return None
        track = self._tracks.get(event.zone_id)
        if track is None:
            track = _Track(
                Reconciler(self.config.camera_error, self.config.line_error),
                self.config.forecaster(event.zone_id),
            )
            self._tracks[event.zone_id] = track
        if event.occupancy is not None:
            track.reconciler.add_camera(event.occupancy)
        elif event.count_in is not None or event.count_out is not None:
            track.reconciler.add_lines(
                event.count_in or 0, event.count_out or 0, event.interval_seconds or 60
            )
        else:
            return None
        if event.interval_seconds:
            track.interval = timedelta(seconds=event.interval_seconds)
        track.last_event_at = event.time
        track.refs.append(ref(event))
        return None

    def evaluate(self, now: datetime) -> RuleOutput | None:
        out = RuleOutput()
        minute = now.replace(second=0, microsecond=0)
        views = []
        for zone_id, track in self._tracks.items():
            zone = self.zones.zones.get(zone_id)
            if zone is None or not track.reconciler.has_value:
                continue
            self._sample(track, minute)
            view = self._judge(zone_id, track, now)
            views.append(view)
            # A zone counted hourly is not stale between its readings.
            stale = track.last_event_at is None or now - track.last_event_at > max(
                STALE, 2 * track.interval
            )
            if not stale:
                self._alert(view, track, now, out)
        self.snapshot = CrowdSnapshot(
            now, tuple(sorted(views, key=lambda v: v.zone_id)), self.config
        )
        return out or None

    # -- steps -------------------------------------------------------------------------------

    def _sample(self, track: _Track, minute: datetime) -> None:
        estimate = track.reconciler.estimate
        if track.last_minute is not None and minute <= track.last_minute:
            return
        gap = (
            1 if track.last_minute is None else (minute - track.last_minute) // timedelta(minutes=1)
        )
        if gap > MAX_GAP_MINUTES:
            track.forecaster.restart()
            gap = 1
        for back in range(gap - 1, -1, -1):
            track.forecaster.observe(minute - timedelta(minutes=back), estimate)
        track.reconciler.advance(gap)
        track.history.append((minute, estimate))
        track.last_minute = minute

    def _judge(self, zone_id: str, track: _Track, now: datetime) -> ZoneView:
        config, zone = self.config, self.zones.zones[zone_id]
        occupancy = track.reconciler.estimate
        density = occupancy / zone.area_m2
        track.level = config.level(density, track.level)
        forecast: Forecast | None = None
        probability, crossing = 0.0, None
        if track.forecaster.samples >= MIN_SAMPLES:
            forecast = track.forecaster.forecast(config.forecast_minutes)
            limit = config.threshold * zone.area_m2
            probability = max(probability_above(m, s, limit) for m, s in forecast.path)
            crossing = crossing_minutes(forecast, limit)
        if track.level >= WARNING or forecast is None or density < config.forecast_min_density:
            track.forecast_warning = False
        elif probability >= config.forecast_probability:
            track.forecast_warning = True
        elif probability < config.forecast_probability / 2:
            track.forecast_warning = False
        return ZoneView(
            zone_id=zone_id,
            name=zone.name,
            area_m2=zone.area_m2,
            occupancy=occupancy,
            density=density,
            level=track.level,
            forecast=forecast,
            forecast_warning=track.forecast_warning,
            crossing_in_minutes=crossing,
            probability=probability,
            recommendation=self._recommend(zone_id, track, occupancy),
            history=tuple(track.history),
            updated_at=now,
        )

    def _recommend(self, zone_id: str, track: _Track, occupancy: float) -> Recommendation:
        config = self.config
        officers = config.officers(occupancy, track.level)
        if track.level < WARNING and not track.forecast_warning:
            return Recommendation((), (), officers)
        close = tuple((p.id, p.name) for p in self.zones.feeding(zone_id))
        spare_below = config.levels[PRE_WARNING - 1]  # keep neighbours under pre-warning
        divert = []
        for other in self.zones.neighbours(zone_id):
            zone, other_track = self.zones.zones[other], self._tracks.get(other)
            people = 0.0 if other_track is None else other_track.reconciler.estimate
            if other_track is not None and other_track.forecaster.samples >= MIN_SAMPLES:
                people = max(people, other_track.forecaster.mean_at(config.forecast_minutes))
            spare = int(spare_below * zone.area_m2 - people)
            if spare > 0:
                divert.append((other, zone.name, spare))
        divert.sort(key=lambda item: -item[2])
        return Recommendation(close, tuple(divert[:3]), officers)

    def _alert(self, view: ZoneView, track: _Track, now: datetime, out: RuleOutput) -> None:
        tier = _tier(view.level, view.forecast_warning)
        zone = self.zones.zones[view.zone_id]
        if tier is None:
            if track.alerted is not None and view.level < PRE_WARNING:
                out.clears.append(
                    AlertClear(
                        rule=CROWD_RULE,
                        subject=view.zone_id,
                        place_id=view.zone_id,
                        observed_at=now,
                        note_zh=f"{zone.name}密度回落至{view.density:.2f}人/㎡（{view.level_zh}）",
                        note_en=f"{zone.name}: density down to {view.density:.2f} persons/m² "
                        f"({view.level_en})",
                    )
                )
                track.alerted = None
            return
        state = (view.level, view.forecast_warning)
        if track.alerted == state:
            return
        track.alerted = state
        out.drafts.append(self._draft(view, tier, track, now, zone.community_id))

    def _draft(
        self, view: ZoneView, tier: Tier, track: _Track, now: datetime, community: str | None
    ) -> AlertDraft:
        config, rec = self.config, view.recommendation
        zh, en = _sentences(view, config)
        figures: dict[str, float | int | str] = {
            "occupancy": round(view.occupancy),
            "density": round(view.density, 3),
            "area_m2": view.area_m2,
            "level": view.level_key,
            "threshold": config.threshold,
            "forecast_minutes": config.forecast_minutes,
            "crossing_probability": round(view.probability, 3),
            "officers_needed": rec.officers,
            "close_points": ",".join(p for p, _ in rec.close_points),
            "divert_to": ",".join(z for z, _, _ in rec.divert_to),
            "levels": "/".join(f"{b:g}" for b in config.levels),
        }
        if view.forecast is not None:
            figures["forecast_density"] = round(view.forecast.mean / view.area_m2, 3)
            figures["forecast_sd_density"] = round(view.forecast.sd / view.area_m2, 3)
            figures["trend_per_minute"] = round(view.forecast.slope_per_minute, 1)
        if view.crossing_in_minutes is not None:
            figures["crossing_in_minutes"] = view.crossing_in_minutes
        return AlertDraft(
            rule=CROWD_RULE,
            kind=CROWD_KIND,
            tier=tier,
            subject=view.zone_id,
            place_id=view.zone_id,
            observed_at=now,
            explanation_zh=zh,
            explanation_en=en,
            community_id=community,
            place_name=view.name,
            events=tuple(track.refs),
            figures=figures,
        )


def _tier(level: int, forecast_warning: bool) -> Tier | None:
    if level >= DANGER:
        return "major"
    if level >= WARNING or forecast_warning:
        return "general"
    if level >= PRE_WARNING:
        return "minor"
    return None


def _sentences(view: ZoneView, config: CrowdConfig) -> tuple[str, str]:
    rec = view.recommendation
    zh = (
        f"{view.name}当前约{round(view.occupancy)}人，密度{view.density:.2f}人/㎡"
        f"（{view.level_zh}）"
    )
    en = (
        f"{view.name} holds about {round(view.occupancy)} people, "
        f"{view.density:.2f} persons/m² ({view.level_en})"
    )
    if view.forecast_warning and view.crossing_in_minutes is not None:
        zh += f"，预计约{view.crossing_in_minutes}分钟后达到{config.threshold:g}人/㎡警戒线"
        en += (
            f"; forecast to reach the {config.threshold:g} persons/m² threshold in about "
            f"{view.crossing_in_minutes} minutes"
        )
    elif view.forecast_warning:
        zh += f"，{config.forecast_minutes}分钟内超过警戒线的概率为{view.probability:.0%}"
        en += (
            f"; {view.probability:.0%} chance of crossing the threshold within "
            f"{config.forecast_minutes} minutes"
        )
    if rec.close_points:
        zh += "；建议关闭" + "、".join(name for _, name in rec.close_points)
        en += "; close " + ", ".join(pid for pid, _ in rec.close_points)
    if rec.divert_to:
        zh += "，向" + "、".join(name for _, name, _ in rec.divert_to) + "分流"
        en += "; divert to " + ", ".join(zid for zid, _, _ in rec.divert_to)
    zh += f"；需警力{rec.officers}人。"
    en += f"; {rec.officers} officers needed."
    return zh, en


class CrowdMonitor:
    """The node's handle on crowd safety: configures the engine's crowd rule from the
    `crowd` settings and the crowd master data, and shows its latest snapshot."""

    def __init__(
        self,
        rule: CrowdRule,
        db: Database,
        settings: CrowdSettings,
        *,
        snapshot_source: Callable[[], CrowdSnapshot] | None = None,
    ) -> None:
        self.rule = rule
        self.db = db
        self.config = CrowdConfig.from_settings(settings)
        # Where the rule runs in another process (the worker), its snapshot is asked there.
        self._snapshot_source = snapshot_source
        rule.configure(self.config, self.load_directory)

    @classmethod
    def attach(cls, rules: Sequence[object], db: Database, settings: CrowdSettings) -> CrowdMonitor:
        (rule,) = [r for r in rules if isinstance(r, CrowdRule)]
        return cls(rule, db, settings)

    def load_directory(self) -> CrowdDirectory:
        with self.db.session() as session:
            return CrowdDataService(session).directory()

    def snapshot(self) -> CrowdSnapshot:
        if self._snapshot_source is not None:
            return self._snapshot_source()
        return self.rule.snapshot
