"""The hard simulator (`difficulty = "hard"`): the field as officers describe it, not as the
models expect it (issue #20).

On top of the standard district it adds:

- noise that resembles each planted pattern: a resident on a long hospital stay (gone for
  weeks, then back: looks moved out, or a vacant house when living alone), a wedding at
  home (dozens of one-day guests through one unit door: looks like lodgers or a group
  rental); couriers and shift workers are already in the standard district;
- planted scenarios whose parameters are drawn from ranges: an unregistered lodger sleeps
  at the unit 55–95 % of nights (standard: 90 %); a resident moves out on any of the
  stream's first ten days (standard: the first afternoon);
- the devices' own faults: missed reads (a passage, gate read or capture lost), duplicated
  reads (a reader that reports one passage twice, a few seconds apart, under a new id) and
  clock skew (some devices' clocks run minutes fast or slow, steadily).

The standard district is unchanged (`Simulation(difficulty="standard")`, the default), so
the demo and the tests keep their behaviour; `zhian eval --difficulty hard` reports on this.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Literal

import msgspec

from zhian.ingest.events import AccessEvent, CrowdEvent, Event, FaceEvent, Subject, VehicleEvent
from zhian.sim.activity import Routines
from zhian.sim.district import District
from zhian.sim.people import Car, Role, make_plate
from zhian.sim.scenarios import HOUR, Scenario
from zhian.sim.scenarios_housing import (
    Lodger,
    MemberMovesOut,
    UnregisteredResident,
    _households,
    _pass,
)
from zhian.sim.scenarios_vehicles import _drive
from zhian.sim.timeline import DAY_SECONDS, Day, Sink

Difficulty = Literal["standard", "hard"]
DIFFICULTIES: tuple[Difficulty, ...] = ("standard", "hard")

HOSPITAL_STAY = "hospital_stay"
WEDDING = "wedding"
FAMILY_MOVES_WITHIN = "family_moves_within"
CARPOOL = "carpool"
WEDDING_CROWD = "wedding_crowd"
COUNTING_LINE_FAILURE = "counting_line_failure"

# The field's warning density (persons/m²) that the wedding crowd stays below.
CROWD_THRESHOLD = 1.5
# Public zones where a wedding party gathers (the shopping street's restaurants, the plaza).
WEDDING_CROWD_ZONES = ("Z01", "Z02")
# The public zones' counting lines (the temple fair's, when added, are left alone).
PUBLIC_LINE_ZONES = ("Z01", "Z02", "Z03")

# Device faults, per read of a passage, gate or camera (heartbeats and counts are left be).
MISSED_READ = 0.03
DUPLICATED_READ = 0.02
SKEWED_DEVICE_SHARE = 0.15  # of devices, whose clock is off by
SKEW_SECONDS = (30, 900)  # ... this many seconds, fast or slow
_READS = (AccessEvent, VehicleEvent, FaceEvent)


class HospitalStay(Scenario):
    """Noise: an adult leaves home for hospital for 10–40 days, then comes back (maybe after
    the stream ends). Nothing is wrong: the registry is right."""

    name = HOSPITAL_STAY
    per_scale = 2.0

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if not day.is_first:
            return
        households = [
            (house, people)
            for house, people in _households(district, min_adults=1)
            if any(p.unit_door is not None for p in people)
        ]
        for _ in range(max(1, round(self.per_scale * district.scale))):
            house, people = households[int(rng.random() * len(households))]
            patient = next(p for p in people if p.role is not Role.CHILD)
            t0 = day.pick(rng, 8, 12)
            if t0 is None:
                return
            t0 += int(rng.random() * 5) * DAY_SECONDS  # on one of the first five days
            days = 10 + 30 * rng.random()
            t1 = t0 + int(days * DAY_SECONDS)
            if not day.is_free(patient.index, t0 - HOUR, t1 + HOUR):
                continue
            day.block(patient.index, t0 - HOUR, t1 + HOUR)
            day.at(t0, self.routines.household_leaves, ([patient], -1))
            day.at(t1, self.routines.household_returns, ([patient], -1))
            # The end is cut when the stream ends first: `days` is the stay as planned.
            day.record(
                self.name, patient.id, t0, t1, house_id=house, household=len(people),
                days=round(days, 1),
            )  # fmt: skip


class Wedding(Scenario):
    """Noise: a household holds a wedding (or a funeral) at home: 25–70 guests on visitor
    passes come through one unit door in the morning and leave over the afternoon."""

    name = WEDDING
    per_scale = 1.0

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if rng.random() > self.per_scale * district.scale / 7 and not day.is_first:
            return
        households = [
            (house, people)
            for house, people in _households(district, min_adults=1)
            if people[0].unit_door is not None
        ]
        if not households:
            return
        house, people = households[int(rng.random() * len(households))]
        host = people[0]
        assert host.unit_door is not None
        site = district.sites[host.site]
        arrive = day.pick(rng, 9, 12)
        leave = day.pick(rng, 14, 22)
        if arrive is None or leave is None:
            return
        guests = 25 + int(rng.random() * 46)
        for _ in range(guests):
            ref = f"qr-wedding-{rng.getrandbits(40):010x}"
            guest = Lodger(
                Subject("qr", ref), site, host.unit_door,
                int(rng.random() * len(site.entrances)), 0.0, arrive, leave, ref,
            )  # fmt: skip
            day.at(arrive + int(rng.random() * 2 * HOUR), _pass, (guest, "in"))
            day.at(leave + int(rng.random() * 2 * HOUR), _pass, (guest, "out"))
        day.record(self.name, house, arrive, leave, guests=guests, door=host.unit_door)


class FamilyMovesWithin(Scenario):
    """A household moves to another unit of the same community on one of the stream's first
    ten days: from then on its members pass the new unit's door; the registry still holds
    the old house. Its old house stands empty while its residents are seen every day (the
    vacant-house and moved-out models see presence, not where people sleep); the registry
    needs an update no model raises."""

    name = FAMILY_MOVES_WITHIN
    per_scale = 1.0

    def __init__(self, routines: Routines) -> None:
        super().__init__(routines)
        self._move_day: int | None = None

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if day.is_first:
            self._move_day = day.index + int(rng.random() * 10)
        if day.index != self._move_day:
            return
        households = [
            (house, people)
            for house, people in _households(district, min_adults=1)
            if all(p.unit_door is not None for p in people)
            and len(district.sites[people[0].site].unit_doors) > 1
        ]
        if not households:
            return
        for _ in range(max(1, round(self.per_scale * district.scale))):
            house, people = households[int(rng.random() * len(households))]
            old = people[0].unit_door
            doors = [d for d in district.sites[people[0].site].unit_doors if d != old]
            new = doors[int(rng.random() * len(doors))]
            for person in people:
                person.unit_door = new
            day.record(
                self.name, house, day.window[0], None, old_door=old, new_door=new,
                residents=[p.id for p in people],
            )  # fmt: skip


class Carpool(Scenario):
    """Noise: a colleague's car, registered to no community here, picks a resident up on
    workday mornings (in at the gate, out a few minutes later) and brings them back in the
    evening. With the gate's missed reads it looks, some days, like a car that stayed."""

    name = CARPOOL
    per_scale = 2.0

    def __init__(self, routines: Routines) -> None:
        super().__init__(routines)
        self._cars: list[tuple[str, Car]] = []

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if day.is_first:
            sites = [s for s in district.sites if s.vehicle_gates]
            for _ in range(max(1, round(self.per_scale * district.scale))):
                site = sites[int(rng.random() * len(sites))]
                gate = site.vehicle_gates[int(rng.random() * len(site.vehicle_gates))]
                car = Car(make_plate(rng, "blue"), "blue", "car", -1, -1)
                self._cars.append((gate, car))
                day.record(self.name, car.plate, day.window[0], None, gate=gate)
        if day.is_weekend:
            return
        for gate, car in self._cars:
            for lo, hi in ((7, 8.5), (17.5, 19.5)):
                t = day.pick(rng, lo, hi, 15 * 60)
                if t is None:
                    continue
                day.at(t, _drive, (gate, car, "in"))
                day.at(t + 120 + int(rng.random() * 480), _drive, (gate, car, "out"))


