"""Synthetic people and vehicles: daily-routine roles, card references and licence plates.

Routine roles exist only inside the simulator to shape daily rhythms; they never reach the
master data. Nothing here models ethnicity, origin, religion or health (DESIGN.md,
"Responsible use"): plates carry the province prefix a real plate has, and nothing else.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import IntEnum

from zhian.ingest.events import AccessMethod, PlateColor, Subject, VehicleClass

# Birth years are drawn as ages before this year, so they are never in the future.
REFERENCE_YEAR = 2025

# Letters a Chinese plate may use: I and O are never issued (they read as 1 and 0).
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "0123456789"
# Most cars in a Hangzhou district carry local plates; the rest come from anywhere.
PROVINCE_WEIGHTS = (
    ("浙", 82),
    ("沪", 3),
    ("苏", 4),
    ("皖", 4),
    ("赣", 2),
    ("闽", 1),
    ("鲁", 1),
    ("豫", 1),
    ("湘", 1),
    ("川", 1),
)
_PROVINCES = [name for name, _ in PROVINCE_WEIGHTS]
_PROVINCE_CUM = [sum(w for _, w in PROVINCE_WEIGHTS[: i + 1]) for i in range(len(PROVINCE_WEIGHTS))]


class Role(IntEnum):
    """The daily routine a resident follows in the simulation (never exported)."""

    CHILD = 0  # under 6: goes out with an adult, reads no card
    STUDENT = 1  # school runs at 7:00-7:30 and 16:30-17:30 on school days
    COMMUTER = 2  # leaves 7-9, back 17-20 on working days
    SERVICE = 3  # shop and restaurant staff: leaves mid-morning, back late evening
    NIGHT_SHIFT = 4  # leaves 21-23, back 6-8 the next morning
    HOME = 5  # at home in the day: market in the morning, errands in the afternoon
    RETIREE = 6  # mid-morning and afternoon outings


@dataclass(slots=True)
class Person:
    """The simulator's view of one resident: where they pass and how they read in."""

    index: int
    id: str
    house_id: str
    site: int  # index into District.sites
    role: Role
    unit_door: str | None  # the access-controlled door of the resident's unit, if any
    entrance: int  # preferred entrance of the community
    method: AccessMethod  # "face" or "card": how this resident usually opens doors
    access_subject: Subject  # what a door reports for this resident
    face_subject: Subject  # what a face camera reports when it recognises the resident
    vehicle: int = -1  # index into District.cars of the car this resident drives


@dataclass(slots=True, frozen=True)
class Car:
    """A vehicle as the gates read it; `owner` is a Person index or -1."""

    plate: str
    plate_color: PlateColor
    vehicle_class: VehicleClass
    site: int  # index into District.sites, -1 for vehicles that are not a resident site's
    owner: int


def card_ref(index: int) -> str:
    """A card number unique per index: an affine bijection of the 40-bit space."""
    return f"{(index * 0x9E3779B97F + 0x51ED27) % (1 << 40):010X}"


def pick_province(rng: random.Random) -> str:
    roll = rng.random() * _PROVINCE_CUM[-1]
    for name, cum in zip(_PROVINCES, _PROVINCE_CUM, strict=True):
        if roll < cum:
            return name
    return _PROVINCES[-1]


def _city_letter(rng: random.Random, province: str) -> str:
    if province == "浙" and rng.random() < 0.85:
        return "A"  # Hangzhou
    return PLATE_LETTERS[int(rng.random() * 12)]


def _serial(rng: random.Random) -> str:
    """Five characters of an ordinary plate: digits with at most two letters."""
    chars: list[str] = []
    letters = 0
    for _ in range(5):
        if letters < 2 and rng.random() < 0.12:
            chars.append(PLATE_LETTERS[int(rng.random() * len(PLATE_LETTERS))])
            letters += 1
        else:
            chars.append(DIGITS[int(rng.random() * 10)])
    return "".join(chars)


