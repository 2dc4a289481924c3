"""Planted scenarios and their ground truth: one `Scenario` subclass per situation.

Every simulated day, each registered scenario decides what happens that day (`plant`),
records the truth and schedules the events that show it. A scenario that needs to act on
every slice (a crowd that builds up) overrides `on_slice`. Adding a scenario is one new
class appended to `SCENARIOS`.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import ClassVar

from zhian.ingest.events import Subject
from zhian.sim import truth
from zhian.sim.activity import Routines
from zhian.sim.crowds import poisson
from zhian.sim.district import District
from zhian.sim.people import Person, Role
from zhian.sim.tables import Site
from zhian.sim.timeline import DAY_SECONDS, Day, Sink

HOUR = 3600


class Scenario(ABC):
    """A situation planted in the stream, with its ground truth."""

    name: ClassVar[str]

    def __init__(self, routines: Routines) -> None:
        self.routines = routines

    @abstractmethod
    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        """Decide this day's instances: `day.record` the truth, `day.at` the events."""

    def on_slice(self, sink: Sink, start: int) -> None:
        """Called for every slice (an hour from second `start`) before it is yielded."""
        return None


def instances(rng: random.Random, day: Day, per_day: float) -> int:
    """How many this day: Poisson around the rate, and at least one on the stream's first
    day, so that every stream of a day or more shows every scenario."""
    n = poisson(rng, per_day * day.district.scale)
    return max(n, 1) if day.is_first else n


def _choice(rng: random.Random, items: list[str]) -> str:
    return items[int(rng.random() * len(items))]


def _kind(district: District, device: str) -> str:
    return str(district.device_rows[device]["kind"])


def _drawn_devices(district: District) -> list[str]:
    """The devices that outages and faults are drawn from: car-park cameras came later
    (#20) and are left out, so the other devices' outages and faults stay where they were."""
    return [d for d in district.enabled_devices if _kind(district, d) != "parking_camera"]


class DeviceOffline(Scenario):
    """A device goes silent for hours: no heartbeat, no event at all."""

    name = truth.DEVICE_OFFLINE
    per_day = 1.5

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        candidates = [d for d in _drawn_devices(district) if _kind(district, d) != "gateway"]
        for _ in range(instances(rng, day, self.per_day)):
            duration = int((2 + 6 * rng.random()) * HOUR)
            length = day.window[1] - day.window[0]
            if duration > length // 2:
                duration = length // 2
            if duration < 1800:
                return
            t0 = day.pick(rng, 0, 24, duration)
            if t0 is None:
                return
            for _attempt in range(10):
                device = _choice(rng, candidates)
                if day.reserve(device, t0 - 600, t0 + duration + 600):
                    day.silence(device, t0, t0 + duration)
                    day.record(self.name, device, t0, t0 + duration, kind=_kind(district, device))
                    break


FAULT_CODES = {
    "door": ("battery_low", "tamper_open", "reader_error"),
    "face_camera": ("storage_full", "clock_drift"),
    "vehicle_gate": ("barrier_stuck", "storage_full"),
    "checkpoint": ("storage_full",),
    "parking_camera": ("storage_full",),
    "smoke_sensor": ("battery_low", "sensor_dirty"),
    "perimeter_alarm": ("battery_low", "tamper_open"),
    "sos_button": ("battery_low",),
    "crowd_counter": ("lens_obstructed", "clock_drift"),
    "gateway": ("power_unstable",),
}


