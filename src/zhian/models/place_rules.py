"""Place rules: which vehicles may pass a place, when and which way, and which part of a
rule a passage breaks. The class-and-hours rules of residential communities (hazmat never,
muck trucks only at night) are place rules like any other (`residential_rules`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from zhian.models.settings import ModelSettings
from zhian.registry.models import PlaceRestriction


class OwnerType(StrEnum):
    """Whom the registry says a vehicle belongs to, seen from the place it passes."""

    COMMUNITY = "community"  # registered to this place's community
    REGISTERED = "registered"  # registered elsewhere
    UNREGISTERED = "unregistered"


class Broken(StrEnum):
    """The part of a rule a passage breaks."""

    VEHICLE = "vehicle"  # not an allowed vehicle (class, plate or owner)
    HOURS = "hours"  # an allowed vehicle outside the allowed hours


@dataclass(frozen=True)
class VehiclePassage:
    """A vehicle passing a place, as a rule sees it."""

    plate: str  # the store's token: allowed plates are held as tokens too
    vehicle_class: str
    direction: str
    local_hour: int
    owner: OwnerType | None = None  # None: not looked up (no rule at the place asks)


@dataclass(frozen=True)
class PlaceRule:
    """Which vehicles may pass a place, when and which way.

    The rule governs passages of `governs_classes` (every class when empty) in
    `governs_direction` (both ways when None). A governed passage is allowed when the
    vehicle is allowed — its plate is in `allowed_plates`, its class in `allowed_classes`
    or its owner type in `allowed_owners`; any vehicle when all three are empty — and its
    local hour lies in [`allowed_from_hour`, `allowed_until_hour`) (across midnight when
    from > until; never when from == until; any hour when both are None).
    """

    key: str  # names the rule in evidence (figure `place_rule`)
    name_zh: str
    name_en: str
    governs_classes: frozenset[str] = frozenset()
    governs_direction: str | None = None
    allowed_plates: frozenset[str] = frozenset()
    allowed_classes: frozenset[str] = frozenset()
    allowed_owners: frozenset[OwnerType] = frozenset()
    allowed_from_hour: int | None = None
    allowed_until_hour: int | None = None

    def broken_by(self, passage: VehiclePassage) -> Broken | None:
        """The part of the rule `passage` breaks, or None when it keeps the rule (or the
        rule does not govern it)."""
        if self.governs_classes and passage.vehicle_class not in self.governs_classes:
            return None
        if self.governs_direction is not None and passage.direction != self.governs_direction:
            return None
        if not self._allows_vehicle(passage):
            return Broken.VEHICLE
        if not self.allows_hour(passage.local_hour):
            return Broken.HOURS
        return None

    def allows_hour(self, hour: int) -> bool:
        start, until = self.allowed_from_hour, self.allowed_until_hour
        if start is None or until is None:
            return True
        if start > until:  # across midnight, e.g. 22:00–05:00
            return hour >= start or hour < until
        return start <= hour < until

    @property
    def hours_text(self) -> str | None:
        """The allowed hours as `22:00–05:00`, or None when any hour is allowed."""
        if self.allowed_from_hour is None or self.allowed_until_hour is None:
            return None
        return f"{self.allowed_from_hour}:00–{self.allowed_until_hour}:00"

    def _allows_vehicle(self, passage: VehiclePassage) -> bool:
        if not (self.allowed_plates or self.allowed_classes or self.allowed_owners):
            return True
        return (
            passage.plate in self.allowed_plates
            or passage.vehicle_class in self.allowed_classes
            or passage.owner in self.allowed_owners
        )


# The residential rules' names, by key (an alert's evidence names the rule by its key).
RESIDENTIAL_RULE_NAMES: dict[str, tuple[str, str]] = {
    "hazmat": (
        "危化品运输车禁止驶入居住区",
        "hazmat vehicles may not enter a residential community",
    ),
    "muck_truck": (
        "渣土车仅许可时段驶入居住区",
        "muck trucks enter a residential community only in their permitted hours",
    ),
}
# What each broken part means, for the evidence page.
BROKEN_NAMES: dict[str, tuple[str, str]] = {
    Broken.VEHICLE: ("车辆不在许可之列", "not an allowed vehicle"),
    Broken.HOURS: ("非许可时段", "outside the allowed hours"),
}


def residential_rules(params: ModelSettings) -> dict[str, PlaceRule]:
    """The class-and-hours rules every residential community's gates keep, by the vehicle
    class they govern: hazmat vehicles never enter, muck trucks only in their permitted
    hours (the community's `muck_allowed_from_hour` – `muck_allowed_until_hour`)."""
    return {
        "hazmat": PlaceRule(
            "hazmat",
            *RESIDENTIAL_RULE_NAMES["hazmat"],
            governs_classes=frozenset({"hazmat"}),
            governs_direction="in",
            allowed_from_hour=0,
            allowed_until_hour=0,  # an empty window: no hour is allowed
        ),
        "muck_truck": PlaceRule(
            "muck_truck",
            *RESIDENTIAL_RULE_NAMES["muck_truck"],
            governs_classes=frozenset({"muck_truck"}),
            governs_direction="in",
            allowed_from_hour=params.muck_allowed_from_hour,
            allowed_until_hour=params.muck_allowed_until_hour,
        ),
    }


def rule_of(restriction: PlaceRestriction) -> PlaceRule:
    """The place rule a restricted place of the master data keeps. Its key is the
    restriction's id; its name, as imported, serves both languages."""
    return PlaceRule(
        restriction.id,
        restriction.name,
        restriction.name,
        governs_classes=_words(restriction.governs_classes),
        governs_direction=restriction.direction,
        allowed_plates=_words(restriction.allowed_plates_token or ""),
        allowed_classes=_words(restriction.allowed_classes),
        allowed_owners=frozenset(OwnerType(word) for word in _words(restriction.allowed_owners)),
        allowed_from_hour=restriction.allowed_from_hour,
        allowed_until_hour=restriction.allowed_until_hour,
    )


def _words(text: str) -> frozenset[str]:
    return frozenset(word for word in text.split(",") if word)
