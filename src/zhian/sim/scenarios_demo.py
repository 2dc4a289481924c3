"""The demo's stage: situations planted around the moment the demo goes live.

`zhian demo` replays weeks of history, then streams live. So that a visitor sees the rules
and the crowd warning at work within minutes, `demo_scenarios(live_at, …)` plants, relative
to that moment: a surge in the temple fair's main court (the district passed through
`with_temple_fair`) that is forecast to cross 1.5 persons/m² a few minutes after going live
and crosses it soon after, so the crowd page opens on a forecast warning with flow points
to close and zones to divert to; and, in the first live minutes, an SOS press, a fire, a
fence alarm and a watchlisted car passing its gate. Both streams (history and live) plant
the same stage from the same anchor, so the crowd's curve runs on across the hand-over.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from zhian.ingest.events import Subject
from zhian.sim.crowds import poisson
from zhian.sim.district import District
from zhian.sim.people import Car
from zhian.sim.scenarios import FalseSmokeAlarm, PerimeterIntrusion, RealFire, Scenario, SosPressed
from zhian.sim.scenarios_crowd import (
    CAMERA_NOISE,
    FAIR_COMMUNITY,
    FAIR_ZONES,
    SURGE_ZONE,
    THRESHOLD,
    ZONE_DWELL_MINUTES,
    has_fair,
)
from zhian.sim.scenarios_vehicles import Casing
from zhian.sim.timeline import DAY_SECONDS, Action, Day, Sink

DEMO_SURGE = "demo_crowd_surge"
DEMO_ALARMS = "demo_alarms"
DEMO_CASING = "demo_casing"
CASING_BEFORE = 4 * 3600  # seconds before going live
# Minutes relative to going live: the fair's counters start, the court crosses the warning
# density, the surge peaks, the counters stop.
COUNTERS_FROM, CROSSING_AT, PEAK_AT, COUNTERS_UNTIL = -45, 12, 30, 150
BASE_DENSITY = 0.55  # persons/m² in every sub-zone: busy, not warned
# Seconds after going live at which the planted alarms go off.
SOS_AFTER, SMOKE_AFTER, FIRE_AFTER, FENCE_AFTER, PLATE_AFTER = 60, 120, 180, 240, 90


@dataclass(frozen=True)
class Surge:
    """People per sub-zone and minute (index 0 = COUNTERS_FROM minutes before live)."""

    start: int  # stream second of the first minute
    targets: dict[str, list[float]]


def surge_targets() -> dict[str, list[float]]:
    """A busy fair, and in the main court a rise that crosses the threshold CROSSING_AT
    minutes after going live, peaks at PEAK_AT and ebbs."""
    minutes = COUNTERS_UNTIL - COUNTERS_FROM
    targets: dict[str, list[float]] = {}
    for zone, _, area, _, _ in FAIR_ZONES:
        series = [BASE_DENSITY * area] * minutes
        if zone == SURGE_ZONE:
            limit = THRESHOLD * area
            base = BASE_DENSITY * area
            # A bell over the base: at the crossing minute it reaches the threshold.
            width = (PEAK_AT - CROSSING_AT) / math.sqrt(-2 * math.log(0.7))
            peak = (limit - base) / 0.7
            series = [
                base + peak * math.exp(-0.5 * ((m + COUNTERS_FROM - PEAK_AT) / width) ** 2)
                for m in range(minutes)
            ]
        targets[zone] = series
    return targets


def _emit_minute(sink: Sink, t: int, arg: tuple[Surge, int]) -> None:
    surge, m = arg
    rng = random.Random(f"zhian-demo-surge:{surge.start}:{m}")  # the same in both streams
    for zone, _, _, _, _ in FAIR_ZONES:
        series = surge.targets[zone]
        now = series[m]
        before = series[m - 1] if m > 0 else now
        device = f"{FAIR_COMMUNITY}-CNT-{zone}"
        turnover = now / ZONE_DWELL_MINUTES
        flow_in = poisson(rng, turnover + max(0.0, now - before))
        flow_out = poisson(rng, turnover + max(0.0, before - now))
        noise = 1 + CAMERA_NOISE * rng.gauss(0, 1)
        sink.occupancy(t + 20, f"{device}-OCC", zone, max(0, round(now * noise)))
        for k in (1, 2):
            sink.line_count(
                t + 30 + 5 * k, f"{device}-L{k}", zone, round(flow_in / 2), round(flow_out / 2), 60
            )


def _drive_in(sink: Sink, t: int, arg: tuple[str, Car]) -> None:
    gate, car = arg
    sink.vehicle(t, gate, car, "in")


def demo_scenarios(
    live_at: datetime, *, watched_cars: list[tuple[str, Car]]
) -> list[type[Scenario]]:
    """The stage anchored at `live_at`; `watched_cars` are (gate, car) of watchlisted cars
    to drive in during the first live minutes."""

    def second(day: Day) -> int:
        return round((live_at - day.timeline.epoch).total_seconds())

    def in_day(day: Day, t: int) -> bool:
        return day.start <= t < day.start + DAY_SECONDS

    class DemoCrowdSurge(Scenario):
        name: ClassVar[str] = DEMO_SURGE

        def plant(self, district: District, rng: random.Random, day: Day) -> None:
            if not has_fair(district):
                return
            live = second(day)
            surge = Surge(live + 60 * COUNTERS_FROM, surge_targets())
            for m in range(COUNTERS_UNTIL - COUNTERS_FROM):
                t = surge.start + 60 * m
                if in_day(day, t):
                    day.at(t, _emit_minute, (surge, m))
            crossing = live + 60 * CROSSING_AT
            if in_day(day, crossing):
                day.record(
                    self.name, SURGE_ZONE, crossing, live + 60 * COUNTERS_UNTIL,
                    threshold=THRESHOLD,
                )  # fmt: skip

    class DemoAlarms(Scenario):
        name: ClassVar[str] = DEMO_ALARMS

        def plant(self, district: District, rng: random.Random, day: Day) -> None:
            live = second(day)
            if not in_day(day, live) or live < day.window[0]:
                return  # only the live stream shows them
            plan: list[tuple[int, Action, object]] = []
            buttons = [b for s in district.sites for b in s.sos] + district.public.sos
            if buttons:
                plan.append((SOS_AFTER, SosPressed._emit, (buttons[0], False)))
            groups = [g for s in district.sites for g in s.smoke_by_building.values()]
            sensors = next((g for g in groups if len(g) >= 3), None)
            if sensors is not None:
                plan.append((SMOKE_AFTER, FalseSmokeAlarm._emit, (sensors[0], False)))
                plan.append((FIRE_AFTER, RealFire._emit, (sensors[1], [sensors[2]])))
            fences = [s.perimeter for s in district.sites if s.perimeter]
            fences.append(district.public.perimeter)
            fence = next((f for f in fences if f), None)
            if fence is not None:
                plan.append((FENCE_AFTER, PerimeterIntrusion._emit, fence[:2]))
            for after, action, arg in plan:
                day.at(live + after, action, arg)
            for k, (gate, car) in enumerate(watched_cars):
                day.at(live + PLATE_AFTER + 30 * k, _drive_in, (gate, car))
            day.record(self.name, "live", live, live + FENCE_AFTER + 120, alarms=len(plan))

    class DemoCasing(Scenario):
        """Someone on a QR pass trying unit doors a few hours before going live: the last
        model run of the replay (one day back) finds it."""

        name: ClassVar[str] = DEMO_CASING

        def plant(self, district: District, rng: random.Random, day: Day) -> None:
            t = second(day) - CASING_BEFORE
            if not in_day(day, t) or t < day.window[0]:
                return
            subject = Subject("qr", "qr-demo-casing")
            site = max(district.sites, key=lambda s: len(s.unit_doors))
            doors = site.unit_doors[:6]
            step = 150
            if len(doors) < 5:  # a small district: one door in each community
                doors = [
                    door
                    for s in district.sites
                    for door in ([e.door for e in s.entrances if e.door] or s.unit_doors)[:1]
                ]
                step = 2400
            for k, door in enumerate(doors):
                day.at(t + step * k, Casing._door, (subject, door, 60))
            day.record(self.name, f"qr:{subject.ref}", t, t + step * len(doors))

    return [DemoCrowdSurge, DemoAlarms, DemoCasing]
