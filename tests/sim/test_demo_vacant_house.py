"""The demo's vacant house at full scale, checked cheaply.

The vacant-house model measures absence from a sighting: a household never seen raises
nothing. At scale 1 the demo once planted its leaving household in an open community
(a gate camera that recognises some faces, no doors), where it left unseen, and the model
rightly stayed silent. Replaying the full 22 days at scale 1 takes the whole machine for
minutes, so this checks what the model needs on the first two days of the demo's own
stage at scale 1, on several dates (the planting draws per date): the household is seen
leaving and never after. With the default windows below, the model then fires at the
replay's end (tests/cli/test_demo.py shows the whole chain firing at a smaller scale).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zhian.cli.demo import DEFAULT_DAYS, demo_district, stage
from zhian.ingest.events import AccessEvent, FaceEvent, VehicleEvent
from zhian.models.settings import ModelSettings
from zhian.sim import Simulation
from zhian.sim.scenarios_housing import VACANT_HOUSE
from zhian.sim.stream import default_start

SHOWN_DAYS = 2


def test_the_default_replay_outlasts_the_vacant_window() -> None:
    settings = ModelSettings()
    # The household leaves on the replay's first afternoon; the last model run is at its end.
    assert settings.vacant_absent_days <= DEFAULT_DAYS - 1
    assert settings.lookback_days >= DEFAULT_DAYS  # its leaving is still in the window


@pytest.mark.parametrize("day", [0, 1, 2])
def test_at_full_scale_the_vacant_household_is_seen_leaving_and_never_after(day: int) -> None:
    district = demo_district(seed=7, scale=1.0)
    now = datetime(2026, 12, 6, 1, 0, tzinfo=UTC) + timedelta(days=day)
    start = default_start(now, DEFAULT_DAYS)
    simulation = Simulation(
        district,
        start=start,
        end=start + timedelta(days=SHOWN_DAYS),
        seed=7,
        scenarios=stage(district, now),
    )
    events = list(simulation.events())
    (vacant,) = [r for r in simulation.truth if r.scenario == VACANT_HOUSE]
    members = [p for p in district.people if p.house_id == vacant.subject]
    assert members and {p.id for p in members} == set(vacant.detail["residents"])
    refs = {p.access_subject.ref for p in members} | {p.face_subject.ref for p in members}
    plates = {district.cars[p.vehicle].plate for p in members if p.vehicle >= 0}

    def sighting(event: object) -> bool:
        if isinstance(event, AccessEvent):
            return event.result == "granted" and event.subject.ref in refs
        if isinstance(event, FaceEvent):
            return event.subject is not None and event.subject.ref in refs
        return isinstance(event, VehicleEvent) and event.plate in plates

    seen = [e.time for e in events if sighting(e)]
    leaving = vacant.start
    assert seen, "the household is never seen: the model cannot measure its absence"
    assert leaving <= max(seen) <= leaving + timedelta(minutes=10)