class DeviceFault(Scenario):
    """A device keeps reporting but its heartbeats say `fault` with a code, for hours."""

    name = truth.DEVICE_FAULT
    per_day = 1.0

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        devices = _drawn_devices(district)
        for _ in range(instances(rng, day, self.per_day)):
            duration = int((1 + 11 * rng.random()) * HOUR)
            duration = min(duration, (day.window[1] - day.window[0]) // 2)
            if duration < 1800:
                return
            t0 = day.pick(rng, 0, 24, duration)
            if t0 is None:
                return
            for _attempt in range(10):
                device = _choice(rng, devices)
                if day.reserve(device, t0 - 600, t0 + duration + 600):
                    kind = _kind(district, device)
                    codes = FAULT_CODES.get(kind, ("other",))
                    code = codes[int(rng.random() * len(codes))]
                    day.fault(device, t0, t0 + duration, code)
                    day.record(self.name, device, t0, t0 + duration, kind=kind, code=code)
                    break


class NightShiftWorkers(Scenario):
    """Noise: residents who leave at night and come back in the morning, by routine."""

    name = truth.NIGHT_SHIFT_WORKER

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if not day.is_first:
            return
        for person in district.people:
            if person.role is Role.NIGHT_SHIFT:
                day.record(
                    self.name, person.id, day.window[0], day.timeline.end_t,
                    house_id=person.house_id, shift="21:00-08:00",
                )  # fmt: skip


class AwayOnTrip(Scenario):
    """Noise: a household away for whole days (weekend trips, holidays): no passages at all."""

    name = truth.AWAY_ON_TRIP
    weekend_share = 0.04  # of households, leaving on a Saturday
    weekday_share = 0.006

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        households = [(s, h) for s in district.sites for h in s.households if h[1]]
        share = self.weekend_share if day.weekday == 5 else self.weekday_share
        n = poisson(rng, share * len(households))
        if day.is_first:
            n = max(n, 1)
        for _ in range(n):
            _, (house, members) = households[int(rng.random() * len(households))]
            people = [district.people[i] for i in members]
            t0 = day.pick(rng, 7.5, 11.5)
            if t0 is None:
                return
            if day.weekday == 5:
                t1 = day.start + DAY_SECONDS + int((15 + 5 * rng.random()) * HOUR)
            else:
                nights = 1 + int(rng.random() * 3)
                t1 = day.start + nights * DAY_SECONDS + int((14 + 7 * rng.random()) * HOUR)
            if not all(day.is_free(p.index, t0 - HOUR, t1 + HOUR) for p in people):
                continue
            for p in people:
                day.block(p.index, t0 - HOUR, t1 + HOUR)
            travellers = [p for p in people if p.role is not Role.CHILD]
            cars = [p.vehicle for p in travellers if p.vehicle >= 0]
            car = cars[0] if cars and rng.random() < 0.7 else -1
            day.at(t0, self.routines.household_leaves, (travellers, car))
            day.at(t1, self.routines.household_returns, (travellers, car))
            plate = district.cars[car].plate if car >= 0 else None
            day.record(self.name, house, t0, t1, residents=[p.id for p in people], plate=plate)


class Couriers(Scenario):
    """Noise: registered couriers visit many unit doors in a short time, rounds a day."""

    name = truth.COURIER
    windows = ((10.0, 12.0), (14.0, 17.0), (18.5, 20.5))

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        sites = [s for s in district.sites if s.unit_doors]
        weights = [{"gated": 5, "rental": 3, "open": 2}[s.kind] for s in sites]
        for courier in district.courier_refs:
            for low, high in self.windows:
                if rng.random() > 0.8:
                    continue
                site = rng.choices(sites, weights)[0]
                count = min(len(site.unit_doors), 6 + int(rng.random() * 9))
                doors = rng.sample(site.unit_doors, count)
                t0 = day.pick(rng, low, high, 2 * HOUR)
                if t0 is None:
                    continue
                t = self._round(day, rng, site, courier, doors, t0)
                day.record(self.name, courier, t0, t, community_id=site.community_id, doors=doors)

    def _round(
        self, day: Day, rng: random.Random, site: Site, courier: str, doors: list[str], t: int
    ) -> int:
        subject = Subject("visitor", courier)
        entrance = site.entrances[int(rng.random() * len(site.entrances))]
        day.at(t, self._entrance, (entrance.door, entrance.camera, subject, "in"))
        for door in doors:
            t += 60 + int(rng.random() * 240)
            day.at(t, self._drop, (door, subject, 30 + int(rng.random() * 120)))
        t += 300
        day.at(t, self._entrance, (entrance.door, entrance.camera, subject, "out"))
        return t + 2

    @staticmethod
    def _entrance(sink: Sink, t: int, arg: tuple[str | None, str | None, Subject, str]) -> None:
        door, camera, subject, direction = arg
        if door is not None:
            sink.access(t, door, subject, "in" if direction == "in" else "out", "qr")
        if camera is not None:
            sink.face(t + 1, camera, subject.ref, None)

    @staticmethod
    def _drop(sink: Sink, t: int, arg: tuple[str, Subject, int]) -> None:
        door, subject, stay = arg
        sink.access(t, door, subject, "in", "password")
        sink.access(t + stay, door, subject, "out", "password")


class Tailgating(Scenario):
    """Someone follows a resident through an access-controlled door.

    Variants: `denied_then_granted` (a refused read by an unknown card, then a resident's
    granted read within seconds) and `face_without_access` (at an entrance with a camera:
    two faces captured, one read)."""

    name = truth.TAILGATING
    per_day = 2.0

    def __init__(self, routines: Routines) -> None:
        super().__init__(routines)
        self._adults: dict[str, list[Person]] = {}

    def _adults_of(self, district: District, site: Site) -> list[Person]:
        adults = self._adults.get(site.community_id)
        if adults is None:
            adults = [
                district.people[i]
                for _, members in site.households
                for i in members
                if district.people[i].role is not Role.CHILD
            ]
            self._adults[site.community_id] = adults
        return adults

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        for _ in range(instances(rng, day, self.per_day)):
            t = day.pick(rng, 7, 22, 120)
            if t is None:
                return
            gates = [
                (site, e.door, e.camera)
                for site in district.sites
                for e in site.entrances
                if e.door is not None
            ]
            variant = "face_without_access" if rng.random() < 0.5 else "denied_then_granted"
            if variant == "face_without_access" or rng.random() < 0.4:
                site, door, camera = gates[int(rng.random() * len(gates))]
                hosts = self._adults_of(district, site)
            else:
                site = rng.choice([s for s in district.sites if s.unit_doors])
                door, camera = _choice(rng, site.unit_doors), None
                hosts = [
                    district.people[i]
                    for i in site.residents_by_door[door]
                    if district.people[i].role is not Role.CHILD
                ]
            if not hosts or door is None or not day.reserve(door, t - 60, t + 60):
                continue
            if camera is not None and not day.reserve(camera, t - 60, t + 60):
                continue
            host = hosts[int(rng.random() * len(hosts))]
            if not day.is_free(host.index, t - 60, t + 60):
                continue  # away (a holiday, moved out): not at the door
            intruder = f"tailgater-{rng.getrandbits(32):08x}"
            card = f"{rng.getrandbits(48):012X}"  # 12 digits: never a registered card
            day.at(t, self._emit, (variant, door, camera, host, intruder, card))
            day.record(
                self.name, door, t, t + 15, variant=variant, camera=camera,
                community_id=site.community_id, host=host.id,
            )  # fmt: skip

    @staticmethod
    def _emit(sink: Sink, t: int, arg: tuple[str, str, str | None, Person, str, str]) -> None:
        variant, door, camera, host, intruder, card = arg
        rng = sink.rng
        if variant == "denied_then_granted":
            sink.access(t, door, Subject("card", card), "in", "card", "denied")
            t += 3 + int(rng.random() * 5)
        sink.access(t, door, host.access_subject, "in", host.method)
        if camera is not None:
            sink.face(t, camera, host.id, host.face_subject)
            sink.face(t + 1 + int(rng.random() * 3), camera, intruder, None, with_feature=True)


def _residential_smoke(district: District) -> list[list[str]]:
    return [
        sensors
        for site in district.sites
        for sensors in site.smoke_by_building.values()
        if len(sensors) >= 2
    ]


class RealFire(Scenario):
    """A real fire: smoke that escalates to a fire alarm, and neighbouring sensors joining."""

    name = truth.REAL_FIRE
    per_day = 0.15

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        buildings = _residential_smoke(district)
        for _ in range(instances(rng, day, self.per_day)):
            t = day.pick(rng, 0, 24, 900)
            if t is None:
                return
            sensors = buildings[int(rng.random() * len(buildings))]
            first = _choice(rng, sensors)
            others = [s for s in sensors if s != first]
            neighbours = rng.sample(others, min(2, len(others)))
            involved = [first, *neighbours]
            if not all(day.reserve(d, t - 300, t + 900) for d in involved):
                continue
            day.at(t, self._emit, (first, neighbours))
            building = str(district.device_rows[first]["building_id"])
            day.record(self.name, first, t, t + 900, building_id=building, devices=involved)

    @staticmethod
    def _emit(sink: Sink, t: int, arg: tuple[str, list[str]]) -> None:
        first, neighbours = arg
        rng = sink.rng
        sink.alarm(t, first, "smoke", 3, "smoke concentration high")
        sink.alarm(t + 20 + int(rng.random() * 20), first, "smoke", 3, "smoke concentration rising")
        sink.alarm(t + 90 + int(rng.random() * 90), first, "fire", 4, "temperature rise, fire")
        for device in neighbours:
            sink.alarm(t + 60 + int(rng.random() * 240), device, "smoke", 3, "smoke detected")


class FalseSmokeAlarm(Scenario):
    """A lone smoke alarm that goes nowhere: cooking fumes, a cigarette, steam."""

    name = truth.FALSE_SMOKE_ALARM
    per_day = 1.2

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        sensors = [s for group in _residential_smoke(district) for s in group]
        sensors += [s for s in district.public.smoke if s not in district.disabled_devices]
        for _ in range(instances(rng, day, self.per_day)):
            roll = rng.random()
            hours = (11.0, 13.0) if roll < 0.3 else (17.0, 20.0) if roll < 0.6 else (0.0, 24.0)
            t = day.pick(rng, *hours, 180)
            if t is None:
                continue
            device = _choice(rng, sensors)
            if not day.reserve(device, t - 300, t + 300):
                continue
            repeat = rng.random() < 0.4
            day.at(t, self._emit, (device, repeat))
            day.record(self.name, device, t, t + 120, repeated=repeat)

    @staticmethod
    def _emit(sink: Sink, t: int, arg: tuple[str, bool]) -> None:
        device, repeat = arg
        sink.alarm(t, device, "smoke", 2, "smoke detected")
        if repeat:
            sink.alarm(t + 15 + int(sink.rng.random() * 45), device, "smoke", 2, "smoke detected")


class SosPressed(Scenario):
    """Someone presses an SOS button (sometimes twice)."""

    name = truth.SOS
    per_day = 0.4

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        buttons = [b for site in district.sites for b in site.sos] + district.public.sos
        for _ in range(instances(rng, day, self.per_day)):
            t = day.pick(rng, 6, 23, 120)
            if t is None:
                return
            button = _choice(rng, buttons)
            if not day.reserve(button, t - 300, t + 300):
                continue
            twice = rng.random() < 0.3
            day.at(t, self._emit, (button, twice))
            day.record(self.name, button, t, t + 60, pressed_twice=twice)

    @staticmethod
    def _emit(sink: Sink, t: int, arg: tuple[str, bool]) -> None:
        button, twice = arg
        sink.alarm(t, button, "sos", 3, "SOS button pressed")
        if twice:
            sink.alarm(t + 5 + int(sink.rng.random() * 15), button, "sos", 3, "SOS button pressed")


class PerimeterIntrusion(Scenario):
    """Someone climbs a fence at night: one perimeter alarm, often the next one too."""

    name = truth.PERIMETER_INTRUSION
    per_day = 0.2

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        fences = [s.perimeter for s in district.sites if s.perimeter]
        fences.append(district.public.perimeter)
        for _ in range(instances(rng, day, self.per_day)):
            t = day.pick(rng, 0.5, 4.5, 300)
            if t is None:
                return
            fence = fences[int(rng.random() * len(fences))]
            k = int(rng.random() * len(fence))
            involved = [fence[k]]
            if len(fence) > 1 and rng.random() < 0.6:
                involved.append(fence[(k + 1) % len(fence)])
            if not all(day.reserve(d, t - 300, t + 300) for d in involved):
                continue
            day.at(t, self._emit, involved)
            day.record(self.name, involved[0], t, t + 120, devices=involved)

    @staticmethod
    def _emit(sink: Sink, t: int, involved: list[str]) -> None:
        sink.alarm(t, involved[0], "perimeter", 3, "perimeter beam broken")
        for device in involved[1:]:
            sink.alarm(
                t + 20 + int(sink.rng.random() * 70),
                device,
                "perimeter",
                3,
                "perimeter beam broken",
            )


# The registry, in planting order: outages first, so that scenarios which need a device
# working pick around them; routines are planned after every scenario.
SCENARIOS: list[type[Scenario]] = [
    DeviceOffline,
    DeviceFault,
    NightShiftWorkers,
    AwayOnTrip,
    Couriers,
    Tailgating,
    RealFire,
    FalseSmokeAlarm,
    SosPressed,
    PerimeterIntrusion,
]

# Scenarios of the batch models (issue #6) live in their own modules, which subclass
# `Scenario`, so they are imported once it exists.
from zhian.sim.scenarios_housing import HOUSING_SCENARIOS  # noqa: E402
from zhian.sim.scenarios_vehicles import VEHICLE_SCENARIOS  # noqa: E402

SCENARIOS += [*HOUSING_SCENARIOS, *VEHICLE_SCENARIOS]

# Access control (#3): forced-entry bursts and card-misread noise; the outage going on
# across a stream's boundary (what a replayed history hands the live stream).
from zhian.sim.scenarios_access import ACCESS_SCENARIOS  # noqa: E402
from zhian.sim.scenarios_boundary import BOUNDARY_SCENARIOS  # noqa: E402

SCENARIOS += [*ACCESS_SCENARIOS, *BOUNDARY_SCENARIOS]

# Crowd safety (#6): the temple fair (planted only in a district passed through
# `with_temple_fair`) and counting-line drift (noise that must not fire).
from zhian.sim.scenarios_crowd import CROWD_SCENARIOS  # noqa: E402

SCENARIOS += CROWD_SCENARIOS