class WeddingCrowd(Scenario):
    """Noise for the crowd rule: a wedding party at a restaurant on the shopping street or
    on the plaza. Its guests arrive over an hour or two and leave over the afternoon: a
    surge as steep as a planned event's, declared nowhere, whose extra people peak at 25–50 %
    of the warning density of the zone (its counting lines and camera see them). Truth:
    the zone, the surge and its peak; nothing must warn."""

    name = WEDDING_CROWD

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if not day.is_first:
            return
        areas = {
            str(row["id"]): float(str(row["area_m2"]))
            for row in district.tables.get("zones", [])
            if row["id"] in WEDDING_CROWD_ZONES
        }
        lined = {c.zone_id for c in district.public.crowd_counters if c.mode == "line"}
        zones = sorted(z for z in areas if z in lined)
        if not zones:
            return
        zone = zones[int(rng.random() * len(zones))]
        t0 = day.pick(rng, 10, 11.5)
        if t0 is None:
            return
        t1 = t0 + int((3 + 3 * rng.random()) * HOUR)
        share = 0.25 + 0.25 * rng.random()
        peak = share * CROWD_THRESHOLD * areas[zone]
        day.surge(zone, t0, t1, peak)
        day.record(
            self.name, zone, t0, t1, extra_peak=round(peak), area_m2=areas[zone],
            extra_peak_density=round(peak / areas[zone], 3), threshold=CROWD_THRESHOLD,
        )  # fmt: skip


