"""Row schemas of the master-data import (one per entity) and the registry's read schemas."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, NamedTuple

import numpy as np
import shapely
import shapely.wkt
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from shapely.errors import ShapelyError
from shapely.validation import explain_validity

from zhian.db.base import Base
from zhian.devices.models import Device, DeviceKind
from zhian.governance.plates import read_plate
from zhian.governance.validation import normalise_id_number, normalise_name, normalise_phone
from zhian.kit.characters import formula_fault, identifier_fault, text_fault
from zhian.registry.models import (
    Building,
    Community,
    CommunityKind,
    House,
    Jurisdiction,
    JurisdictionLevel,
    PlaceRestriction,
    PoiKind,
    PointOfInterest,
    RegisteredUse,
    Resident,
    Unit,
    Vehicle,
    Zone,
)

# Spellings a spreadsheet uses for yes and no; Chinese exports write 是/否.
TRUE_WORDS = frozenset({"true", "1", "是", "yes", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "否", "no", "n", "f"})

# Oldest birth year accepted; the newest comes from the validation context (`current_year`),
# since the schema may not read the wall clock.
MIN_BIRTH_YEAR = 1900
# Tallest buildings have about 160 floors; a larger figure is a typing slip.
MAX_FLOORS = 200
# An enrolled face feature has as many float32 values as the intake accepts in a capture
# (zhian.ingest.validate), so it can be compared with captures of the same model.
FACE_FEATURE_MIN_DIMS = 128
FACE_FEATURE_MAX_DIMS = 512


def is_empty_cell(value: object) -> bool:
    """True for a cell that holds nothing: None, or a string of blanks."""
    return value is None or (isinstance(value, str) and not value.strip())


def _parse_flag(value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(f"must be true/false, 1/0 or 是/否, got {value!r}")


def _lower_word(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def normalise_face_feature(value: str) -> str:
    """A face feature as canonical base64 of little-endian float32: 128 to 512 finite values,
    not all zero (re-encoded, so the same feature always reads the same once sealed)."""
    try:
        raw = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64 (little-endian float32 values)") from None
    if len(raw) % 4:
        raise ValueError(f"decodes to {len(raw)} bytes, not a whole number of float32 values")
    dims = len(raw) // 4
    if not FACE_FEATURE_MIN_DIMS <= dims <= FACE_FEATURE_MAX_DIMS:
        raise ValueError(
            f"has {dims} values; expected {FACE_FEATURE_MIN_DIMS} to {FACE_FEATURE_MAX_DIMS}"
        )
    vector = np.frombuffer(raw, dtype="<f4")
    if not bool(np.isfinite(vector).all()):
        raise ValueError("contains a value that is not a finite number")
    if not bool(np.any(vector)):
        raise ValueError("is all zeros")
    return base64.b64encode(raw).decode("ascii")


def _no_blanks(value: str) -> str:
    if any(char.isspace() for char in value):
        raise ValueError("must not contain spaces")
    return value


def _identifier(value: str) -> str:
    """An id cell: printable characters only, and not formula-like (zhian.kit.characters)."""
    reason = identifier_fault(value) or formula_fault(value)
    if reason:
        raise ValueError(reason)
    return value


def _plain_text(value: str) -> str:
    """A text cell (a name, a label): no control or bidirectional characters, and not
    formula-like, so an export opened in a spreadsheet runs nothing."""
    reason = text_fault(value) or formula_fault(value)
    if reason:
        raise ValueError(reason)
    return value


def _check_polygon(text: str) -> str:
    try:
        geometry = shapely.wkt.loads(text)
    except (ShapelyError, ValueError):
        raise ValueError("is not valid WKT, expected e.g. POLYGON((lon lat, ...))") from None
    if geometry.geom_type != "Polygon":
        raise ValueError(f"must be a POLYGON, not a {geometry.geom_type.upper()}")
    if geometry.is_empty:
        raise ValueError("must not be an empty POLYGON")
    if not geometry.is_valid:
        # GEOS says e.g. "Self-intersection[116.47 39.996]".
        problem, _, where = explain_validity(geometry).partition("[")
        near = f" near {where.rstrip(']')}" if where else ""
        raise ValueError(f"is not a valid polygon ({problem.lower()}{near})")
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    if min_lon < -180 or max_lon > 180 or min_lat < -90 or max_lat > 90:
        raise ValueError("has points outside longitude -180..180 / latitude -90..90")
    return text


Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_no_blanks),
    AfterValidator(_identifier),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_plain_text)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=16), AfterValidator(_plain_text)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
AreaM2 = Annotated[float, Field(gt=0)]
Flag = Annotated[bool, BeforeValidator(_parse_flag)]
Plate = Annotated[
    str,
    StringConstraints(max_length=16),
    AfterValidator(_identifier),
    # The same rule as the intake's: a foreign or misread plate is kept (kind `other`).
    AfterValidator(read_plate),
]
PolygonWkt = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_check_polygon)]


class RowModel(BaseModel):
    """One data row of an import file; an empty cell reads as absent (NULL or the default)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        coerce_numbers_to_str=True,  # a spreadsheet turns house number 101 into a number
        allow_inf_nan=False,
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_empty_cells(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {key: value for key, value in data.items() if not is_empty_cell(value)}
        return data


class JurisdictionRow(RowModel):
    id: Code
    parent_id: Code | None = None
    level: Annotated[JurisdictionLevel, BeforeValidator(_lower_word)]
    name: Name


class CommunityRow(RowModel):
    id: Code
    jurisdiction_id: Code
    name: Name
    kind: Annotated[CommunityKind, BeforeValidator(_lower_word)]
    latitude: Latitude
    longitude: Longitude


class BuildingRow(RowModel):
    id: Code
    community_id: Code
    name: Name
    floors: Annotated[int, Field(ge=1, le=MAX_FLOORS)]
    latitude: Latitude
    longitude: Longitude


class UnitRow(RowModel):
    id: Code
    building_id: Code
    name: Name


class HouseRow(RowModel):
    id: Code
    unit_id: Code
    number: Annotated[
        str, StringConstraints(min_length=1, max_length=32), AfterValidator(_plain_text)
    ]
    area_m2: AreaM2
    registered_use: Annotated[RegisteredUse, BeforeValidator(_lower_word)]


class ZoneRow(RowModel):
    id: Code
    community_id: Code | None = None
    jurisdiction_id: Code
    name: Name
    polygon_wkt: PolygonWkt
    area_m2: AreaM2


class PointOfInterestRow(RowModel):
    id: Code
    jurisdiction_id: Code
    community_id: Code | None = None
    kind: Annotated[PoiKind, BeforeValidator(_lower_word)]
    name: Name
    latitude: Latitude
    longitude: Longitude


class ResidentRow(RowModel):
    id: Code
    house_id: Code
    birth_year: Annotated[int, Field(ge=MIN_BIRTH_YEAR)]
    is_floating: Flag = False
    card_ref: Code | None = None

    @field_validator("birth_year")
    @classmethod
    def _not_in_the_future(cls, year: int, info: ValidationInfo) -> int:
        context = info.context if isinstance(info.context, Mapping) else {}
        current_year = context.get("current_year")
        if isinstance(current_year, int) and year > current_year:
            raise ValueError(f"must not be after {current_year}")
        return year


class VehicleRow(RowModel):
    id: Code
    plate: Plate
    plate_color: Label
    vehicle_class: Label
    community_id: Code
    owner_id: Code | None = None


class DeviceRow(RowModel):
    """A device as imported; its token is issued by the device service, never imported."""

    id: Code
    kind: Annotated[DeviceKind, BeforeValidator(_lower_word)]
    name: Name
    community_id: Code | None = None
    building_id: Code | None = None
    unit_id: Code | None = None
    house_id: Code | None = None
    zone_id: Code | None = None
    gateway_id: Code | None = None
    latitude: Latitude
    longitude: Longitude
    is_enabled: Flag = True


# Vehicle classes as vehicle events name them (docs/events.md), and the owner types a
# place rule may allow (zhian.models.place_rules.OwnerType).
VEHICLE_CLASSES = (
    "car",
    "suv",
    "van",
    "truck",
    "muck_truck",
    "hazmat",
    "bus",
    "motorcycle",
    "other",
)
OWNER_TYPES = ("community", "registered", "unregistered")


def _word_list(allowed: tuple[str, ...]) -> Any:
    def check(value: str) -> str:
        words = [word.strip().lower() for word in value.replace("，", ",").split(",")]
        words = [word for word in words if word]
        unknown = [word for word in words if word not in allowed]
        if unknown:
            raise ValueError(f"'{unknown[0]}' is not one of {', '.join(allowed)}")
        return ",".join(dict.fromkeys(words))

    return AfterValidator(check)


ClassList = Annotated[str, StringConstraints(max_length=200), _word_list(VEHICLE_CLASSES)]
OwnerList = Annotated[str, StringConstraints(max_length=64), _word_list(OWNER_TYPES)]
Hour = Annotated[int, Field(ge=0, le=23)]


def _plate_list(value: str) -> str:
    """Plates separated by commas (or Chinese commas, semicolons), each read by the plate
    rule (`read_plate`: a foreign or unreadable plate is kept), duplicates dropped."""
    items = [item for item in re.split(r"[,，;；]", value) if item.strip()]
    plates = []
    for item in items:
        try:
            plates.append(read_plate(item))
        except ValueError as exc:
            raise ValueError(f"plate '{item.strip()}' {exc}") from exc
    return ",".join(dict.fromkeys(plates))


PlateList = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_plate_list)]


