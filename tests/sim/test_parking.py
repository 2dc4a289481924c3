"""Car-park cameras (#20): they read the cars really parked inside a few times a day, miss
some reads of their own, and change no other draw of the stream."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from zhian.ingest.events import Event, VehicleEvent
from zhian.sim import TZ, District, Simulation, TruthRecord, build_district
from zhian.sim.hard import with_device_faults
from zhian.sim.parking import PARKED_READ_HOURS, parking_cameras
from zhian.sim.scenarios_vehicles import GUEST_CAR, ZOMBIE_VEHICLE

START = datetime(2026, 9, 1, tzinfo=TZ)
DAYS = 6


@pytest.fixture(scope="module")
def district() -> District:
    return build_district(seed=4, scale=0.3)


def _run(district: District, difficulty: str) -> tuple[list[Event], list[TruthRecord]]:
    simulation = Simulation(
        district, start=START, end=START + timedelta(days=DAYS), seed=4,
        difficulty=difficulty,  # type: ignore[arg-type]
    )  # fmt: skip
    return list(simulation.events()), simulation.truth


@pytest.fixture(scope="module")
def standard(district: District) -> tuple[list[Event], list[TruthRecord]]:
    return _run(district, "standard")


def _parked(events: list[Event], cameras: frozenset[str]) -> dict[str, list[datetime]]:
    reads: dict[str, list[datetime]] = {}
    for e in events:
        if isinstance(e, VehicleEvent) and e.device_id in cameras:
            reads.setdefault(e.plate, []).append(e.time)
    return reads


def test_every_gated_site_has_a_car_park_camera(district: District) -> None:
    gated = [s for s in district.sites if s.vehicle_gates]
    assert gated and all(len(s.parking) == 1 for s in gated)
    kinds = {str(d["id"]): d["kind"] for d in district.tables["devices"]}
    assert {kinds[c] for c in parking_cameras(district)} == {"parking_camera"}


def test_a_car_left_for_good_keeps_being_read_and_a_guest_car_only_while_parked(
    district: District, standard: tuple[list[Event], list[TruthRecord]]
) -> None:
    events, truth = standard
    reads = _parked(events, parking_cameras(district))
    for event in events:  # times in order, reads at the read hours only
        if isinstance(event, VehicleEvent) and event.device_id in parking_cameras(district):
            local = event.time.astimezone(TZ)
            assert local.hour in PARKED_READ_HOURS and local.minute == 0
    [zombie] = [r for r in truth if r.scenario == ZOMBIE_VEHICLE]
    times = reads.get(zombie.subject, [])
    due = [
        START + timedelta(days=d, hours=h)
        for d in range(DAYS)
        for h in PARKED_READ_HOURS
        if START + timedelta(days=d, hours=h) > zombie.start
    ]
    # Read at most of the read times since it entered; the camera misses a few.
    assert all(t > zombie.start for t in times)
    assert 0.7 * len(due) <= len(times) <= len(due)
    guests = [r for r in truth if r.scenario == GUEST_CAR and r.end is not None]
    assert guests
    read_guests = 0
    for guest in guests:
        assert guest.end is not None
        seen = reads.get(guest.subject, [])
        assert all(guest.start < t < guest.end for t in seen), guest
        read_guests += bool(seen)
    assert read_guests >= len(guests) // 2  # a stay of a day or more is read


def test_parked_reads_change_no_other_draw_of_the_stream(
    district: District, standard: tuple[list[Event], list[TruthRecord]]
) -> None:
    """The stream is the same as without car-park cameras but for their reads, and the
    hard simulator's device faults fall on the same reads (the cameras' reads pass them
    untouched: their misses are their own)."""
    cameras = parking_cameras(district)
    events, truth = standard
    blind = dataclasses.replace(
        district, sites=[dataclasses.replace(s, parking=[]) for s in district.sites]
    )
    without, blind_truth = _run(blind, "standard")
    assert blind_truth == truth

    def read(e: Event) -> bool:
        return isinstance(e, VehicleEvent) and e.device_id in cameras

    assert [e for e in events if not read(e)] == without
    parked = [e for e in events if read(e)]
    faulty = list(with_device_faults(iter(events), seed=4, exempt=cameras))
    assert [e for e in faulty if not read(e)] == list(with_device_faults(iter(without), seed=4))
    assert parked and [e for e in faulty if read(e)] == parked