class CountingLineFails(Scenario):
    """Noise for the crowd rule and the devices' health checks: a counting line whose beam
    is blocked (a parked stall, a banner) goes on reporting every minute and beating as
    healthy, but counts nobody in or out for 2–6 hours: the zone's flow looks like an empty
    street while the occupancy camera still sees people. Truth: the line, the window."""

    name = COUNTING_LINE_FAILURE

    def __init__(self, routines: Routines) -> None:
        super().__init__(routines)
        self._failed: list[tuple[str, int, int]] = []

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if not day.is_first:
            return
        lines = [
            c
            for c in district.public.crowd_counters
            if c.mode == "line" and c.zone_id in PUBLIC_LINE_ZONES
        ]
        if not lines:
            return
        line = lines[int(rng.random() * len(lines))]
        t0 = day.pick(rng, 9, 15)
        if t0 is None:
            return
        t1 = t0 + int((2 + 4 * rng.random()) * HOUR)
        self._failed.append((line.device_id, t0, t1))
        day.record(self.name, line.device_id, t0, t1, zone=line.zone_id)

    def on_slice(self, sink: Sink, start: int) -> None:
        for device, t0, t1 in self._failed:
            if t1 <= sink.base or t0 >= sink.base + len(sink.buckets):
                continue
            for i, bucket in enumerate(sink.buckets):
                if not t0 <= sink.base + i < t1:
                    continue
                bucket[:] = [
                    msgspec.structs.replace(e, count_in=0, count_out=0)
                    if isinstance(e, CrowdEvent) and e.device_id == device
                    else e
                    for e in bucket
                ]


class VaryingUnregisteredResident(UnregisteredResident):
    """Unregistered lodgers who sleep at the unit on 55–95 % of nights."""

    home_share_range = (0.55, 0.95)


class MemberMovesOutAnyDay(MemberMovesOut):
    """One adult moves away on one of the stream's first ten days (drawn per stream)."""

    def __init__(self, routines: Routines) -> None:
        super().__init__(routines)
        self._leave_day: int | None = None

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if day.is_first:
            self._leave_day = day.index + int(rng.random() * 10)
        if day.index == self._leave_day:
            self.leave(district, rng, day, whole=False)


def hard_scenarios(standard: list[type[Scenario]]) -> list[type[Scenario]]:
    """The standard scenarios with the varying ones in place, and the field's noise added."""
    swap: dict[type[Scenario], type[Scenario]] = {
        UnregisteredResident: VaryingUnregisteredResident,
        MemberMovesOut: MemberMovesOutAnyDay,
    }
    return [swap.get(cls, cls) for cls in standard] + [
        HospitalStay,
        Wedding,
        FamilyMovesWithin,
        Carpool,
        WeddingCrowd,
        CountingLineFails,
    ]


def _device_skew(device: str, seed: int) -> timedelta:
    """A device's steady clock error, the same for the whole stream (most devices: none)."""
    rng = random.Random(zlib.crc32(f"{seed}:{device}".encode()))
    if rng.random() >= SKEWED_DEVICE_SHARE:
        return timedelta(0)
    low, high = SKEW_SECONDS
    return timedelta(seconds=rng.choice((-1, 1)) * rng.randint(low, high))


def with_device_faults(
    events: Iterator[Event], seed: int, *, exempt: frozenset[str] = frozenset()
) -> Iterator[Event]:
    """The stream as faulty devices report it: reads missed, reads reported twice, and
    each device's clock error on its times. Deterministic per seed. The `exempt` devices'
    events pass as they are, without a draw (they have faults of their own)."""
    rng = random.Random(seed * 7919 + 17)
    skews: dict[str, timedelta] = {}
    for event in events:
        if not isinstance(event, _READS) or event.device_id in exempt:
            yield event
            continue
        draw = rng.random()
        if draw < MISSED_READ:
            continue
        skew = skews.get(event.device_id)
        if skew is None:
            skew = skews[event.device_id] = _device_skew(event.device_id, seed)
        if skew:
            event = msgspec.structs.replace(event, time=event.time + skew)
        yield event
        if draw > 1 - DUPLICATED_READ:
            again = event.time + timedelta(seconds=1 + int(rng.random() * 5))
            yield msgspec.structs.replace(event, id=f"{event.id}-again", time=again)
