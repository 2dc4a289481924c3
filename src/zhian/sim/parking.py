"""Car-park cameras (车位相机) reading parked cars' plates (issue #20).

Every site with vehicle gates has one camera over its car park. A few times a day it reads
the plate of each car that is really inside: the simulator knows which, from the gates'
true passages (before any read is lost to the hard simulator's device faults). So a car
left for good keeps being read, and a guest's car that left while the gate missed its way
out is not. The camera misses reads of its own (`PARKED_MISSED_READ`), drawn from its own
random stream, so no other draw of the stream changes.

A read is a vehicle event from the car-park camera; its direction means nothing (docs/
devices.md, car-park cameras): it says the car stood parked there at that time. Cars
already inside when the stream starts are read once they have passed a gate.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from zhian.ingest.events import Event, VehicleEvent
from zhian.sim.district import District
from zhian.sim.timeline import TZ

# The local hours at which each car-park camera reads the cars parked under it.
PARKED_READ_HOURS = (2, 11, 16)
# The share of a car's parked reads the camera misses (a pillar, a dirty plate).
PARKED_MISSED_READ = 0.1


def parking_cameras(district: District) -> frozenset[str]:
    return frozenset(camera for site in district.sites for camera in site.parking)


def _next_read(after: datetime) -> datetime:
    """The first read time at or after `after`."""
    local = after.astimezone(TZ)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(2):
        for hour in PARKED_READ_HOURS:
            at = midnight + timedelta(days=day, hours=hour)
            if at >= local:
                return at
    raise AssertionError("a read time lies within two days")  # pragma: no cover


def with_parked_reads(events: Iterator[Event], district: District, seed: int) -> Iterator[Event]:
    """The stream with each car-park camera's reads of the cars inside its site added, in
    time order. Deterministic per seed."""
    camera_of = {
        gate: site.parking[0]
        for site in district.sites
        if site.parking
        for gate in site.vehicle_gates
    }
    if not camera_of:
        yield from events
        return
    inside: dict[str, dict[str, VehicleEvent]] = {camera: {} for camera in camera_of.values()}
    rng = random.Random(f"zhian-sim-parked:{seed}")
    due: datetime | None = None
    count = 0
    for event in events:
        if due is None:
            due = _next_read(event.time)
        while event.time >= due:
            for camera, cars in inside.items():
                for plate, entry in cars.items():
                    if rng.random() < PARKED_MISSED_READ:
                        continue
                    count += 1
                    yield VehicleEvent(
                        id=f"{camera}-R{count}",
                        device_id=camera,
                        time=due,
                        plate=plate,
                        plate_color=entry.plate_color,
                        vehicle_class=entry.vehicle_class,
                        direction="in",
                    )
            due = _next_read(due + timedelta(seconds=1))
        if isinstance(event, VehicleEvent) and event.device_id in camera_of:
            cars = inside[camera_of[event.device_id]]
            if event.direction == "in":
                cars[event.plate] = event
            else:
                cars.pop(event.plate, None)
        yield event
