"""Rarity against a vehicle's own history at a place and the place's: figures only."""

from __future__ import annotations

from zhian.models.rarity import PassageHistory


def test_a_vehicle_never_seen_at_a_place_is_rare() -> None:
    history = PassageHistory()
    assert history.figures("GATE", "tok-a", 3) == {
        "seen_here_before": 0,
        "seen_here_at_hour_before": 0,
        "place_share_at_hour": 0.0,
        "rarity": 1.0,
    }


def test_rarity_weighs_the_vehicles_own_hours_and_the_places() -> None:
    history = PassageHistory()
    for hour in (8, 8, 9, 18):  # the vehicle's commute
        history.add("GATE", "tok-a", hour)
    for hour in (8, 9, 17, 23):  # other traffic
        history.add("GATE", "tok-b", hour)
    usual = history.figures("GATE", "tok-a", 8)
    assert usual["seen_here_before"] == 4 and usual["seen_here_at_hour_before"] == 3
    assert usual["place_share_at_hour"] == 0.625  # 5 of 8 passages within an hour of 08:00
    assert usual["rarity"] == round((0.25 + 0.375) / 2, 3)
    night = history.figures("GATE", "tok-a", 0)  # 23:00 is within an hour of midnight
    assert night["seen_here_at_hour_before"] == 0 and night["place_share_at_hour"] == 0.125
    assert night["rarity"] == round((1 + 0.875) / 2, 3)
    assert history.figures("OTHER", "tok-a", 8)["rarity"] == 1.0  # per place
