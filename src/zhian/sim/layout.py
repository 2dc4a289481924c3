"""Where things are in the demo district: coordinates, jurisdiction codes, community shapes."""

from __future__ import annotations

import math
from dataclasses import dataclass

from zhian.registry.models import CommunityKind

CENTRE = (30.2700, 120.1550)  # near West Lake, Hangzhou
METRES_PER_DEGREE_LAT = 111_320.0

J_PROVINCE, J_CITY, J_DISTRICT, J_STATION = "330000", "330100", "330102", "330102-PS01"
J_COMMUNITY = ("330102-PS01-01", "330102-PS01-02", "330102-PS01-03")

# Pools that do not scale with the district: passing traffic and passers-by in the street.
PASSING_PLATES = 1500
TRADE_PLATES = 150
MUCK_TRUCK_PLATES = 12
COMPANY_VEHICLES = 20
COURIERS = 10


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point `north_m` north and `east_m` east of (lat, lon), rounded to ~0.1 m."""
    east_per_degree = METRES_PER_DEGREE_LAT * math.cos(math.radians(lat))
    return round(lat + north_m / METRES_PER_DEGREE_LAT, 6), round(lon + east_m / east_per_degree, 6)


def rectangle_wkt(lat: float, lon: float, width_m: float, height_m: float) -> str:
    """A WGS84 WKT polygon (lon lat order) of a width x height rectangle centred on a point."""
    south, west = offset(lat, lon, -height_m / 2, -width_m / 2)
    north, east = offset(lat, lon, height_m / 2, width_m / 2)
    ring = [(west, south), (east, south), (east, north), (west, north), (west, south)]
    return "POLYGON((" + ", ".join(f"{x:.6f} {y:.6f}" for x, y in ring) + "))"


@dataclass(frozen=True)
class SiteSpec:
    """Shape of one residential community at scale 1."""

    code: str
    name: str
    kind: CommunityKind
    jurisdiction: str
    north_m: float
    east_m: float
    buildings: int
    units: int
    floors: int
    per_floor: int
    area_m2: tuple[float, float]
    use_weights: tuple[float, float, float]  # owner-occupied, rented, idle
    household: tuple[int, int]
    floating_share: float
    door_share: float  # units with an access-controlled door
    entrances: tuple[tuple[str, bool], ...]  # (name, has an access-controlled door)
    vehicle_gates: int
    cars_per_house: float
    smoke_per_unit: int
    perimeter: int
    sos: int
    face_share: float  # residents who open doors by face rather than card


SITE_SPECS = (
    SiteSpec(
        "C01",
        "梧桐里社区",
        CommunityKind.OPEN,
        J_COMMUNITY[0],
        260,
        -420,
        buildings=12,
        units=3,
        floors=6,
        per_floor=2,
        area_m2=(42, 88),
        use_weights=(0.70, 0.22, 0.08),
        household=(1, 4),
        floating_share=0.25,
        door_share=0.25,
        entrances=(("东口", False), ("西口", False), ("南口", False), ("北口", False)),
        vehicle_gates=1,
        cars_per_house=0.7,
        smoke_per_unit=2,
        perimeter=0,
        sos=4,
        face_share=0.1,
    ),
    SiteSpec(
        "C02",
        "锦绣华庭",
        CommunityKind.GATED,
        J_COMMUNITY[1],
        -100,
        480,
        buildings=8,
        units=2,
        floors=16,
        per_floor=2,
        area_m2=(86, 162),
        use_weights=(0.80, 0.12, 0.08),
        household=(2, 4),
        floating_share=0.12,
        door_share=1.0,
        entrances=(("南门", True), ("北门", True)),
        vehicle_gates=2,
        cars_per_house=1.25,
        smoke_per_unit=4,
        perimeter=8,
        sos=2,
        face_share=0.6,
    ),
    SiteSpec(
        "C03",
        "新塘出租屋片区",
        CommunityKind.RENTAL,
        J_COMMUNITY[2],
        -560,
        -680,
        buildings=10,
        units=1,
        floors=5,
        per_floor=6,
        area_m2=(12, 36),
        use_weights=(0.03, 0.92, 0.05),
        household=(1, 4),
        floating_share=0.85,
        door_share=0.5,
        entrances=(("正门", True), ("侧门", False)),
        vehicle_gates=1,
        cars_per_house=0.4,
        smoke_per_unit=5,
        perimeter=2,
        sos=1,
        face_share=0.8,
    ),
)


def scaled(count: int, scale: float) -> int:
    return max(1, round(count * scale))
