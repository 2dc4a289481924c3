"""GA/T 1400 object kinds and the msgspec schemas of the fields Zhian reads.

Objects arrive as JSON objects with many more fields than these; the schemas read the
known part (leniently: "14" and 14 are both a Type) and the full object is kept as sent,
minus the fields Zhian refuses to store (`DROPPED_FIELDS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

# Never stored, whatever a device sends (DESIGN.md "Responsible use"): ethnicity, region of
# origin and its proxies, religion, and lifestyle "suspicious person" labels.
DROPPED_FIELDS = frozenset(
    {
        "EthicCode",
        "NativeCityCode",
        "ChineseAccentCode",
        "ReligionCode",
        "ReligiousBelief",
        "IsSuspiciousPerson",
    }
)


@dataclass(frozen=True)
class ObjectKind:
    """One kind of structured object: its path, list wrapper, ID field and codes."""

    path: str  # "Faces" in /VIID/Faces
    wrapper: str  # FaceListObject
    item_keys: tuple[str, ...]  # FaceObject, and the FaceList dialect
    id_field: str
    subscribe_detail: int  # SubscribeDetail code for "automatically collected ..."
    notification_list: str  # member of a SubscribeNotificationObject
    time_fields: tuple[str, ...]  # first present wins


FACES = ObjectKind(
    "Faces",
    "FaceListObject",
    ("FaceObject", "FaceList"),
    "FaceID",
    12,
    "FaceObjectList",
    ("FaceAppearTime", "LocationMarkTime", "FaceDisAppearTime"),
)
PERSONS = ObjectKind(
    "Persons",
    "PersonListObject",
    ("PersonObject", "PersonList"),
    "PersonID",
    11,
    "PersonObjectList",
    ("PersonAppearTime", "LocationMarkTime", "PersonDisAppearTime"),
)
MOTOR_VEHICLES = ObjectKind(
    "MotorVehicles",
    "MotorVehicleListObject",
    ("MotorVehicleObject", "MotorVehicleList"),
    "MotorVehicleID",
    13,
    "MotorVehicleObjectList",
    ("PassTime", "AppearTime", "MarkTime"),
)
NON_MOTOR_VEHICLES = ObjectKind(
    "NonMotorVehicles",
    "NonMotorVehicleListObject",
    ("NonMotorVehicleObject", "NonMotorVehicleList"),
    "NonMotorVehicleID",
    14,
    "NonMotorVehicleObjectList",
    ("PassTime", "AppearTime", "MarkTime"),
)
KINDS: dict[str, ObjectKind] = {
    kind.path: kind for kind in (FACES, PERSONS, MOTOR_VEHICLES, NON_MOTOR_VEHICLES)
}
KINDS_BY_DETAIL: dict[int, ObjectKind] = {kind.subscribe_detail: kind for kind in KINDS.values()}
# Inner lists of an ImageListObject.Image element, by kind.
IMAGE_INNER_LISTS: dict[str, ObjectKind] = {
    "FaceList": FACES,
    "PersonList": PERSONS,
    "MotorVehicleList": MOTOR_VEHICLES,
    "NonMotorVehicleList": NON_MOTOR_VEHICLES,
}

Scalar = str | int | None


class SubImageInfo(msgspec.Struct, kw_only=True):
    """`SubImageInfoObject`: a picture, inline (`Data`, base64) or by `StoragePath`."""

    image_id: str | None = msgspec.field(default=None, name="ImageID")
    type: Scalar = msgspec.field(default=None, name="Type")
    file_format: str | None = msgspec.field(default=None, name="FileFormat")
    data: str | None = msgspec.field(default=None, name="Data")
    storage_path: str | None = msgspec.field(default=None, name="StoragePath")
    shot_time: Scalar = msgspec.field(default=None, name="ShotTime")


class SubImageList(msgspec.Struct, kw_only=True):
    items: list[SubImageInfo] = msgspec.field(default_factory=list, name="SubImageInfoObject")


class ObjectHead(msgspec.Struct, kw_only=True):
    """The fields every collected object shares that Zhian reads."""

    device_id: str = msgspec.field(name="DeviceID")
    source_id: str | None = msgspec.field(default=None, name="SourceID")
    sub_images: SubImageList | None = msgspec.field(default=None, name="SubImageList")


class VehicleFields(msgspec.Struct, kw_only=True):
    """What a vehicle event needs from a (non-)motor vehicle object."""

    plate_no: str | None = msgspec.field(default=None, name="PlateNo")
    plate_color: Scalar = msgspec.field(default=None, name="PlateColor")
    color_type: Scalar = msgspec.field(default=None, name="ColorType")  # Easy1400 quirk
    vehicle_class: Scalar = msgspec.field(default=None, name="VehicleClass")
    has_plate: Scalar = msgspec.field(default=None, name="HasPlate")


class ImageInfo(msgspec.Struct, kw_only=True):
    """`ImageInfo` of an `ImageListObject.Image` element."""

    image_id: str = msgspec.field(name="ImageID")
    device_id: str | None = msgspec.field(default=None, name="DeviceID")
    file_format: str | None = msgspec.field(default=None, name="FileFormat")
    shot_time: Scalar = msgspec.field(default=None, name="ShotTime")