class PlaceRestrictionRow(RowModel):
    id: Code
    device_id: Code | None = None
    zone_id: Code | None = None
    name: Name
    governs_classes: ClassList = ""
    direction: Annotated[Literal["in", "out"], BeforeValidator(_lower_word)] | None = None
    allowed_classes: ClassList = ""
    allowed_owners: OwnerList = ""
    allowed_from_hour: Hour | None = None
    allowed_until_hour: Hour | None = None
    allowed_plates: PlateList = ""

    @model_validator(mode="after")
    def _one_place_and_whole_hours(self) -> PlaceRestrictionRow:
        if (self.device_id is None) == (self.zone_id is None):
            raise ValueError("give either device_id or zone_id: the one place the rule holds at")
        if (self.allowed_from_hour is None) != (self.allowed_until_hour is None):
            raise ValueError("give both allowed_from_hour and allowed_until_hour, or neither")
        return self


class EntitySpec(NamedTuple):
    """How one entity is imported: its row schema, its table and its name in messages."""

    row_model: type[RowModel]
    orm_model: type[Base]
    noun: str


# Load order: every entity refers only to entities before it (or to itself).
ENTITY_ORDER: tuple[str, ...] = (
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
    "place_restrictions",
)

ENTITIES: Mapping[str, EntitySpec] = {
    "jurisdictions": EntitySpec(JurisdictionRow, Jurisdiction, "jurisdiction"),
    "communities": EntitySpec(CommunityRow, Community, "community"),
    "buildings": EntitySpec(BuildingRow, Building, "building"),
    "units": EntitySpec(UnitRow, Unit, "unit"),
    "houses": EntitySpec(HouseRow, House, "house"),
    "zones": EntitySpec(ZoneRow, Zone, "zone"),
    "points_of_interest": EntitySpec(PointOfInterestRow, PointOfInterest, "point of interest"),
    "residents": EntitySpec(ResidentRow, Resident, "resident"),
    "vehicles": EntitySpec(VehicleRow, Vehicle, "vehicle"),
    "devices": EntitySpec(DeviceRow, Device, "device"),
    "place_restrictions": EntitySpec(PlaceRestrictionRow, PlaceRestriction, "place restriction"),
}


