"""The hard simulator (issue #20): the field's noise, parameters drawn from ranges, and the
devices' faults; the standard simulator left as it was."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest

from zhian.ingest.events import (
    AccessEvent,
    CrowdEvent,
    Event,
    FaceEvent,
    HeartbeatEvent,
    VehicleEvent,
)
from zhian.sim import TZ, District, Simulation, TruthRecord, build_district
from zhian.sim.hard import (
    CARPOOL,
    COUNTING_LINE_FAILURE,
    FAMILY_MOVES_WITHIN,
    HOSPITAL_STAY,
    WEDDING,
    WEDDING_CROWD,
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


def test_a_wedding_crowd_surges_at_a_zone_with_counting_lines_below_the_threshold(
    district: District,
) -> None:
    events, truth = stream(run(district, "hard", days=1))
    [crowd] = [r for r in truth if r.scenario == WEDDING_CROWD]
    zone, area = crowd.subject, float(crowd.detail["area_m2"])
    assert crowd.end is not None and 3 <= (crowd.end - crowd.start).total_seconds() / 3600 <= 6
    assert 0.25 * 1.5 <= crowd.detail["extra_peak_density"] <= 0.5 * 1.5
    counts = [e for e in events if isinstance(e, CrowdEvent) and e.zone_id == zone]
    assert any(e.count_in is not None for e in counts), "the zone has no counting line"
    seen = [e for e in counts if e.occupancy is not None]
    during = [e.occupancy for e in seen if crowd.start <= e.time < crowd.end]
    before = [e.occupancy for e in seen if crowd.start - timedelta(hours=2) <= e.time < crowd.start]
    assert during and before
    # The camera sees the wedding party: at its peak, well over the morning before it ...
    assert max(during) >= max(before) + 0.8 * crowd.detail["extra_peak"]  # type: ignore[operator]
    # ... and the zone stays below the warning density: a warning here would be false.
    assert max(during) < 1.5 * area


def test_a_counting_line_fails_silently_counting_nobody_for_hours(district: District) -> None:
    events, truth = stream(run(district, "hard", days=1))
    [failure] = [r for r in truth if r.scenario == COUNTING_LINE_FAILURE]
    line = failure.subject
    assert failure.end is not None
    assert 2 <= (failure.end - failure.start).total_seconds() / 3600 <= 6
    counts = [e for e in events if isinstance(e, CrowdEvent) and e.device_id == line]
    during = [e for e in counts if failure.start <= e.time < failure.end]
    # It goes on reporting every minute, but counts nobody in or out ...
    assert len(during) >= 0.9 * (failure.end - failure.start).total_seconds() / 60
    assert all(e.count_in == 0 and e.count_out == 0 for e in during)
    # ... while the zone is busy: the other counters still count people then and there.
    others = [
        e for e in events
        if isinstance(e, CrowdEvent) and e.zone_id == failure.detail["zone"]
        and e.device_id != line and failure.start <= e.time < failure.end
    ]  # fmt: skip
    assert sum((e.count_in or 0) + (e.occupancy or 0) for e in others) > 0
    # Outside the window it counts, and its heartbeats never report a fault.
    assert sum(e.count_in or 0 for e in counts if e.time >= failure.end) > 0
    beats = [e for e in events if isinstance(e, HeartbeatEvent) and e.device_id == line]
    assert beats and all(e.status == "ok" for e in beats)


def test_the_crowd_noise_is_the_same_for_the_same_seed(district: District) -> None:
    names = (WEDDING_CROWD, COUNTING_LINE_FAILURE)
    a, b = (stream(run(district, "hard", days=1))[1] for _ in range(2))
    planted = [r for r in a if r.scenario in names]
    assert len(planted) == 2 and planted == [r for r in b if r.scenario in names]
    standard = {r.scenario for r in stream(run(district, "standard", days=1))[1]}
    assert not standard & set(names)


def test_a_crowd_scenario_changes_no_other_draw_of_the_day(district: District) -> None:
    """The crowd counts draw from their own stream, one per zone: planting a wedding crowd
    leaves the background's visits, deliveries and traffic, every other device's events and
    the other zones' counts exactly as they were for the same seed."""
    from zhian.sim.hard import WeddingCrowd
    from zhian.sim.scenarios import SCENARIOS

    def day(scenarios: list[type]) -> tuple[list[Event], list[TruthRecord]]:
        simulation = Simulation(
            district, start=START, end=START + timedelta(days=1), seed=4, scenarios=scenarios
        )
        return list(simulation.events()), simulation.truth

    without, _ = day(list(SCENARIOS))
    with_crowd, truth = day([*SCENARIOS, WeddingCrowd])
    [crowd] = [r for r in truth if r.scenario == WEDDING_CROWD]

    def split(events: list[Event]) -> tuple[list[Event], list[Event], list[Event]]:
        counts = [e for e in events if isinstance(e, CrowdEvent)]
        return (
            [e for e in events if not isinstance(e, CrowdEvent)],
            [e for e in counts if e.zone_id != crowd.subject],
            [e for e in counts if e.zone_id == crowd.subject],
        )

    others_a, elsewhere_a, zone_a = split(without)
    others_b, elsewhere_b, zone_b = split(with_crowd)
    assert len(others_a) > 1000 and others_a == others_b  # passages, captures, heartbeats
    assert elsewhere_a and elsewhere_a == elsewhere_b  # the other zones' counts
    # The wedding zone's counts do change: the crowd is there.
    assert zone_a != zone_b
    during = [e for e in zone_b if crowd.start <= e.time < crowd.end and e.occupancy is not None]
    quiet = [e for e in zone_a if crowd.start <= e.time < crowd.end and e.occupancy is not None]
    assert sum(e.occupancy or 0 for e in during) > sum(e.occupancy or 0 for e in quiet)
