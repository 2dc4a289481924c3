"""Life around the residents: visitors, deliveries, passing traffic and passers-by.

Generated an hour at a time from hourly rates; a visit or a delivery schedules its own way
out. Visitors and passers-by are deliberately unknown to the master data (`qr`/`visitor`
subjects, faces without a subject).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, NamedTuple

from zhian.ingest.events import AccessMethod, Direction, Subject
from zhian.sim.crowds import Crowds, poisson
from zhian.sim.people import Car
from zhian.sim.tables import Site
from zhian.sim.timeline import SLICE_SECONDS, Sink, Timeline

if TYPE_CHECKING:
    from zhian.sim.district import District

# Relative volumes by hour of day: road traffic, people on foot.
TRAFFIC = (3, 2, 1.5, 1.5, 2, 5, 15, 40, 60, 40, 30, 30, 32, 30, 30, 35, 45, 60, 50, 35, 25, 20,
           12, 6)  # fmt: skip
PEDESTRIANS = (4, 2, 1, 1, 1, 2, 6, 14, 20, 28, 40, 52, 62, 56, 48, 46, 52, 70, 90, 100, 85, 60,
               30, 12)  # fmt: skip
CHECKPOINT_PER_DAY = 1500.0
STREET_CAPTURES_PER_DAY = 1800.0
PASSERS_BY = 4000  # people who walk the shopping street now and then
MUCK_TRUCKS_PER_NIGHT_HOUR = 0.35  # at the checkpoint, 22:00-05:00
MUCK_TRUCKS_AT_GATES_PER_NIGHT_HOUR = 0.04  # renovation waste out of the old neighbourhood
# Visits per hour from 8:00 to 21:00, per community kind, at scale 1.
VISITORS_PER_HOUR = {"gated": 5.0, "open": 4.0, "rental": 3.0}
DELIVERIES_PER_GATE_HOUR = 0.6  # vans and trucks, 8:00-19:00


class Visit(NamedTuple):
    """A visitor's way in: entrance door and camera, the unit door, and their pass."""

    gate: str | None
    camera: str | None
    door: str | None
    subject: Subject
    method: AccessMethod


def _weights(hourly: tuple[float, ...], per_day: float) -> list[float]:
    total = sum(hourly)
    return [per_day * v / total for v in hourly]


