"""Crowd scenarios: a temple fair with a surge, and counting-line drift that must not fire.

The temple fair is modelled on a Spring Festival temple fair such as Hangzhou's Wushan fair
(吴山庙会) in this district: an area of 110,000 m² in 10 sub-zones, about 368,000 visitors
over the day (gates 8:00-21:00), 5 flow-limiting points, and a surge in the main temple
court (the noon blessing bell) that crosses 1.5 persons/m² when nobody intervenes. Its
zones and counters exist only in a district passed through `with_temple_fair`; without
them the scenario plants nothing, so the standard district's streams do not change.

Counters: every sub-zone has an occupancy camera (3 % noise, a small bias of its own) and
two counting lines whose in and out counts each miss or double-count a few percent (a
fixed gain per line and day): integrated alone, the lines drift by hundreds of people an
hour. Truth: the fair's day, and for each sub-zone that crosses 1.5 persons/m² the minute
of crossing (`temple_fair_crowd_surge`). `CountingLineDrift` plants a line at the school
gate or the shopping street that counts phantom entries all day (noise: it must not fire).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import ClassVar

from zhian.devices.models import DeviceKind
from zhian.registry.models import CommunityKind
from zhian.sim.crowds import poisson
from zhian.sim.district import District
from zhian.sim.layout import CENTRE, J_COMMUNITY, offset, rectangle_wkt
from zhian.sim.scenarios import Scenario
from zhian.sim.tables import Row
from zhian.sim.timeline import DAY_SECONDS, Day, Sink, Surge

TEMPLE_FAIR = "temple_fair"
TEMPLE_FAIR_SURGE = "temple_fair_crowd_surge"
COUNTING_LINE_DRIFT = "counting_line_drift"

FAIR_COMMUNITY = "C06"
FAIR_VISITORS = 368_000
OPEN_HOUR, CLOSE_HOUR = 8, 21
VISIT_MINUTES = 100.0  # how long a visitor stays at the fair
ZONE_DWELL_MINUTES = 25.0  # how long in one sub-zone (flows across its lines)
THRESHOLD = 1.5  # persons/m², the field's warning density
# id, name, area m², attraction (share of visitors per m², relative), (north, east) metres
FAIR_ZONES: tuple[tuple[str, str, float, float, tuple[float, float]], ...] = (
    ("F01", "庙会山门广场", 12_000.0, 1.0, (-150.0, 0.0)),
    ("F02", "庙会主殿前院", 8_000.0, 1.25, (0.0, 0.0)),
    ("F03", "庙会小吃街", 15_000.0, 1.2, (0.0, 160.0)),
    ("F04", "庙会民俗表演区", 10_000.0, 1.15, (120.0, 0.0)),
    ("F05", "庙会游艺区", 14_000.0, 0.9, (120.0, 160.0)),
    ("F06", "庙会花灯长廊", 9_000.0, 1.1, (0.0, -140.0)),
    ("F07", "庙会非遗市集", 13_000.0, 1.0, (120.0, -150.0)),
    ("F08", "庙会东侧休憩区", 11_000.0, 0.7, (-150.0, 170.0)),
    ("F09", "庙会西侧通道", 6_000.0, 0.8, (-150.0, -130.0)),
    ("F10", "庙会北门出口广场", 12_000.0, 0.8, (240.0, 0.0)),
)
# id, name, into zone, from zone (None: from outside), people per minute when open
FAIR_FLOW_POINTS: tuple[tuple[str, str, str, str | None, int], ...] = (
    ("FP1", "山门限流点", "F01", None, 600),
    ("FP2", "东门限流点", "F08", None, 300),
    ("FP3", "北门限流点", "F10", None, 300),
    ("FP4", "主殿南通道限流点", "F02", "F01", 400),
    ("FP5", "主殿东通道限流点", "F02", "F03", 300),
)
SURGE_ZONE = "F02"
SURGE_PEAK = 11_000.0  # extra people in the main court at the bell, peaking midway
SURGE_START_HOURS = (12.0, 12.5)
SURGE_HOURS = 3.0
CAMERA_NOISE = 0.03


def _centre() -> tuple[float, float]:
    return offset(*CENTRE, -600.0, 500.0)


def with_temple_fair(district: District) -> District:
    """The district with the temple fair's community, sub-zones and counters added."""
    tables = {entity: list(rows) for entity, rows in district.tables.items()}
    centre = _centre()
    tables["communities"].append(
        {
            "id": FAIR_COMMUNITY,
            "jurisdiction_id": J_COMMUNITY[2],
            "name": "吴山庙会",
            "kind": CommunityKind.COMMERCIAL.value,
            "latitude": centre[0],
            "longitude": centre[1],
        }
    )
    for zone_id, name, area, _, (north, east) in FAIR_ZONES:
        at = offset(*centre, north, east)
        side = math.sqrt(area)
        tables["zones"].append(
            {
                "id": zone_id,
                "community_id": FAIR_COMMUNITY,
                "jurisdiction_id": J_COMMUNITY[2],
                "name": name,
                "polygon_wkt": rectangle_wkt(*at, side, side),
                "area_m2": area,
            }
        )
        for suffix, label in (("OCC", "人数统计"), ("L1", "1号客流计数"), ("L2", "2号客流计数")):
            row: Row = {
                "id": f"{FAIR_COMMUNITY}-CNT-{zone_id}-{suffix}",
                "kind": DeviceKind.CROWD_COUNTER.value,
                "name": f"{name}{label}",
                "community_id": FAIR_COMMUNITY,
                "building_id": None,
                "unit_id": None,
                "house_id": None,
                "zone_id": zone_id,
                "gateway_id": None,
                "latitude": at[0],
                "longitude": at[1],
                "is_enabled": True,
            }
            tables["devices"].append(row)
    return replace(district, tables=tables)


