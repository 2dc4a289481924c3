"""Turn GA/T 1400 objects (faces, persons, vehicles, images) into Zhian events.

Each object is checked (IDs, times, pictures), its inline pictures go to the image store,
and it becomes zero, one or two events. The object itself is kept as sent (pictures by
reference, `DROPPED_FIELDS` removed) so GET and subscriptions can hand it on unchanged.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Literal

import msgspec

from zhian.errors import ZhianError
from zhian.ingest.events import AccessEvent, Event, FaceEvent, Subject, VehicleEvent
from zhian.ingest.validate import FieldError, decode_error
from zhian.ingest.viid.objects import (
    DROPPED_FIELDS,
    FACES,
    MOTOR_VEHICLES,
    NON_MOTOR_VEHICLES,
    PERSONS,
    ImageInfo,
    ObjectHead,
    ObjectKind,
    VehicleFields,
)
from zhian.ingest.viid.wire import id_error, parse_time

# ColorType codes (PlateColor uses them): 1 black, 2 white, 5 blue, 6 yellow, 9 green.
PlateColorName = Literal["blue", "yellow", "green", "white", "black", "yellow_green", "other"]
_PLATE_COLORS: dict[str, PlateColorName] = {
    "1": "black",
    "2": "white",
    "5": "blue",
    "6": "yellow",
    "9": "green",
}
_NO_PLATE = "无车牌"
_IMAGE_TYPES = {"jpeg": "image/jpeg", "jpg": "image/jpeg", "jfif": "image/jpeg", "png": "image/png"}
# Which sub-image a Zhian event points at, by preference (ImageType codes).
_FACE_PICTURES = ("11", "10", "14")
_VEHICLE_PICTURES = ("09", "01", "02", "12", "14")

SaveImage = Callable[[bytes, str], str]


@dataclass(frozen=True)
class MappingOptions:
    """Choices the wire format leaves open (docs/interop-viid.md, settings `[viid]`)."""

    timezone: tzinfo
    face_quality: float
    direction: Literal["in", "out"]


@dataclass
class MappedObject:
    """An accepted object: its identity, its events and the copy that is kept."""

    kind: ObjectKind
    object_id: str
    device_id: str
    shot_at: datetime
    events: list[Event]
    stored: dict[str, Any]


@dataclass
class ObjectRejected(Exception):  # noqa: N818 - a rejection, not a programming error
    """An object that cannot be mapped; every field error found, and its ID when known."""

    errors: list[FieldError]
    object_id: str | None = None
    device_id: str | None = None

    def __str__(self) -> str:
        return "; ".join(f"{e.field}: {e.reason}" for e in self.errors)


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy without the fields Zhian never stores."""
    return {k: v for k, v in obj.items() if k not in DROPPED_FIELDS}