class Background:
    """Visitors, deliveries, traffic at the checkpoint and faces in the street, per hour."""

    def __init__(self, district: District, timeline: Timeline) -> None:
        self.district = district
        self.timeline = timeline
        self.scale = district.scale
        self.traffic = _weights(TRAFFIC, CHECKPOINT_PER_DAY)
        self.pedestrians = _weights(PEDESTRIANS, STREET_CAPTURES_PER_DAY)
        self.crowds = Crowds(district.public.crowd_counters, timeline.surges)

    def run_hour(
        self, sink: Sink, day_start: int, hour_t: int, weekend: bool, rng: random.Random
    ) -> None:
        hour = (hour_t - day_start) // SLICE_SECONDS
        self._checkpoint(sink, hour, hour_t, weekend, rng)
        self._street(sink, hour, hour_t, weekend, rng)
        if 8 <= hour < 21:
            for site in self.district.sites:
                rate = VISITORS_PER_HOUR[site.kind] * self.scale * (1.5 if weekend else 1.0)
                for _ in range(poisson(rng, rate)):
                    self._visit(sink, site, hour_t + int(rng.random() * SLICE_SECONDS), rng)
        if 8 <= hour < 19 and not (weekend and hour < 10):
            for site in self.district.sites:
                for gate in site.vehicle_gates:
                    for _ in range(poisson(rng, DELIVERIES_PER_GATE_HOUR)):
                        self._delivery(sink, gate, hour_t + int(rng.random() * 3600), rng)
        if hour >= 22 or hour < 5:
            self._muck_trucks(sink, hour_t, rng)
        # The counts draw from the crowd's own stream (Crowds.start_day), not from `rng`.
        self.crowds.run_hour(sink, day_start, hour_t, weekend)

    def _checkpoint(
        self, sink: Sink, hour: int, hour_t: int, weekend: bool, rng: random.Random
    ) -> None:
        pool = self.district.passing_plates
        checkpoint = self.district.public.checkpoint
        rate = self.traffic[hour] * (0.8 if weekend else 1.0)
        for _ in range(poisson(rng, rate)):
            # Regulars pass often, most plates rarely: favour the front of the pool.
            car = pool[int(len(pool) * rng.random() ** 2)]
            direction: Direction = "in" if rng.random() < 0.5 else "out"
            sink.vehicle(hour_t + int(rng.random() * SLICE_SECONDS), checkpoint, car, direction)

    def _street(
        self, sink: Sink, hour: int, hour_t: int, weekend: bool, rng: random.Random
    ) -> None:
        cameras = self.district.public.street_cameras
        rate = self.pedestrians[hour] * (1.4 if weekend else 1.0)
        for _ in range(poisson(rng, rate)):
            person = f"passer-{int(PASSERS_BY * rng.random() ** 1.5)}"
            camera = cameras[int(rng.random() * len(cameras))]
            sink.face(hour_t + int(rng.random() * SLICE_SECONDS), camera, person, None)

    def _visit(self, sink: Sink, site: Site, t: int, rng: random.Random) -> None:
        """A visitor comes in by QR pass (or door code), stays 0.5-3 hours, and leaves."""
        entrance = site.entrances[int(rng.random() * len(site.entrances))]
        method: AccessMethod = "qr"
        subject = Subject("qr", f"qr-{rng.getrandbits(40):010x}")
        if site.kind == "rental" and rng.random() < 0.4:
            subject = Subject("visitor", f"visitor-{rng.getrandbits(40):010x}")
            method = "password"
        door = None
        if site.unit_doors and rng.random() < 0.8:
            door = site.unit_doors[int(rng.random() * len(site.unit_doors))]
        visit = Visit(entrance.door, entrance.camera, door, subject, method)
        self._comes_in(sink, t, visit)
        leave = t + int((0.5 + 2.5 * rng.random()) * SLICE_SECONDS)
        self.timeline.at(leave, self._goes_out, visit)

    @staticmethod
    def _comes_in(sink: Sink, t: int, visit: Visit) -> None:
        if visit.gate is not None:
            sink.access(t, visit.gate, visit.subject, "in", visit.method)
        if visit.camera is not None:
            sink.face(t + 1, visit.camera, visit.subject.ref, None)
        if visit.door is not None:
            t += 40 + int(sink.rng.random() * 120)
            sink.access(t, visit.door, visit.subject, "in", visit.method)

    @staticmethod
    def _goes_out(sink: Sink, t: int, visit: Visit) -> None:
        if visit.door is not None:
            sink.access(t, visit.door, visit.subject, "out", visit.method)
            t += 40 + int(sink.rng.random() * 120)
        if visit.gate is not None:
            sink.access(t, visit.gate, visit.subject, "out", visit.method)
        if visit.camera is not None:
            sink.face(t + 1, visit.camera, visit.subject.ref, None)

    def _delivery(self, sink: Sink, gate: str, t: int, rng: random.Random) -> None:
        pool = self.district.trade_plates
        car = pool[int(len(pool) * rng.random() ** 1.5)]
        sink.vehicle(t, gate, car, "in")
        self.timeline.at(t + int((10 + 30 * rng.random()) * 60), self._drives_out, (gate, car))

    @staticmethod
    def _drives_out(sink: Sink, t: int, arg: tuple[str, Car]) -> None:
        gate, car = arg
        sink.vehicle(t, gate, car, "out")

    def _muck_trucks(self, sink: Sink, hour_t: int, rng: random.Random) -> None:
        trucks = self.district.muck_trucks
        checkpoint = self.district.public.checkpoint
        for _ in range(poisson(rng, MUCK_TRUCKS_PER_NIGHT_HOUR)):
            car = trucks[int(rng.random() * len(trucks))]
            direction: Direction = "in" if rng.random() < 0.5 else "out"
            sink.vehicle(hour_t + int(rng.random() * SLICE_SECONDS), checkpoint, car, direction)
        for site in self.district.sites:
            if site.kind != "open" or not site.vehicle_gates:
                continue
            for _ in range(poisson(rng, MUCK_TRUCKS_AT_GATES_PER_NIGHT_HOUR * self.scale)):
                car = trucks[int(rng.random() * len(trucks))]
                t = hour_t + int(rng.random() * SLICE_SECONDS)
                gate = site.vehicle_gates[0]
                sink.vehicle(t, gate, car, "in")
                leaves = t + int((8 + 12 * rng.random()) * 60)
                self.timeline.at(leaves, self._drives_out, (gate, car))
