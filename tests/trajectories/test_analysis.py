"""Trajectories and co-travellers from passages: order, gaps, implausible speeds, and
subjects seen with the subject at several places within the window."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from zhian.trajectories.analysis import (
    Passage,
    Place,
    TrajectoryLimits,
    co_travellers,
    distance_m,
    trajectory,
)

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=timezone(timedelta(hours=8)))
# Three checkpoints along a road, about 1.1 km apart, and a gate 20 km away.
PLACES = {
    "CP1": Place(30.2700, 120.1550),
    "CP2": Place(30.2800, 120.1550),
    "CP3": Place(30.2900, 120.1550),
    "FAR": Place(30.4500, 120.1550),
}


def at(device: str, minutes: float, subject: str = "plate:A") -> Passage:
    return Passage(subject, device, T0 + timedelta(minutes=minutes))


def test_steps_are_in_time_order_with_distances_and_speeds() -> None:
    steps = trajectory([at("CP3", 4), at("CP1", 0), at("CP2", 2)], PLACES, TrajectoryLimits())
    assert [s.passage.device_id for s in steps] == ["CP1", "CP2", "CP3"]
    assert steps[0].seconds_since_previous is None and steps[0].speed_kmh is None
    assert steps[1].metres_from_previous == pytest.approx(1112, abs=5)
    assert steps[1].speed_kmh == pytest.approx(33.4, abs=0.5)  # 1.1 km in 2 minutes
    assert not any(s.is_gap or s.is_implausible_speed for s in steps)


def test_gaps_and_implausible_speeds_are_flagged() -> None:
    limits = TrajectoryLimits(gap_hours=6, max_speed_kmh=150, min_metres=300)
    steps = trajectory([at("CP1", 0), at("FAR", 3), at("CP2", 3 + 60 * 7)], PLACES, limits)
    assert distance_m(PLACES["CP1"], PLACES["FAR"]) > 19_000
    assert steps[1].is_implausible_speed and steps[1].speed_kmh is not None
    assert steps[1].speed_kmh > 300  # 20 km in 3 minutes: a misread or cloned plate
    assert steps[2].is_gap and not steps[2].is_implausible_speed
    same_gate = trajectory([at("CP1", 0), at("CP1", 0)], PLACES, limits)
    assert not same_gate[1].is_implausible_speed  # no distance, no speed
    unknown = trajectory([at("CP1", 0), at("NOWHERE", 1)], PLACES, limits)
    assert unknown[1].place is None and unknown[1].speed_kmh is None


def test_co_travellers_share_enough_distinct_places_within_the_window() -> None:
    subject = [at("CP1", 0), at("CP2", 2), at("CP3", 4), at("CP1", 600)]
    others = [
        # B follows A through all three checkpoints, a few seconds behind.
        at("CP1", 0.2, "plate:B"), at("CP2", 2.3, "plate:B"), at("CP3", 4.1, "plate:B"),
        # C passes CP1 twice with A (one place) and CP2 far too late.
        at("CP1", 0.5, "plate:C"), at("CP1", 600.5, "plate:C"), at("CP2", 30, "plate:C"),
        # D shares two places.
        at("CP2", 1.5, "plate:D"), at("CP3", 4.5, "plate:D"),
        at("CP2", 2.1),  # the subject's own passage is never its co-traveller
    ]  # fmt: skip
    found = co_travellers(subject, others, window_seconds=60, min_places=2)
    assert [(c.subject, c.places) for c in found] == [("plate:B", 3), ("plate:D", 2)]
    first_pair = found[0].pairs[0]
    assert first_pair[0].device_id == first_pair[1].device_id == "CP1"
    assert co_travellers(subject, others, window_seconds=60, min_places=4) == []
    wider = co_travellers(subject, others, window_seconds=3600, min_places=2)
    assert "plate:C" in {c.subject for c in wider}
    with pytest.raises(ValueError):
        co_travellers(subject, others, window_seconds=0, min_places=2)