def make_plate(rng: random.Random, color: str) -> str:
    """A plate in the format of its colour (GA 36-2018).

    blue / yellow: 浙A12345 (7 characters); green (small new-energy): 浙AD12345, the third
    character D (electric) or F (hybrid) then a letter or digit and four digits; yellow_green
    (large new-energy): 浙A12345D.
    """
    province = pick_province(rng)
    city = _city_letter(rng, province)
    if color == "green":
        energy = "DF"[int(rng.random() * 2)]
        second = (
            PLATE_LETTERS[int(rng.random() * len(PLATE_LETTERS))]
            if rng.random() < 0.3
            else DIGITS[int(rng.random() * 10)]
        )
        tail = "".join(DIGITS[int(rng.random() * 10)] for _ in range(4))
        return f"{province}{city}{energy}{second}{tail}"
    if color == "yellow_green":
        digits = "".join(DIGITS[int(rng.random() * 10)] for _ in range(5))
        return f"{province}{city}{digits}{'DF'[int(rng.random() * 2)]}"
    return f"{province}{city}{_serial(rng)}"


def unique_plate(rng: random.Random, color: str, taken: set[str]) -> str:
    while True:
        plate = make_plate(rng, color)
        if plate not in taken:
            taken.add(plate)
            return plate


def private_car(rng: random.Random) -> tuple[PlateColor, VehicleClass]:
    """Plate colour and class of a residents' car: about a quarter are new-energy."""
    color: PlateColor = "green" if rng.random() < 0.26 else "blue"
    roll = rng.random()
    vehicle_class: VehicleClass = "car" if roll < 0.68 else "suv" if roll < 0.96 else "van"
    return color, vehicle_class


def trade_vehicle(rng: random.Random) -> tuple[PlateColor, VehicleClass]:
    """Plate colour and class of a delivery or shop vehicle."""
    roll = rng.random()
    if roll < 0.55:
        return "blue", "van"
    if roll < 0.8:
        return "yellow", "truck"
    if roll < 0.9:
        return "yellow_green", "truck"
    return "green", "van"


# Age bands per community kind: (lowest age, age bound exclusive, weight).
AGE_BANDS: dict[str, tuple[tuple[int, int, float], ...]] = {
    "open": ((0, 6, 0.04), (6, 18, 0.10), (18, 60, 0.50), (60, 92, 0.36)),
    "gated": ((0, 6, 0.08), (6, 18, 0.16), (18, 60, 0.60), (60, 90, 0.16)),
    "rental": ((0, 6, 0.03), (6, 18, 0.05), (18, 60, 0.88), (60, 80, 0.04)),
}

# Routine shares of working-age residents per community kind:
# (commuter, service, night shift); the rest stay at home in the day.
WORK_SHARES: dict[str, tuple[float, float, float]] = {
    "open": (0.68, 0.10, 0.04),
    "gated": (0.74, 0.06, 0.03),
    "rental": (0.50, 0.30, 0.08),
}


def draw_age(rng: random.Random, kind: str, *, adult: bool = False) -> int:
    bands = AGE_BANDS[kind]
    if adult:
        bands = tuple(band for band in bands if band[0] >= 18)
    total = sum(weight for _, _, weight in bands)
    roll = rng.random() * total
    for low, high, weight in bands:
        if roll < weight:
            return low + int(rng.random() * (high - low))
        roll -= weight
    low, high, _ = bands[-1]
    return low + int(rng.random() * (high - low))


def draw_role(rng: random.Random, kind: str, age: int) -> Role:
    if age < 6:
        return Role.CHILD
    if age < 18:
        return Role.STUDENT
    if age >= 60:
        return Role.RETIREE
    commuter, service, night = WORK_SHARES[kind]
    roll = rng.random()
    if roll < commuter:
        return Role.COMMUTER
    if roll < commuter + service:
        return Role.SERVICE
    if roll < commuter + service + night:
        return Role.NIGHT_SHIFT
    return Role.HOME
