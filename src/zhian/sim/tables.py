"""The district's tables (registry columns, load order) and the simulator's indexes."""

from __future__ import annotations

from dataclasses import dataclass, field

Row = dict[str, object]

TABLE_ORDER: tuple[str, ...] = (
    "jurisdictions",
    "communities",
    "buildings",
    "units",
    "houses",
    "zones",
    "points_of_interest",
    "residents",
    "vehicles",
    "devices",
)
COLUMNS: dict[str, tuple[str, ...]] = {
    "jurisdictions": ("id", "parent_id", "level", "name"),
    "communities": ("id", "jurisdiction_id", "name", "kind", "latitude", "longitude"),
    "buildings": ("id", "community_id", "name", "floors", "latitude", "longitude"),
    "units": ("id", "building_id", "name"),
    "houses": ("id", "unit_id", "number", "area_m2", "registered_use"),
    "zones": ("id", "community_id", "jurisdiction_id", "name", "polygon_wkt", "area_m2"),
    "points_of_interest": (
        "id",
        "jurisdiction_id",
        "community_id",
        "kind",
        "name",
        "latitude",
        "longitude",
    ),
    "residents": ("id", "house_id", "birth_year", "is_floating", "card_ref"),
    "vehicles": ("id", "plate", "plate_color", "vehicle_class", "community_id", "owner_id"),
    "devices": (
        "id",
        "kind",
        "name",
        "community_id",
        "building_id",
        "unit_id",
        "house_id",
        "zone_id",
        "gateway_id",
        "latitude",
        "longitude",
        "is_enabled",
    ),
}


@dataclass(frozen=True, slots=True)
class Entrance:
    """A community entrance: an access-controlled gate door and/or a face camera."""

    name: str
    door: str | None
    camera: str | None


@dataclass(slots=True)
class Site:
    """A residential community as the simulator drives it."""

    community_id: str
    kind: str
    entrances: list[Entrance]
    vehicle_gates: list[str]
    gateway: str
    # Car-park cameras reading parked cars' plates (车位相机), one per gated site (#20).
    parking: list[str] = field(default_factory=list)
    unit_doors: list[str] = field(default_factory=list)
    residents_by_door: dict[str, list[int]] = field(default_factory=dict)
    households: list[tuple[str, list[int]]] = field(default_factory=list)
    house_locks: dict[str, str] = field(default_factory=dict)  # house -> its smart door lock
    smoke_by_building: dict[str, list[str]] = field(default_factory=dict)
    perimeter: list[str] = field(default_factory=list)
    sos: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CrowdCounter:
    """A people counter of a zone: `occupancy` readings, or `line` counts with a flow share."""

    device_id: str
    zone_id: str
    mode: str
    share: float


@dataclass(frozen=True, slots=True)
class PublicPlaces:
    """Devices of the shopping street and the school."""

    checkpoint: str
    street_cameras: list[str]
    school_cameras: list[str]
    crowd_counters: list[CrowdCounter]
    smoke: list[str]
    sos: list[str]
    perimeter: list[str]


def csv_cell(value: object) -> str:
    """A value as the CSV importer reads it: empty for NULL, true/false for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
