"""The hard simulator (issue #20): the field's noise, parameters drawn from ranges, and the
devices' faults; the standard simulator left as it was."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest

from zhian.ingest.events import AccessEvent, Event, FaceEvent, VehicleEvent
from zhian.sim import TZ, District, Simulation, TruthRecord, build_district
from zhian.sim.hard import (
    CARPOOL,
    FAMILY_MOVES_WITHIN,
    HOSPITAL_STAY,
    WEDDING,
    with_device_faults,
)
from zhian.sim.scenarios_housing import MOVED_OUT

START = datetime(2026, 9, 1, tzinfo=TZ)
READS = (AccessEvent, VehicleEvent, FaceEvent)


@pytest.fixture(scope="module")
def district() -> District:
    return build_district(seed=4, scale=0.2)


def run(district: District, difficulty: str, seed: int = 4, days: int = 2) -> Simulation:
    return Simulation(
        district, start=START, end=START + timedelta(days=days), seed=seed,
        difficulty=difficulty,  # type: ignore[arg-type]
    )  # fmt: skip


def stream(simulation: Simulation) -> tuple[list[Event], list[TruthRecord]]:
    return list(simulation.events()), simulation.truth


def test_the_standard_stream_has_no_hard_noise(district: District) -> None:
    events, truth = stream(run(district, "standard"))
    assert not [e for e in events if e.id.endswith("-again")]
    assert not {r.scenario for r in truth} & {HOSPITAL_STAY, WEDDING}


def test_the_hard_stream_misses_repeats_and_skews_reads(district: District) -> None:
    standard, _ = stream(run(district, "standard"))
    # The device faults alone, on the standard stream, so that each read can be followed.
    hard = list(with_device_faults(iter(standard), seed=4))
    again = [e for e in hard if e.id.endswith("-again")]
    assert again, "no read reported twice"
    originals = {e.id: e for e in hard}
    for twice in again[:20]:  # a second report, seconds after the first, same passage
        first = originals[twice.id.removesuffix("-again")]
        assert 0 < (twice.time - first.time).total_seconds() <= 6
        assert twice.device_id == first.device_id
    # Reads lost, or moved in time: skewed devices move every read by one steady offset.
    hard_by_id = {e.id: e for e in hard}
    offsets: dict[str, Counter[float]] = {}
    missed = 0
    reads = [e for e in standard if isinstance(e, READS)]
    for event in reads:
        other = hard_by_id.get(event.id)
        if other is None:
            missed += 1
            continue
        shift = (other.time - event.time).total_seconds()
        offsets.setdefault(event.device_id, Counter())[shift] += 1
    assert 0.01 * len(reads) < missed < 0.05 * len(reads)
    others = {e.id for e in standard if not isinstance(e, READS)}  # heartbeats, counts
    assert others <= set(hard_by_id)
    # (a handful of ids repeat within the standard stream: "almost every read" below)
    skewed = {d: c for d, c in offsets.items() if c.most_common(1)[0][0] != 0.0}
    assert skewed, "no device's clock is off"
    for device, shifts in skewed.items():
        (shift, n), *_ = shifts.most_common(1)
        assert n >= 0.99 * shifts.total(), f"{device}: its clock error is not steady"
        assert 30 <= abs(shift) <= 900


def test_the_hard_stream_carries_the_faults(district: District) -> None:
    hard, _ = stream(run(district, "hard", days=1))
    assert [e for e in hard if e.id.endswith("-again")]


def test_the_hard_stream_is_the_same_for_the_same_seed(district: District) -> None:
    first, _ = stream(run(district, "hard", days=1))
    second, _ = stream(run(district, "hard", days=1))
    assert [(e.id, e.time) for e in first] == [(e.id, e.time) for e in second]


def test_the_field_noise_and_drawn_parameters_are_planted(district: District) -> None:
    events, truth = stream(run(district, "hard", days=7))
    scenarios = Counter(r.scenario for r in truth)
    assert scenarios[HOSPITAL_STAY] >= 1 and scenarios[WEDDING] >= 1
    stays = [r for r in truth if r.scenario == HOSPITAL_STAY]
    assert all(10 <= float(r.detail["days"]) <= 40 for r in stays)
    assert all(r.end is None for r in stays)  # back after this week's stream has ended
    weddings = [r for r in truth if r.scenario == WEDDING]
    for wedding in weddings:  # every guest came through the host's unit door
        door, guests = wedding.detail["door"], int(wedding.detail["guests"])
        assert 25 <= guests <= 70
        at_door = {
            e.subject.ref
            for e in events
            if isinstance(e, AccessEvent)
            and e.device_id == door
            and e.subject.ref.startswith("qr-wedding-")
        }
        assert len(at_door) >= guests * 0.8  # a few of their reads were missed
    # A resident moves out on one of the first ten days, drawn per stream.
    days = set()
    for seed in range(1, 7):
        sim = run(build_district(seed=seed, scale=0.2), "hard", seed=seed, days=10)
        for _ in sim.events():
            pass
        days |= {
            (r.start - START).days
            for r in sim.truth
            if r.scenario == MOVED_OUT and "house_id" in r.detail and "registered" not in r.detail
        }
    assert len(days) >= 3, days


def test_an_unknown_difficulty_is_refused(district: District) -> None:
    with pytest.raises(ValueError, match="difficulty"):
        run(district, "brutal")


def test_a_family_moves_within_the_community_and_a_carpool_comes_and_goes(
    district: District,
) -> None:
    doors_before = [p.unit_door for p in district.people]
    events, truth = stream(run(district, "hard", days=10))
    assert [p.unit_door for p in district.people] == doors_before  # the district is untouched
    [move] = [r for r in truth if r.scenario == FAMILY_MOVES_WITHIN]
    residents = set(move.detail["residents"])
    subjects = {p.access_subject.ref for p in district.people if p.id in residents}
    reads = [
        e
        for e in events
        if isinstance(e, AccessEvent) and e.subject is not None and e.subject.ref in subjects
    ]
    after = {e.device_id for e in reads if e.time >= move.start + timedelta(hours=1)}
    assert move.detail["new_door"] in after and move.detail["old_door"] not in after
    # A colleague's car: in and out again within minutes, twice on workdays, never at weekends.
    [carpool, *_] = [r for r in truth if r.scenario == CARPOOL]
    passages = [e for e in events if isinstance(e, VehicleEvent) and e.plate == carpool.subject]
    workdays = {e.time.astimezone(TZ).date() for e in passages}
    assert len(workdays) >= 6 and all(day.weekday() < 5 for day in workdays)
    directions = Counter(e.direction for e in passages)
    assert directions["in"] >= 1.6 * len(workdays) <= directions["out"]  # a few reads missed
