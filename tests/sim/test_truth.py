"""Ground truth agrees exactly with the events it describes."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from tests.sim.conftest import DAY_END
from zhian.ingest.events import (
    AccessEvent,
    AlarmEvent,
    CrowdEvent,
    Event,
    FaceEvent,
    HeartbeatEvent,
)
from zhian.sim import (
    SCENARIOS,
    Day,
    District,
    Scenario,
    Simulation,
    TruthRecord,
    read_truth,
    write_truth,
)
from zhian.sim import truth as names
from zhian.sim.scenarios import SosPressed
from zhian.sim.scenarios_access import CARD_MISREAD, DENIED_BURST
from zhian.sim.scenarios_crowd import COUNTING_LINE_DRIFT, TEMPLE_FAIR_SURGE
from zhian.sim.scenarios_housing import HOUSING_SCENARIOS
from zhian.sim.scenarios_vehicles import VEHICLE_SCENARIOS

E = TypeVar("E", bound=Event)
PLANTED = {
    names.DEVICE_OFFLINE,
    names.DEVICE_FAULT,
    names.TAILGATING,
    names.REAL_FIRE,
    names.FALSE_SMOKE_ALARM,
    names.SOS,
    names.PERIMETER_INTRUSION,
    names.NIGHT_SHIFT_WORKER,
    names.AWAY_ON_TRIP,
    names.COURIER,
    DENIED_BURST,
    CARD_MISREAD,
    COUNTING_LINE_DRIFT,
    TEMPLE_FAIR_SURGE,
    *(cls.name for cls in [*HOUSING_SCENARIOS, *VEHICLE_SCENARIOS]),
}


def _by_device(events: list[Event]) -> dict[str, list[Event]]:
    table: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        table[event.device_id].append(event)
    return table


def _between(events: Sequence[E], start: datetime, end: datetime) -> list[E]:
    return [e for e in events if start <= e.time < end]


def _records(truth: list[TruthRecord], scenario: str) -> list[TruthRecord]:
    found = [r for r in truth if r.scenario == scenario]
    assert found, f"no {scenario} planted on the first day"
    return found


def test_every_scenario_is_planted_on_the_first_day(day_truth: list[TruthRecord]) -> None:
    # The temple fair needs its zones: the standard district has none (`with_temple_fair`).
    assert {r.scenario for r in day_truth} == PLANTED - {TEMPLE_FAIR_SURGE}
    assert {cls.name for cls in SCENARIOS} == PLANTED


def test_offline_devices_are_silent_in_their_interval(
    day_events: list[Event], day_truth: list[TruthRecord]
) -> None:
    devices = _by_device(day_events)
    for record in _records(day_truth, names.DEVICE_OFFLINE):
        end = record.end or DAY_END
        assert end - record.start >= timedelta(minutes=30)
        mine = devices[record.subject]
        assert not _between(mine, record.start, end)
        # ...and beats normally around it: the silence is the only gap.
        beats = [e.time for e in mine if isinstance(e, HeartbeatEvent)]
        gaps = [b - a for a, b in itertools.pairwise(beats)]
        assert sum(g > timedelta(minutes=5) for g in gaps) <= 1


def test_faulty_devices_report_their_fault_code(
    day_events: list[Event], day_truth: list[TruthRecord]
) -> None:
    devices = _by_device(day_events)
    for record in _records(day_truth, names.DEVICE_FAULT):
        end = record.end or DAY_END
        for beat in devices[record.subject]:
            if not isinstance(beat, HeartbeatEvent):
                continue
            inside = record.start <= beat.time < end
            assert (beat.status == "fault") == inside
            if inside:
                assert beat.fault_code == record.detail["code"]
    faults = [e for e in day_events if isinstance(e, HeartbeatEvent) and e.status == "fault"]
    assert {e.device_id for e in faults} == {
        r.subject for r in day_truth if r.scenario == names.DEVICE_FAULT
    }


def test_alarms_match_their_truth(day_events: list[Event], day_truth: list[TruthRecord]) -> None:
    alarms = [e for e in day_events if isinstance(e, AlarmEvent)]
    explained: set[str] = set()
    for record in day_truth:
        if record.scenario not in {
            names.REAL_FIRE,
            names.FALSE_SMOKE_ALARM,
            names.SOS,
            names.PERIMETER_INTRUSION,
        }:
            continue
        end = (record.end or DAY_END) + timedelta(minutes=10)
        devices = record.detail.get("devices", [record.subject])
        mine = [a for a in alarms if a.device_id in devices and record.start <= a.time < end]
        assert mine, record
        explained.update(a.id + a.device_id for a in mine)
        kinds = {a.kind for a in mine}
        if record.scenario == names.REAL_FIRE:
            assert "fire" in kinds and len({a.device_id for a in mine}) >= 2
        elif record.scenario == names.FALSE_SMOKE_ALARM:
            assert kinds == {"smoke"} and max(a.level for a in mine) <= 2
        elif record.scenario == names.SOS:
            assert kinds == {"sos"}
        else:
            assert kinds == {"perimeter"} and record.start.hour < 5
    # No alarm without a truth record.
    assert explained == {a.id + a.device_id for a in alarms}


def test_tailgating_leaves_its_traces(
    day_events: list[Event], day_truth: list[TruthRecord]
) -> None:
    devices = _by_device(day_events)
    for record in _records(day_truth, names.TAILGATING):
        end = record.end or DAY_END
        reads = [e for e in _between(devices[record.subject], record.start, end)]
        assert all(isinstance(e, AccessEvent) for e in reads)
        granted = [e for e in reads if isinstance(e, AccessEvent) and e.result == "granted"]
        assert any(e.subject.ref in {record.detail["host"]} or e.subject.kind == "card"
                   for e in granted)  # fmt: skip
        if record.detail["variant"] == "denied_then_granted":
            first = reads[0]
            assert isinstance(first, AccessEvent) and first.result == "denied"
            assert any(e.subject != first.subject for e in granted)
        camera = record.detail["camera"]
        if camera is not None:
            faces = [e for e in _between(devices[camera], record.start, end)]
            unknown = [e for e in faces if isinstance(e, FaceEvent) and e.subject is None]
            assert len(faces) >= 2 and any(e.feature for e in unknown)


def test_away_households_pass_no_door(
    district: District, day_events: list[Event], day_truth: list[TruthRecord]
) -> None:
    people = {p.id: p for p in district.people}
    for record in _records(day_truth, names.AWAY_ON_TRIP):
        subjects = set()
        for resident in record.detail["residents"]:
            subjects.add(people[resident].access_subject)
            subjects.add(people[resident].face_subject)
        quiet_from = record.start + timedelta(minutes=15)
        quiet_to = (record.end or DAY_END) - timedelta(minutes=15)
        for event in _between(day_events, quiet_from, quiet_to):
            assert getattr(event, "subject", None) not in subjects, (record, event)


def test_couriers_visit_doors(day_events: list[Event], day_truth: list[TruthRecord]) -> None:
    reads = defaultdict(list)
    for e in day_events:
        if isinstance(e, AccessEvent) and e.subject.kind == "visitor":
            reads[e.subject.ref].append(e)
    for record in _records(day_truth, names.COURIER):
        mine = _between(reads[record.subject], record.start, (record.end or DAY_END))
        assert len({e.device_id for e in mine}) >= min(3, len(record.detail["doors"]))


def test_night_shift_workers_leave_in_the_evening(
    day_events: list[Event], day_truth: list[TruthRecord], district: District
) -> None:
    people = {p.id: p for p in district.people}
    evening_subjects = {
        e.subject for e in day_events if isinstance(e, AccessEvent) and e.time.hour >= 21
    }
    workers = _records(day_truth, names.NIGHT_SHIFT_WORKER)
    behind_doors = [r for r in workers if people[r.subject].unit_door]
    seen = sum(people[r.subject].access_subject in evening_subjects for r in behind_doors)
    assert seen >= len(behind_doors) // 3


def test_truth_round_trips_through_json_lines(day_truth: list[TruthRecord], tmp_path: Path) -> None:
    path = tmp_path / "truth.jsonl"
    assert write_truth(path, day_truth) == len(day_truth)
    assert read_truth(path) == day_truth


def test_truth_is_cut_to_the_stream(district: District) -> None:
    start = datetime.fromisoformat("2026-11-16T10:00:00+08:00")
    end = start + timedelta(hours=6)
    simulation = Simulation(district, start=start, end=end, seed=3)
    events = list(simulation.events())
    assert events
    for record in simulation.truth:
        assert start <= record.start < end
        assert record.end is None or record.end <= end


def test_the_scenario_registry_chooses_what_is_planted(district: District) -> None:
    start = datetime.fromisoformat("2026-11-16T00:00:00+08:00")
    end = start + timedelta(hours=12)
    bare = Simulation(district, start=start, end=end, seed=3, scenarios=[])
    events = list(bare.events())
    assert not bare.truth
    assert not [e for e in events if isinstance(e, AlarmEvent)]
    only_sos = Simulation(district, start=start, end=end, seed=3, scenarios=[SosPressed])
    list(only_sos.events())
    assert {r.scenario for r in only_sos.truth} == {names.SOS}


class TempleFair(Scenario):
    """What a later issue's scenario looks like: one class, planted through `Day`."""

    name = "temple_fair_crowd_surge"

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        t0 = day.pick(rng, 9, 10, 4 * 3600)
        if t0 is not None:
            day.surge("Z02", t0, t0 + 4 * 3600, 3000.0)
            day.record(self.name, "Z02", t0, t0 + 4 * 3600, peak=3000)


def test_a_new_scenario_is_one_class(district: District) -> None:
    start = datetime.fromisoformat("2026-11-16T00:00:00+08:00")
    simulation = Simulation(
        district, start=start, end=start + timedelta(hours=15), seed=3,
        scenarios=[*SCENARIOS, TempleFair],
    )  # fmt: skip
    events = list(simulation.events())
    (fair,) = [r for r in simulation.truth if r.scenario == TempleFair.name]
    assert fair.end is not None
    middle = fair.start + (fair.end - fair.start) / 2
    plaza = {
        e.time.replace(second=0): e.occupancy
        for e in events
        if isinstance(e, CrowdEvent) and e.zone_id == "Z02" and e.occupancy is not None
    }
    assert (plaza[middle.replace(second=0, microsecond=0)] or 0) > 2_500
    assert (plaza[(fair.start - timedelta(hours=1)).replace(second=0)] or 0) < 500
