"""Place rules: which vehicles may pass a place, when and which way, and the part a
passage breaks; the residential class-and-hours rules are place rules like any other."""

from __future__ import annotations

import pytest

from zhian.models.place_rules import (
    Broken,
    OwnerType,
    PlaceRule,
    VehiclePassage,
    residential_rules,
)
from zhian.models.settings import ModelSettings

# A forest gate reserved for rangers: their own vehicles and two listed plates (tokens),
# by day, either way.
RANGER_GATE = PlaceRule(
    "ranger_gate",
    "护林通道仅限林区车辆",
    "the ranger gate is for forest vehicles only",
    allowed_plates=frozenset({"tok-ranger-1", "tok-ranger-2"}),
    allowed_owners=frozenset({OwnerType.COMMUNITY}),
    allowed_from_hour=6,
    allowed_until_hour=20,
)


def _passage(
    plate: str = "tok-x",
    vehicle_class: str = "truck",
    direction: str = "in",
    hour: int = 12,
    owner: OwnerType | None = OwnerType.UNREGISTERED,
) -> VehiclePassage:
    return VehiclePassage(plate, vehicle_class, direction, hour, owner)


@pytest.mark.parametrize(
    ("passage", "broken"),
    [
        (_passage(plate="tok-ranger-1"), None),  # a listed plate, by day
        (_passage(owner=OwnerType.COMMUNITY, direction="out"), None),  # the forest's own
        (_passage(), Broken.VEHICLE),  # a truck nobody allowed
        (_passage(hour=2), Broken.VEHICLE),  # at night too: the vehicle is named first
        (_passage(plate="tok-ranger-2", hour=23), Broken.HOURS),  # allowed, but at night
        (_passage(owner=OwnerType.REGISTERED), Broken.VEHICLE),  # registered elsewhere
    ],
)
def test_a_restricted_place_says_which_part_of_its_rule_a_passage_breaks(
    passage: VehiclePassage, broken: Broken | None
) -> None:
    assert RANGER_GATE.broken_by(passage) is broken


def test_a_rule_governs_only_its_classes_and_direction() -> None:
    trucks_in = PlaceRule(
        "no_trucks", "禁止货车驶入", "no trucks in",
        governs_classes=frozenset({"truck"}), governs_direction="in",
        allowed_from_hour=0, allowed_until_hour=0,
    )  # fmt: skip
    assert trucks_in.broken_by(_passage()) is Broken.HOURS
    assert trucks_in.broken_by(_passage(direction="out")) is None
    assert trucks_in.broken_by(_passage(vehicle_class="car")) is None


@pytest.mark.parametrize(
    ("vehicle_class", "hour", "broken"),
    [
        ("hazmat", 12, Broken.HOURS),  # never allowed in
        ("hazmat", 23, Broken.HOURS),
        ("muck_truck", 23, None),  # inside 22:00–05:00
        ("muck_truck", 4, None),
        ("muck_truck", 5, Broken.HOURS),
        ("muck_truck", 15, Broken.HOURS),
    ],
)
def test_the_residential_class_and_hours_rules_are_place_rules(
    vehicle_class: str, hour: int, broken: Broken | None
) -> None:
    rules = residential_rules(ModelSettings())
    passage = _passage(vehicle_class=vehicle_class, hour=hour, owner=None)
    assert rules[vehicle_class].broken_by(passage) is broken
    assert rules[vehicle_class].broken_by(_passage(vehicle_class, direction="out")) is None


def test_a_communitys_permitted_hours_move_the_muck_truck_rule() -> None:
    by_day = residential_rules(ModelSettings(muck_allowed_from_hour=9, muck_allowed_until_hour=17))
    rule = by_day["muck_truck"]
    assert rule.broken_by(_passage(vehicle_class="muck_truck", hour=15)) is None
    assert rule.broken_by(_passage(vehicle_class="muck_truck", hour=23)) is Broken.HOURS
    assert rule.hours_text == "9:00–17:00"
