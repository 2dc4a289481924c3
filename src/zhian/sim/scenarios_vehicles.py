"""Planted vehicle and casing situations for the batch models (issue #6), and their noise.

Positive cases: a car left inside a community for good (zombie vehicle), muck trucks in the
day and hazmat vehicles at residential gates, someone trying many unit doors or many
communities (casing). Noise: guests' cars staying a few days; the night-time muck trucks of
the background (permitted hours) and registered couriers already run elsewhere.
"""

from __future__ import annotations

import random

from zhian.ingest.events import Subject
from zhian.sim.district import District
from zhian.sim.people import Car, make_plate
from zhian.sim.scenarios import HOUR, Scenario, instances
from zhian.sim.tables import Site
from zhian.sim.timeline import DAY_SECONDS, Day, Sink

ZOMBIE_VEHICLE = "zombie_vehicle"
GUEST_CAR = "guest_car"
RESTRICTED_VEHICLE = "restricted_vehicle"
CASING = "casing"


def _drive(sink: Sink, t: int, arg: tuple[str, Car, str]) -> None:
    gate, car, direction = arg
    sink.vehicle(t, gate, car, "in" if direction == "in" else "out")


def _gated_sites(district: District) -> list[Site]:
    return [s for s in district.sites if s.vehicle_gates]


def _stranger_car(rng: random.Random) -> Car:
    return Car(make_plate(rng, "blue"), "blue", "car", -1, -1)


class ZombieVehicle(Scenario):
    """A car not registered to the community drives in and never leaves."""

    name = ZOMBIE_VEHICLE
    per_scale = 1.0

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if not day.is_first:
            return
        sites = _gated_sites(district)
        for _ in range(max(1, round(self.per_scale * district.scale))):
            site = sites[int(rng.random() * len(sites))]
            gate = site.vehicle_gates[int(rng.random() * len(site.vehicle_gates))]
            car = _stranger_car(rng)
            t = day.pick(rng, 8, 20)
            if t is None:
                return
            day.at(t, _drive, (gate, car, "in"))
            day.record(self.name, car.plate, t, None, gate=gate, community_id=site.community_id)


class GuestCars(Scenario):
    """Noise: a guest's car that stays one to four days and leaves."""

    name = GUEST_CAR
    per_day = 0.5

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        sites = _gated_sites(district)
        for _ in range(instances(rng, day, self.per_day)):
            site = sites[int(rng.random() * len(sites))]
            gate = site.vehicle_gates[int(rng.random() * len(site.vehicle_gates))]
            car = _stranger_car(rng)
            t0 = day.pick(rng, 9, 20)
            if t0 is None:
                continue
            t1 = t0 + int((1 + 3 * rng.random()) * DAY_SECONDS)
            day.at(t0, _drive, (gate, car, "in"))
            day.at(t1, _drive, (gate, car, "out"))
            day.record(self.name, car.plate, t0, t1, gate=gate)


class RestrictedVehicles(Scenario):
    """A muck truck at a residential gate in the day, or a hazmat vehicle at any hour."""

    name = RESTRICTED_VEHICLE
    per_day = 0.4

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        sites = _gated_sites(district)
        for _ in range(instances(rng, day, self.per_day)):
            site = sites[int(rng.random() * len(sites))]
            gate = site.vehicle_gates[int(rng.random() * len(site.vehicle_gates))]
            if rng.random() < 0.6:
                trucks = district.muck_trucks
                car = trucks[int(rng.random() * len(trucks))]
                t = day.pick(rng, 8, 18, HOUR)
            else:
                car = Car(make_plate(rng, "yellow"), "yellow", "hazmat", -1, -1)
                t = day.pick(rng, 0, 23, HOUR)
            if t is None:
                continue
            stay = int((15 + 25 * rng.random()) * 60)
            day.at(t, _drive, (gate, car, "in"))
            day.at(t + stay, _drive, (gate, car, "out"))
            day.record(
                self.name, car.plate, t, t + stay, vehicle_class=car.vehicle_class,
                community_id=site.community_id,
            )  # fmt: skip


class Casing(Scenario):
    """Someone on a phone QR pass trying many unit doors of one community in half an hour,
    or passing doors of three communities in one day."""

    name = CASING
    per_day = 0.4

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        for _ in range(instances(rng, day, self.per_day)):
            subject = Subject("qr", f"qr-{rng.getrandbits(40):010x}")
            t = day.pick(rng, 9, 15, 4 * HOUR)
            if t is None:
                continue
            if rng.random() < 0.6:
                sites = [s for s in district.sites if len(s.unit_doors) >= 8]
                if not sites:  # a small district: its largest estate
                    sites = [max(district.sites, key=lambda s: len(s.unit_doors))]
                site = sites[int(rng.random() * len(sites))]
                count = min(len(site.unit_doors), 5 + int(rng.random() * 4))
                doors = rng.sample(site.unit_doors, count)
                for door in doors:
                    day.at(t, self._door, (subject, door, 30 + int(rng.random() * 60)))
                    t += 120 + int(rng.random() * 120)
                variant, places = "units", [site.community_id]
            else:
                visits: list[str] = []
                for site in district.sites:
                    gates = [e.door for e in site.entrances if e.door is not None]
                    visits += (gates or site.unit_doors)[:1]
                for door in visits:
                    day.at(t, self._door, (subject, door, 300 + int(rng.random() * 600)))
                    t += 2400 + int(rng.random() * 1200)
                variant, places = "communities", [s.community_id for s in district.sites]
            day.record(
                self.name, f"qr:{subject.ref}", t, t + 3 * HOUR, variant=variant,
                communities=places,
            )  # fmt: skip

    @staticmethod
    def _door(sink: Sink, t: int, arg: tuple[Subject, str, int]) -> None:
        subject, door, stay = arg
        sink.access(t, door, subject, "in", "qr")
        sink.access(t + stay, door, subject, "out", "qr")


VEHICLE_SCENARIOS: list[type[Scenario]] = [ZombieVehicle, GuestCars, RestrictedVehicles, Casing]