def fair_flow_points() -> list[dict[str, object]]:
    """The five flow-limiting points as rows of `crowd_flow_points`."""
    centre = _centre()
    positions = {z: offset(*centre, *at) for z, _, _, _, at in FAIR_ZONES}
    return [
        {
            "id": point_id,
            "name": name,
            "zone_id": zone,
            "from_zone_id": source,
            "capacity_per_minute": capacity,
            "latitude": positions[zone][0],
            "longitude": positions[zone][1],
        }
        for point_id, name, zone, source, capacity in FAIR_FLOW_POINTS
    ]


def has_fair(district: District) -> bool:
    return any(row["id"] == "F01" for row in district.tables["zones"])


def _arrival_profile() -> list[float]:
    """Relative arrivals per minute of day: a morning and an afternoon peak, gates 8-21."""
    weights = []
    for minute in range(DAY_SECONDS // 60):
        if not OPEN_HOUR * 60 <= minute < CLOSE_HOUR * 60:
            weights.append(0.0)
            continue
        h = minute / 60
        weights.append(
            0.35
            + math.exp(-0.5 * ((h - 10.5) / 1.2) ** 2)
            + 0.9 * math.exp(-0.5 * ((h - 14.5) / 1.5) ** 2)
            + 0.3 * math.exp(-0.5 * ((h - 19.0) / 0.8) ** 2)
        )
    return weights


@dataclass
class FairDay:
    """One fair day: target occupancy per sub-zone and minute, and each counter's errors."""

    start: int  # seconds since the epoch of the day's midnight
    targets: dict[str, list[float]]
    camera_bias: dict[str, float]
    line_gain: dict[str, tuple[float, float]]  # device -> (gain on in, gain on out)
    rng: random.Random

    def crossings(self) -> list[tuple[str, int, int, float]]:
        """(zone, first second at or over the threshold, first second back under it, peak)."""
        out = []
        areas = {z: area for z, _, area, _, _ in FAIR_ZONES}
        for zone, series in self.targets.items():
            limit = THRESHOLD * areas[zone]
            over = [m for m, people in enumerate(series) if people >= limit]
            if over:
                back = next((m for m in range(over[0], len(series)) if series[m] < limit), None)
                end = len(series) if back is None else back
                peak = max(series) / areas[zone]
                out.append((zone, self.start + 60 * over[0], self.start + 60 * end, peak))
        return out


def plan_fair_day(start: int, rng: random.Random) -> FairDay:
    profile = _arrival_profile()
    visitors = FAIR_VISITORS * (0.95 + 0.1 * rng.random())
    per_weight = visitors / sum(profile)
    total, totals = 0.0, []
    for weight in profile:
        total += weight * per_weight - total / VISIT_MINUTES
        totals.append(total)
    weights = {z: area * attraction for z, _, area, attraction, _ in FAIR_ZONES}
    whole = sum(weights.values())
    surge_hour = SURGE_START_HOURS[0] + rng.random() * (SURGE_START_HOURS[1] - SURGE_START_HOURS[0])
    surge_t0 = int(surge_hour * 3600)
    surge = Surge(SURGE_ZONE, surge_t0, surge_t0 + int(SURGE_HOURS * 3600), SURGE_PEAK)
    targets = {}
    for zone, share in weights.items():
        series = [people * share / whole for people in totals]
        if zone == SURGE_ZONE:
            series = [v + surge.people_at(60 * m) for m, v in enumerate(series)]
        targets[zone] = series
    devices = [f"{FAIR_COMMUNITY}-CNT-{z}" for z, *_ in FAIR_ZONES]
    return FairDay(
        start=start,
        targets=targets,
        camera_bias={f"{d}-OCC": rng.gauss(0.0, 0.02) for d in devices},
        line_gain={
            f"{d}-L{k}": (1 + rng.gauss(0.0, 0.03), 1 + rng.gauss(0.0, 0.03))
            for d in devices
            for k in (1, 2)
        },
        rng=random.Random(rng.getrandbits(64)),
    )


class TempleFair(Scenario):
    """The temple fair: a crowd all day in 10 sub-zones and a surge in the main court."""

    name: ClassVar[str] = TEMPLE_FAIR_SURGE

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if not has_fair(district):
            return
        fair = plan_fair_day(day.start, rng)
        day.record(
            TEMPLE_FAIR, FAIR_COMMUNITY, day.start + OPEN_HOUR * 3600,
            day.start + CLOSE_HOUR * 3600, visitors=FAIR_VISITORS, area_m2=110_000,
        )  # fmt: skip
        for zone, t0, t1, peak in fair.crossings():
            day.record(self.name, zone, t0, t1, threshold=THRESHOLD, peak_density=round(peak, 2))
        for hour in range(24):
            day.at(day.start + hour * 3600, self._emit_hour, fair)

    @staticmethod
    def _emit_hour(sink: Sink, t: int, fair: FairDay) -> None:
        rng = fair.rng
        first = (t - fair.start) // 60
        for zone, _, _, _, _ in FAIR_ZONES:
            series = fair.targets[zone]
            device = f"{FAIR_COMMUNITY}-CNT-{zone}"
            before = series[first - 1] if first > 0 else 0.0
            for m in range(first, min(first + 60, len(series))):
                now = series[m]
                turnover = now / ZONE_DWELL_MINUTES
                flow_in = poisson(rng, turnover + max(0.0, now - before))
                flow_out = poisson(rng, turnover + max(0.0, before - now))
                at = fair.start + 60 * m
                noise = 1 + fair.camera_bias[f"{device}-OCC"] + CAMERA_NOISE * rng.gauss(0, 1)
                sink.occupancy(at + 20, f"{device}-OCC", zone, max(0, round(now * noise)))
                for k in (1, 2):
                    gain_in, gain_out = fair.line_gain[f"{device}-L{k}"]
                    sink.line_count(
                        at + 30 + 5 * k, f"{device}-L{k}", zone,
                        round(flow_in / 2 * gain_in), round(flow_out / 2 * gain_out), 60,
                    )  # fmt: skip
                before = now


class CountingLineDrift(Scenario):
    """Noise: a counting line that counts phantom entries (a door swinging in its beam)."""

    name: ClassVar[str] = COUNTING_LINE_DRIFT
    start_hour, end_hour = 7, 20

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        lines = [c for c in district.public.crowd_counters if c.mode == "line"]
        if not lines:
            return
        line = lines[int(rng.random() * len(lines))]
        per_minute = 2.0 + 4.0 * rng.random()
        t0 = day.start + self.start_hour * 3600
        t1 = day.start + self.end_hour * 3600
        day.record(
            self.name, line.device_id, t0, t1, zone=line.zone_id, extra_per_minute=per_minute
        )
        # The phantom counts draw from a stream of their own, not the sink's: the day's
        # other events stay the same whichever line drifts and how much.
        counts = random.Random(rng.getrandbits(64))
        for hour in range(self.start_hour, self.end_hour):
            day.at(
                day.start + hour * 3600,
                self._emit_hour,
                (line.device_id, line.zone_id, per_minute, counts),
            )

    @staticmethod
    def _emit_hour(sink: Sink, t: int, arg: tuple[str, str, float, random.Random]) -> None:
        device, zone, per_minute, counts = arg
        for m in range(60):
            extra = poisson(counts, per_minute)
            if extra:
                sink.line_count(t + 60 * m + 45, device, zone, extra, 0, 60)


CROWD_SCENARIOS: list[type[Scenario]] = [TempleFair, CountingLineDrift]
