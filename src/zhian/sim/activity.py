"""Residents' daily rhythms: trips out and home through unit doors, gates, cameras and barriers.

A day's trips are planned at midnight per resident from their routine role; each departure
and return is an action that places its reads when its hour is built. Ordinary noise lives
here too: a read missed on the way out (an `in` with no matching `out`), and a read refused
then retried by the same resident.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from zhian.ingest.events import Direction
from zhian.sim.people import Car, Person, Role
from zhian.sim.timeline import DAY_SECONDS, RECOGNISED_SHARE, Day, Sink

if TYPE_CHECKING:
    from zhian.sim.district import District

HOUR = 3600
# An `out` read that never happens: the door was held open by someone coming in.
MISSED_OUT_READ = 0.03
# A read refused and retried by the same person a few seconds later (a bad angle, a worn card).
RETRIED_READ = 0.01
# Share of passages through an entrance that its camera captures.
CAPTURED = 0.85
# Residents' cars: how often a resident who owns one drives it on a trip.
DRIVES_ON_WORKDAY = 0.6
DRIVES_OTHERWISE = 0.35

Trip = tuple[int, int, list[tuple[int, str]]]  # (out second of day, in second, camera sightings)


def _hours(rng: random.Random, low: float, high: float) -> int:
    return int((low + (high - low) * rng.random()) * HOUR)


def _peak(rng: random.Random, low: float, mode: float, high: float) -> int:
    return int(rng.triangular(low, high, mode) * HOUR)


class Routines:
    """Plans every resident's trips for a day and turns them into reads when they happen."""

    def __init__(self, district: District) -> None:
        self.district = district
        self.sites = district.sites
        self.cars = district.cars
        self.street_cameras = district.public.street_cameras
        self.school_cameras = district.public.school_cameras

    # -- planning ---------------------------------------------------------------------------

    def plan_day(self, day: Day, rng: random.Random) -> None:
        workday = not day.is_weekend
        drive_share = DRIVES_ON_WORKDAY if workday else DRIVES_OTHERWISE
        for person in self.district.people:
            if person.role is Role.CHILD:
                continue
            for out_s, in_s, sightings in self._trips(person.role, workday, rng):
                t0 = day.start + out_s
                t1 = day.start + in_s
                if not day.is_free(person.index, t0, t1):
                    continue
                if in_s > DAY_SECONDS:
                    day.block(person.index, t0, t1)  # tomorrow's plan must not overlap it
                drive = person.vehicle >= 0 and rng.random() < drive_share
                day.at(t0, self.leave, (person, drive))
                for offset, camera in sightings:
                    day.at(t0 + offset, self.sighting, (person, camera))
                day.at(t1, self.arrive, (person, drive))

    def _trips(self, role: Role, workday: bool, rng: random.Random) -> list[Trip]:
        trips: list[Trip] = []
        r = rng.random
        if role is Role.COMMUTER:
            if workday and r() < 0.93:
                trips.append((_peak(rng, 7.0, 8.0, 9.2), _peak(rng, 17.0, 18.3, 20.5), []))
                if r() < 0.15:
                    out = _hours(rng, 19.8, 20.8)
                    trips.append((out, out + _hours(rng, 0.7, 1.8), self._street(rng, 0.4)))
            elif not workday and r() < 0.75:
                out = _peak(rng, 8.5, 10.5, 15.0)
                trips.append((out, out + _hours(rng, 1.5, 6.0), self._street(rng, 0.3)))
        elif role is Role.STUDENT:
            if workday:
                out = _hours(rng, 6.9, 7.4)
                back = _hours(rng, 16.8, 17.7)
                school = self.school_cameras[int(r() * len(self.school_cameras))]
                seen = [(int(_hours(rng, 0.15, 0.4)), school)]
                seen.append((back - out - _hours(rng, 0.1, 0.3), school))
                trips.append((out, back, seen))
            elif r() < 0.5:
                out = _hours(rng, 9.0, 15.0)
                trips.append((out, out + _hours(rng, 1.0, 4.0), self._street(rng, 0.3)))
        elif role is Role.SERVICE:
            if r() < 0.85:  # restaurant staff are home late, some after midnight
                trips.append((_hours(rng, 9.3, 11.0), _hours(rng, 21.3, 24.8), []))
        elif role is Role.NIGHT_SHIFT:
            if r() < 0.3:
                out = _hours(rng, 12.5, 15.0)
                trips.append((out, out + _hours(rng, 0.5, 1.5), self._street(rng, 0.3)))
            if r() < 0.72:
                trips.append((_hours(rng, 21.0, 23.0), DAY_SECONDS + _hours(rng, 6.0, 8.0), []))
        elif role is Role.HOME:
            if r() < 0.85:
                out = _hours(rng, 8.5, 10.5)
                trips.append((out, out + _hours(rng, 0.75, 2.0), self._street(rng, 0.3)))
            if r() < 0.6:
                out = _hours(rng, 15.0, 16.8)
                trips.append((out, out + _hours(rng, 0.5, 2.0), []))
        elif role is Role.RETIREE:
            if r() < 0.8:
                out = _hours(rng, 8.0, 10.5)
                trips.append((out, out + _hours(rng, 1.0, 2.5), self._street(rng, 0.3)))
            if r() < 0.6:
                out = _hours(rng, 14.0, 16.0)
                trips.append((out, out + _hours(rng, 1.0, 2.5), self._street(rng, 0.2)))
            if r() < 0.15:
                out = _hours(rng, 18.8, 19.4)
                trips.append((out, out + _hours(rng, 1.5, 2.2), []))
        return trips

    def _street(self, rng: random.Random, share: float) -> list[tuple[int, str]]:
        """A camera sighting in the shopping street, 5-25 minutes into some outings."""
        if rng.random() >= share:
            return []
        camera = self.street_cameras[int(rng.random() * len(self.street_cameras))]
        return [(_hours(rng, 0.08, 0.4), camera)]

    # -- actions ----------------------------------------------------------------------------

    @staticmethod
    def read(sink: Sink, t: int, door: str, person: Person, direction: Direction) -> int:
        """A granted read (now and then refused once first); returns the second it opened."""
        if sink.rng.random() < RETRIED_READ:
            sink.access(t, door, person.access_subject, direction, person.method, "denied")
            t += 2 + int(sink.rng.random() * 4)
        sink.access(t, door, person.access_subject, direction, person.method)
        return t

    def through_entrance(
        self, sink: Sink, t: int, person: Person, direction: Direction, *, missed: float = 0.0
    ) -> None:
        rng = sink.rng
        site = self.sites[person.site]
        entrances = site.entrances
        entrance = entrances[
            person.entrance if rng.random() < 0.8 else int(rng.random() * len(entrances))
        ]
        if entrance.door is not None and rng.random() >= missed:
            t = self.read(sink, t, entrance.door, person, direction)
        if entrance.camera is not None and rng.random() < CAPTURED:
            self.capture(sink, t + int(rng.random() * 3), entrance.camera, person)

    @staticmethod
    def capture(sink: Sink, t: int, camera: str, person: Person) -> None:
        recognised = sink.rng.random() < RECOGNISED_SHARE
        sink.face(t, camera, person.id, person.face_subject if recognised else None)

    def leave(self, sink: Sink, t: int, arg: tuple[Person, bool]) -> None:
        person, drive = arg
        rng = sink.rng
        if person.unit_door is not None:
            if rng.random() >= MISSED_OUT_READ:
                t = self.read(sink, t, person.unit_door, person, "out")
            t += 15 + int(rng.random() * 90)
        if drive:
            self.drive(sink, t + 60 + int(rng.random() * 180), person, "out")
        else:
            self.through_entrance(sink, t, person, "out", missed=MISSED_OUT_READ / 2)

    def arrive(self, sink: Sink, t: int, arg: tuple[Person, bool]) -> None:
        person, drive = arg
        rng = sink.rng
        if drive:
            self.drive(sink, t, person, "in")
            t += 60 + int(rng.random() * 180)
        else:
            self.through_entrance(sink, t, person, "in")
            t += 30 + int(rng.random() * 120)
        if person.unit_door is not None:
            self.read(sink, t, person.unit_door, person, "in")

    def drive(self, sink: Sink, t: int, person: Person, direction: Direction) -> None:
        gates = self.sites[person.site].vehicle_gates
        car: Car = self.cars[person.vehicle]
        sink.vehicle(t, gates[int(sink.rng.random() * len(gates))], car, direction)

    def sighting(self, sink: Sink, t: int, arg: tuple[Person, str]) -> None:
        person, camera = arg
        if sink.rng.random() < CAPTURED:
            self.capture(sink, t, camera, person)

    def household_leaves(self, sink: Sink, t: int, arg: tuple[list[Person], int]) -> None:
        """A household leaves together; with a car (index >= 0) only the car passes a gate."""
        members, car = arg
        rng = sink.rng
        for person in members:
            door = person.unit_door
            if door is not None:
                self.read(sink, t, door, person, "out")
            if car < 0:
                self.through_entrance(sink, t + 20 + int(rng.random() * 60), person, "out")
            t += 3 + int(rng.random() * 8)
        if car >= 0:
            gates = self.sites[members[0].site].vehicle_gates
            gate = gates[int(rng.random() * len(gates))]
            sink.vehicle(t + 90 + int(rng.random() * 120), gate, self.cars[car], "out")

    def household_returns(self, sink: Sink, t: int, arg: tuple[list[Person], int]) -> None:
        members, car = arg
        rng = sink.rng
        if car >= 0:
            gates = self.sites[members[0].site].vehicle_gates
            sink.vehicle(t, gates[int(rng.random() * len(gates))], self.cars[car], "in")
            t += 90 + int(rng.random() * 120)
        for person in members:
            if car < 0:
                self.through_entrance(sink, t, person, "in")
            door = person.unit_door
            if door is not None:
                self.read(sink, t + 40 + int(rng.random() * 60), door, person, "in")
            t += 3 + int(rng.random() * 8)
