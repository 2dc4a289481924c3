"""Crowds in the shopping street, its plaza and at the school gate, counted every minute.

Each zone follows a target occupancy by minute of day (lunch and evening peaks in the street,
square dancing in the plaza at 19-21, the school runs at 7:30 and 16:30 on school days).
Occupancy counters report the number in the zone; line counters report people crossing in
and out over the minute, consistent with the change in occupancy and a typical dwell time.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, field

from zhian.sim.tables import CrowdCounter
from zhian.sim.timeline import Sink, Surge

MINUTES_PER_DAY = 1440
COUNT_SECONDS = 60

# People in the zone by hour of day (weekday, weekend); interpolated between hours.
STREET = (
    (40, 20, 10, 5, 5, 10, 30, 80, 150, 250, 400, 520, 620, 560, 480, 460, 520, 700, 900, 1000,
     850, 600, 300, 120),
    (60, 30, 15, 8, 5, 8, 20, 60, 150, 350, 650, 850, 950, 900, 850, 880, 950, 1100, 1300, 1400,
     1200, 800, 400, 160),
)  # fmt: skip
PLAZA_BASE = (
    (3, 2, 1, 1, 1, 5, 25, 30, 25, 20, 20, 20, 15, 15, 20, 25, 30, 35, 40, 60, 60, 30, 10, 5),
    (3, 2, 1, 1, 1, 5, 30, 45, 50, 50, 45, 40, 35, 40, 45, 50, 55, 60, 60, 80, 80, 40, 15, 6),
)  # fmt: skip
# Minutes people typically stay: what turns occupancy into flows across the lines.
DWELL_MINUTES = {"Z01": 40.0, "Z02": 30.0, "Z03": 12.0}


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: exact for small means, the normal approximation above 30."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit = math.exp(-mean)
    k = 0
    p = rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _interpolate(hourly: tuple[int, ...]) -> list[float]:
    values = []
    for minute in range(MINUTES_PER_DAY):
        hour, part = divmod(minute, 60)
        a, b = hourly[hour], hourly[(hour + 1) % 24]
        values.append(a + (b - a) * part / 60)
    return values


def _bump(minute: int, centre: int, width: float, height: float) -> float:
    return height * math.exp(-0.5 * ((minute - centre) / width) ** 2)


def _targets(zone: str, weekend: bool) -> list[float]:
    if zone == "Z01":
        return _interpolate(STREET[weekend])
    if zone == "Z02":
        base = _interpolate(PLAZA_BASE[weekend])
        dance = 200.0 if weekend else 160.0
        return [v + _bump(m, 20 * 60, 35, dance) for m, v in enumerate(base)]
    if weekend:  # the school gate: nobody but passers-by
        return [2.0 + 6.0 * (7 * 60 <= m < 21 * 60) for m in range(MINUTES_PER_DAY)]
    return [
        4.0 + _bump(m, 450, 10, 380) + _bump(m, 990, 12, 420) + _bump(m, 690, 15, 40)
        for m in range(MINUTES_PER_DAY)
    ]


@dataclass
class Crowds:
    """Target occupancy per zone and the counters that report it."""

    counters: list[CrowdCounter]
    surges: list[Surge] = field(default_factory=list)  # shared with the timeline

    def __post_init__(self) -> None:
        self.zones = sorted({c.zone_id for c in self.counters})
        self.by_zone = {z: [c for c in self.counters if c.zone_id == z] for z in self.zones}
        self.phase = {c.device_id: zlib.crc32(c.device_id.encode()) % 60 for c in self.counters}
        self.targets = {(z, w): _targets(z, w) for z in self.zones for w in (False, True)}
        self.mood = dict.fromkeys(self.zones, 1.0)
        self.rngs = {zone: random.Random(0) for zone in self.zones}

    def start_day(self, rng: random.Random) -> None:
        """Some days are busier than others. `rng` is the day's crowd stream, split into one
        per zone: the counts draw only from their zone's, so a surge (more people, more
        draws) leaves every other draw of the day as it was, other zones' counts included."""
        for zone in self.zones:
            self.mood[zone] = 0.85 + 0.3 * rng.random()
        self.rngs = {zone: random.Random(rng.getrandbits(64)) for zone in self.zones}

    def target(self, zone: str, weekend: bool, minute: int, t: int) -> float:
        value = self.targets[zone, weekend][minute % MINUTES_PER_DAY] * self.mood[zone]
        for surge in self.surges:
            if surge.zone == zone:
                value += surge.people_at(t)
        return value

    def run_hour(self, sink: Sink, day_start: int, hour_t: int, weekend: bool) -> None:
        first_minute = (hour_t - day_start) // 60
        for zone in self.zones:
            rng = self.rngs[zone]
            dwell = DWELL_MINUTES.get(zone, 30.0)
            counters = self.by_zone[zone]
            before = self.target(zone, weekend, first_minute - 1, hour_t - 60)
            for m in range(60):
                t = hour_t + 60 * m
                now = self.target(zone, weekend, first_minute + m, t)
                turnover = now / dwell
                flow_in = poisson(rng, turnover + max(0.0, now - before))
                flow_out = poisson(rng, turnover + max(0.0, before - now))
                for counter in counters:
                    at = t + self.phase[counter.device_id]
                    if counter.mode == "occupancy":
                        seen = max(0, round(now * (1 + 0.03 * rng.gauss(0.0, 1.0))))
                        sink.occupancy(at, counter.device_id, zone, seen)
                    else:
                        sink.line_count(
                            at,
                            counter.device_id,
                            zone,
                            round(flow_in * counter.share),
                            round(flow_out * counter.share),
                            COUNT_SECONDS,
                        )
                before = now