def required_columns(entity: str) -> tuple[str, ...]:
    """Columns an import file of `entity` must have, in schema order."""
    fields = ENTITIES[entity].row_model.model_fields
    return tuple(name for name, info in fields.items() if info.is_required())


def known_columns(entity: str) -> tuple[str, ...]:
    """Every column an import file of `entity` may have, in schema order."""
    return tuple(ENTITIES[entity].row_model.model_fields)


class JurisdictionRead(BaseModel):
    """A node of the jurisdiction tree as the pages and the alert routing read it."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    parent_id: str | None
    level: JurisdictionLevel
    name: str


@dataclass(frozen=True)
class JurisdictionTreeRead:
    """The whole jurisdiction tree in one read: parents, names, and each community's owner."""

    parents: Mapping[str, str | None]
    names: Mapping[str, str]
    levels: Mapping[str, str]
    community_jurisdiction: Mapping[str, str]


class CommunityRead(BaseModel):
    """A community as the pages and the demo list it."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    jurisdiction_id: str
    name: str
    kind: CommunityKind
    latitude: float
    longitude: float


class BuildingRead(BaseModel):
    """A building of a community with its position (WGS84)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    community_id: str
    name: str
    floors: int
    latitude: float
    longitude: float


class ZoneRead(BaseModel):
    """A watched area with its polygon (WKT, WGS84) and floor area."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    community_id: str | None
    jurisdiction_id: str
    name: str
    polygon_wkt: str
    area_m2: float


class HouseRead(BaseModel):
    """A dwelling (实有房屋) with the community it lies in."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    unit_id: str
    number: str
    area_m2: float
    registered_use: RegisteredUse
    community_id: str


class ResidentPlaceRead(BaseModel):
    """A resident (实有人口) and where they live; never the sealed identity fields."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    birth_year: int
    is_floating: bool
    card_ref: str | None  # masked (C***01): the registry holds the card only sealed (#12)
    house_id: str
    house: str  # the house number, e.g. "301"
    unit: str
    building: str
    community_id: str
    community: str


# --- Identity fields (governance, issue #4) --------------------------------------------
# Cells an import file may carry beside the table's columns. They never reach the table
# as written: the registry seals them (AES-GCM) and keeps a keyed token of the ID number.


class ResidentIdentityRow(RowModel):
    """The identity cells of a resident row: all optional, each checked for what it is."""

    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    id_number: Annotated[str, StringConstraints(max_length=32)] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    # Issue #6: enrolled by a residential face access system (base64 float32).
    face_feature: Annotated[str, StringConstraints(max_length=4096)] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return normalise_name(_plain_text(value))

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str, info: ValidationInfo) -> str:
        context = info.context if isinstance(info.context, Mapping) else {}
        current_year = context.get("current_year")
        today = date(current_year, 12, 31) if isinstance(current_year, int) else None
        return normalise_id_number(value, today=today)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)

    @field_validator("face_feature")
    @classmethod
    def _face_feature(cls, value: str) -> str:
        return normalise_face_feature(value)


IDENTITY_ROWS: Mapping[str, type[RowModel]] = {"residents": ResidentIdentityRow}


def identity_columns(entity: str) -> tuple[str, ...]:
    """Identity cells an import file of `entity` may carry (sealed, never stored as text)."""
    model = IDENTITY_ROWS.get(entity)
    return tuple(model.model_fields) if model is not None else ()