def scrub(value: object) -> object:
    """`value` with `DROPPED_FIELDS` removed at every depth (for quarantined bodies)."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in DROPPED_FIELDS}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def map_object(
    kind: ObjectKind,
    obj: object,
    *,
    device_kind: Callable[[str], str | None],
    save_image: SaveImage,
    options: MappingOptions,
    picture: str | None = None,
) -> MappedObject:
    """Check and map one object; `picture` is an image reference from an enclosing Image."""
    if not isinstance(obj, dict):
        raise ObjectRejected([FieldError(kind.item_keys[0], "must be a JSON object")])
    object_id = obj.get(kind.id_field)
    errors: list[FieldError] = []
    problem = id_error(object_id, 48)
    if problem:
        errors.append(FieldError(kind.id_field, problem))
    try:
        head = msgspec.convert(obj, ObjectHead, strict=False)
    except msgspec.ValidationError as exc:
        error = decode_error(exc)
        raise ObjectRejected(
            [*errors, error], _text(object_id), _text(obj.get("DeviceID"))
        ) from None
    for name, value, digits in (("DeviceID", head.device_id, 20), ("SourceID", head.source_id, 41)):
        if value is not None and (problem := id_error(value, digits)):
            errors.append(FieldError(name, problem))
    stored = clean(obj)
    refs, image_errors, sub_images = _store_pictures(head, save_image, options)
    errors += image_errors
    shot_at = _first_time(obj, kind.time_fields, sub_images, options, errors)
    if errors or shot_at is None:
        raise ObjectRejected(errors, _text(object_id), head.device_id)
    assert isinstance(object_id, str)  # checked by id_error above
    if sub_images is not None:
        stored["SubImageList"] = {"SubImageInfoObject": sub_images}
    is_door = device_kind(head.device_id) == "door"
    events = _events(kind, obj, object_id, head.device_id, shot_at, refs, picture, is_door, options)
    return MappedObject(kind, object_id, head.device_id, shot_at, events, stored)


def map_image(
    element: object, *, save_image: SaveImage, options: MappingOptions
) -> tuple[str, str | None, dict[str, Any]]:
    """An `ImageListObject.Image` element: (ImageID, picture reference, stored copy)."""
    if not isinstance(element, dict):
        raise ObjectRejected([FieldError("Image", "must be a JSON object")])
    try:
        info = msgspec.convert(element.get("ImageInfo"), ImageInfo, strict=False)
    except msgspec.ValidationError as exc:
        error = decode_error(exc)
        raise ObjectRejected(
            [FieldError(f"ImageInfo.{error.field}".rstrip("."), error.reason)]
        ) from None
    errors: list[FieldError] = []
    if problem := id_error(info.image_id, 41):
        errors.append(FieldError("ImageInfo.ImageID", problem))
    if info.device_id is not None and (problem := id_error(info.device_id, 20)):
        errors.append(FieldError("ImageInfo.DeviceID", problem))
    ref: str | None = None
    stored = clean(element)
    data = element.get("Data")
    if isinstance(data, str) and data:
        try:
            ref = _save(data, info.file_format, save_image)
        except ValueError as exc:
            errors.append(FieldError("Data", str(exc)))
        stored["Data"] = ""
        stored["ImageInfo"] = {**element.get("ImageInfo", {}), "StoragePath": ref or ""}
    if errors:
        raise ObjectRejected(errors, info.image_id, info.device_id)
    return info.image_id, ref, stored


def _text(value: object) -> str | None:
    return value[:64] if isinstance(value, str) else None


def _store_pictures(
    head: ObjectHead, save_image: SaveImage, options: MappingOptions
) -> tuple[dict[str, str], list[FieldError], list[dict[str, Any]] | None]:
    """Save inline pictures; (Type -> image ref, errors, sub-images as they will be kept)."""
    if head.sub_images is None:
        return {}, [], None
    refs: dict[str, str] = {}
    errors: list[FieldError] = []
    kept: list[dict[str, Any]] = []
    for index, sub in enumerate(head.sub_images.items):
        where = f"SubImageList.SubImageInfoObject[{index}]"
        copy = msgspec.to_builtins(sub)
        if sub.image_id is not None and (problem := id_error(sub.image_id, 41)):
            errors.append(FieldError(f"{where}.ImageID", problem))
        image_type = _code(sub.type)
        if sub.data:
            try:
                ref = _save(sub.data, sub.file_format, save_image)
            except ValueError as exc:
                errors.append(FieldError(f"{where}.Data", str(exc)))
            else:
                refs.setdefault(image_type, ref)
                copy["StoragePath"] = ref
            copy["Data"] = ""
        elif sub.storage_path and sub.storage_path.startswith("img:"):
            refs.setdefault(image_type, sub.storage_path)
        kept.append({k: v for k, v in copy.items() if v is not None})
    return refs, errors, kept


def _save(data: str, file_format: str | None, save_image: SaveImage) -> str:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None
    fmt = (file_format or "").strip().lower()
    if fmt:
        content_type = _IMAGE_TYPES.get(fmt)
        if content_type is None:
            raise ValueError(f"FileFormat '{file_format}' is not accepted; send Jpeg or Png")
    else:
        content_type = "image/png" if raw.startswith(b"\x89PNG") else "image/jpeg"
    try:
        return save_image(raw, content_type)
    except ZhianError as exc:
        raise ValueError(exc.message) from None


def _code(value: object) -> str:
    """An ImageType code as two digits ("1" and 1 -> "01"; "14" stays)."""
    text = str(value).strip() if value is not None else ""
    return text.zfill(2) if text.isdigit() and len(text) < 2 else text


def _first_time(
    obj: dict[str, Any],
    names: tuple[str, ...],
    sub_images: list[dict[str, Any]] | None,
    options: MappingOptions,
    errors: list[FieldError],
) -> datetime | None:
    for name in names:
        value = obj.get(name)
        if value not in (None, ""):
            try:
                return parse_time(value, options.timezone)
            except ValueError as exc:
                errors.append(FieldError(name, str(exc)))
                return None
    for index, sub in enumerate(sub_images or []):
        value = sub.get("ShotTime")
        if value not in (None, ""):
            try:
                return parse_time(value, options.timezone)
            except ValueError as exc:
                where = f"SubImageList.SubImageInfoObject[{index}].ShotTime"
                errors.append(FieldError(where, str(exc)))
                return None
    errors.append(FieldError(names[0], f"is required (or {', '.join(names[1:])}, or a ShotTime)"))
    return None


def _pick(refs: dict[str, str], order: tuple[str, ...], fallback: str | None) -> str | None:
    for code in order:
        if code in refs:
            return refs[code]
    return next(iter(refs.values()), fallback)


def _events(
    kind: ObjectKind,
    obj: dict[str, Any],
    object_id: str,
    device_id: str,
    shot_at: datetime,
    refs: dict[str, str],
    picture: str | None,
    is_door: bool,
    options: MappingOptions,
) -> list[Event]:
    events: list[Event] = []
    if kind in (FACES, PERSONS) and is_door:
        # A face-recognition door reader: the capture is also a passage through the door.
        events.append(
            AccessEvent(
                id=object_id,
                device_id=device_id,
                time=shot_at,
                subject=Subject(kind="face_cluster", ref=object_id),
                direction=options.direction,
                method="face",
                result="granted",
            )
        )
    if kind is FACES:
        face_id = f"{object_id}-face" if is_door else object_id
        events.append(
            FaceEvent(
                id=face_id,
                device_id=device_id,
                time=shot_at,
                quality=options.face_quality,
                image=_pick(refs, _FACE_PICTURES, picture),
            )
        )
    elif kind in (MOTOR_VEHICLES, NON_MOTOR_VEHICLES):
        fields = msgspec.convert(obj, VehicleFields, strict=False)
        plate = (fields.plate_no or "").strip() or _NO_PLATE
        if str(fields.has_plate) == "0":
            plate = _NO_PLATE
        color: PlateColorName = _PLATE_COLORS.get(
            str(fields.plate_color or fields.color_type or ""), "other"
        )
        vehicle_class = (
            _vehicle_class(str(fields.vehicle_class or "")) if kind is MOTOR_VEHICLES else "other"
        )
        events.append(
            VehicleEvent(
                id=object_id,
                device_id=device_id,
                time=shot_at,
                plate=plate[:16],
                plate_color=color if plate != _NO_PLATE else "other",
                vehicle_class=vehicle_class,
                direction=options.direction,
                image=_pick(refs, _VEHICLE_PICTURES, picture),
            )
        )
    return events


def _vehicle_class(
    code: str,
) -> Literal["car", "suv", "van", "truck", "bus", "motorcycle", "other"]:
    """GA 24.4-style VehicleClass codes (K33 saloon, K32 off-road, K39 van, H.. trucks …)."""
    code = code.strip().upper()
    if code in ("K33", "K31", "K34"):
        return "car"
    if code == "K32":
        return "suv"
    if code in ("K39", "K27", "K38"):
        return "van"
    if code[:2] in ("K1", "K2"):
        return "bus"
    if code.startswith(("H", "Q", "G", "B")):
        return "truck"
    if code.startswith("M"):
        return "motorcycle"
    return "other"
