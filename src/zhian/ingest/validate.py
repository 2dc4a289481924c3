"""The one validation path every protocol ends in: decode, then check against the world."""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import msgspec
import numpy as np

# Pure functions over strings (re only): the intake hot path may use them.
from zhian.governance.plates import PlateRefusedError, read_plate
from zhian.ingest.events import (
    AccessEvent,
    AlarmEvent,
    CrowdEvent,
    Event,
    FaceEvent,
    HeartbeatEvent,
    VehicleEvent,
)
from zhian.ingest.json_depth import depth_error
from zhian.kit.characters import identifier_fault, text_fault

FEATURE_MIN_DIMS = 128
FEATURE_MAX_DIMS = 512
# The largest finite float32: a larger number in a JSON feature list cannot be packed.
_FLOAT32_MAX = float(np.finfo(np.float32).max)

_MSGSPEC_PATH = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`$")
_TRAILING = re.compile(r"trailing characters \(byte (?P<at>\d+)\)")
_EVENT_DECODER = msgspec.json.Decoder(Event)
_ONE_VALUE = msgspec.json.Decoder(msgspec.Raw)


_TYPE_CHECKED = frozenset({FaceEvent, CrowdEvent, VehicleEvent})
# What cameras and GA/T 1400 platforms send for a vehicle without a readable plate: a
# real passage, kept as such (zhian.ingest.viid.mapping writes 无车牌).
NO_PLATE_MARKERS = frozenset({"无车牌", "无牌", "未识别"})


class FieldError(msgspec.Struct, frozen=True, gc=False):
    """Why one item was refused: the field at fault ("" for the whole item) and the reason."""

    field: str
    reason: str


class DeviceInfo(Protocol):
    """What the intake needs to know about a device."""

    @property
    def id(self) -> str: ...
    @property
    def is_enabled(self) -> bool: ...
    @property
    def gateway_id(self) -> str | None: ...


@dataclass(frozen=True)
class IntakeDirectory:
    """A snapshot of the master data the intake checks events against."""

    devices: Mapping[str, DeviceInfo] = field(default_factory=dict)
    zone_ids: frozenset[str] = frozenset()
    authenticate: Callable[[str], str | None] = lambda _token: None
    # The device a token was issued to, enabled or not: to say "disabled", not "invalid".
    token_holder: Callable[[str], str | None] = lambda _token: None


# Refusals that a newer directory may turn into acceptances (a device imported or enabled,
# or a gateway assigned, by another process since the last load).
DIRECTORY_MISS_CODES = frozenset({"unknown_device", "disabled_device", "wrong_sender"})


class DirectoryKeeper:
    """Keeps the intake's directory current while other processes change the devices.

    `refresh` reloads unconditionally (after a change this process made, and now and
    then). `refresh_if_changed` first asks `has_changed` (a cheap look at the named devices
    in the database) and reloads only when the snapshot is out of date for them, so a
    sender posting for unknown devices costs one small query, never a reload.
    """

    def __init__(
        self,
        load: Callable[[], IntakeDirectory],
        *,
        has_changed: Callable[[IntakeDirectory, Collection[str]], bool],
    ) -> None:
        self._load = load
        self._has_changed = has_changed
        self._lock = threading.Lock()
        self._listeners: list[Callable[[IntakeDirectory], None]] = []
        self.current = IntakeDirectory()

    def subscribe(self, listener: Callable[[IntakeDirectory], None]) -> None:
        """Call `listener` with every directory loaded from now on."""
        self._listeners.append(listener)

    def refresh(self) -> IntakeDirectory:
        with self._lock:
            return self._reload()

    def refresh_if_changed(self, device_ids: Collection[str]) -> bool:
        """Reload if the database disagrees with the snapshot about `device_ids`."""
        seen = self.current
        if not self._has_changed(seen, device_ids):
            return False
        with self._lock:
            if self.current is seen:  # else another thread reloaded meanwhile
                self._reload()
        return True

    def _reload(self) -> IntakeDirectory:
        self.current = self._load()
        for listener in self._listeners:
            listener(self.current)
        return self.current


class ItemRejected(Exception):  # noqa: N818 - a rejection, not a programming error
    """An item failed validation; carries every field error found."""

    def __init__(self, errors: list[FieldError], code: str) -> None:
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))
        self.errors = errors
        self.code = code


def decode_error(exc: msgspec.DecodeError) -> FieldError:
    """Turn msgspec's message into a field name and a reason a sender can act on."""
    match = _MSGSPEC_PATH.match(str(exc))
    assert match is not None  # the pattern matches any string
    reason, path = match.group("reason"), (match.group("path") or "").lstrip(".")
    for pattern, what in ((_MISSING_FIELD, "is required"), (_UNKNOWN_FIELD, "is not allowed")):
        named = pattern.match(reason)
        if named:
            name = named.group("name")
            return FieldError(field=f"{path}.{name}" if path else name, reason=f"{what}")
    if path == "type" and reason.startswith("Invalid value"):
        reason = f"{reason}; expected one of access, vehicle, face, alarm, heartbeat, crowd"
    return FieldError(field=path, reason=reason)


def decode_event(raw: bytes) -> Event | ItemRejected:
    """One item as one event, or why it is refused.

    An item is exactly one JSON value: `{A},{B}`, `{A} {B}` or `{A}x` is refused whole,
    never read as two events (the device checks run per event, so a second value would
    slip past a check made for the first), and so is an empty item. An item nested too
    deeply for the recursive decoder is refused unread (`zhian.ingest.json_depth`).
    """
    too_deep = depth_error(raw)
    if too_deep is not None:
        return ItemRejected([FieldError("", too_deep)], "malformed")
    try:
        return _EVENT_DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        invalid = exc
    except msgspec.DecodeError as exc:
        return ItemRejected([FieldError("", _malformed_reason(raw, exc))], "malformed")
    # The decoder stops at the first value's first fault; whether more values follow is
    # the reason that matters (and the code the quarantine files it under).
    try:
        _ONE_VALUE.decode(raw)
    except msgspec.DecodeError as exc:
        return ItemRejected([FieldError("", _malformed_reason(raw, exc))], "malformed")
    return ItemRejected([decode_error(invalid)], "invalid")


def _malformed_reason(raw: bytes, exc: msgspec.DecodeError) -> str:
    if not raw.strip():
        return "is empty; one JSON object is expected"
    trailing = _TRAILING.search(str(exc))
    if trailing:
        return (
            f"holds more than one JSON value (more follows at byte {trailing.group('at')}); "
            "one item is exactly one JSON object"
        )
    return f"malformed JSON: {exc}"


class EventValidator:
    """Checks decoded events against time bounds, devices, zones and type-specific rules."""

    def __init__(self, *, max_future_seconds: float, max_age_days: float) -> None:
        self._max_future = timedelta(seconds=max_future_seconds)
        self._max_age = timedelta(days=max_age_days)

    def check_batch(
        self,
        candidates: list[Event | ItemRejected],
        *,
        directory: IntakeDirectory,
        sender_id: str | None,
        now: datetime,
        image_exists: Callable[[str], bool],
    ) -> list[Event | ItemRejected]:
        """Check each decoded event; return it (normalised) or why it is refused.

        The hot path of every intake: bounds are computed once per batch and the common
        case (a known device, an in-window time, no image) costs a handful of lookups.
        """
        latest = now + self._max_future
        earliest = now - self._max_age
        devices = directory.devices
        # Comparing datetimes whose tzinfo objects differ costs ~2 µs each; the bounds are
        # converted once into each offset the batch uses (decoders share tzinfo objects).
        bounds: dict[int, tuple[datetime, datetime]] = {}
        last_zone: object = None
        window = (earliest, latest)
        checked: list[Event | ItemRejected] = []
        append = checked.append
        for event in candidates:
            if isinstance(event, ItemRejected):
                append(event)
                continue
            faults = character_errors(event)
            if faults:
                append(ItemRejected(faults, "invalid"))
                continue
            device = devices.get(event.device_id)
            moment = event.time
            zone = moment.tzinfo
            if zone is not last_zone:
                cached = bounds.get(id(zone))
                if cached is None:
                    cached = (earliest.astimezone(zone), latest.astimezone(zone))
                    bounds[id(zone)] = cached
                window = cached
                last_zone = zone
            if (
                device is None
                or not device.is_enabled
                or (
                    sender_id is not None
                    and sender_id != device.id
                    and device.gateway_id != sender_id
                )
                or not window[0] <= moment <= window[1]
            ):
                append(self._refusal(event, device, sender_id, latest))
            elif type(event) in _TYPE_CHECKED:
                try:
                    append(self._check_type(event, directory, image_exists))
                except ItemRejected as rejection:
                    append(rejection)
            else:
                append(event)
        return checked

    def _refusal(
        self, event: Event, device: DeviceInfo | None, sender_id: str | None, latest: datetime
    ) -> ItemRejected:
        if device is None:
            return ItemRejected(
                [FieldError("device_id", f"unknown device '{event.device_id}'")], "unknown_device"
            )
        if not device.is_enabled:
            return ItemRejected(
                [FieldError("device_id", f"device '{event.device_id}' is disabled")],
                "disabled_device",
            )
        if sender_id is not None and sender_id != device.id and device.gateway_id != sender_id:
            reason = (
                f"this token belongs to '{sender_id}', which may not post for '{event.device_id}'"
            )
            return ItemRejected([FieldError("device_id", reason)], "wrong_sender")
        if event.time > latest:
            return ItemRejected(
                [FieldError("time", f"lies more than {self._max_future} in the future")],
                "time_in_future",
            )
        return ItemRejected(
            [FieldError("time", f"is older than the accepted window of {self._max_age}")],
            "time_too_old",
        )

    def _check_type(
        self, event: Event, directory: IntakeDirectory, image_exists: Callable[[str], bool]
    ) -> Event:
        if isinstance(event, FaceEvent):
            return self._check_face(event, image_exists)
        if isinstance(event, CrowdEvent):
            self._check_crowd(event, directory)
        elif isinstance(event, VehicleEvent):
            return self._check_vehicle(event, image_exists)
        return event

    @staticmethod
    def _check_vehicle(event: VehicleEvent, image_exists: Callable[[str], bool]) -> VehicleEvent:
        errors: list[FieldError] = []
        plate = check_plate(event.plate)
        if isinstance(plate, FieldError):
            errors.append(plate)
        if event.image and not image_exists(event.image):
            errors.append(FieldError("image", "unknown image reference"))
        if errors:
            raise ItemRejected(errors, "invalid")
        if isinstance(plate, str) and plate != event.plate:
            return msgspec.structs.replace(event, plate=plate)
        return event

    @staticmethod
    def _check_crowd(event: CrowdEvent, directory: IntakeDirectory) -> None:
        errors: list[FieldError] = []
        if event.zone_id not in directory.zone_ids:
            errors.append(FieldError("zone_id", f"unknown zone '{event.zone_id}'"))
        has_lines = event.count_in is not None or event.count_out is not None
        if event.occupancy is None and not has_lines:
            errors.append(FieldError("occupancy", "give either occupancy or count_in/count_out"))
        elif event.occupancy is not None and has_lines:
            errors.append(FieldError("occupancy", "give occupancy or count_in/count_out, not both"))
        elif has_lines:
            if event.count_in is None or event.count_out is None:
                missing = "count_in" if event.count_in is None else "count_out"
                errors.append(FieldError(missing, "is required with line counts"))
            if event.interval_seconds is None:
                errors.append(FieldError("interval_seconds", "is required with line counts"))
        if errors:
            raise ItemRejected(errors, "invalid")

    @staticmethod
    def _check_face(event: FaceEvent, image_exists: Callable[[str], bool]) -> FaceEvent:
        if event.image is not None and not image_exists(event.image):
            raise ItemRejected([FieldError("image", "unknown image reference")], "invalid")
        if event.feature is None or isinstance(event.feature, str):
            if event.feature is not None:
                raw = _b64decode_feature(event.feature)
                _feature_dims(raw)
                if not bool(np.isfinite(np.frombuffer(raw, dtype="<f4")).all()):
                    raise _feature_error("contains a value that is NaN or infinite")
            return event
        values = event.feature
        if not FEATURE_MIN_DIMS <= len(values) <= FEATURE_MAX_DIMS:
            raise _feature_error(f"has {len(values)} dimensions; expected 128 to 512")
        if not all(math.isfinite(v) for v in values):
            raise _feature_error("contains a value that is NaN or infinite")
        if not all(abs(v) <= _FLOAT32_MAX for v in values):
            raise _feature_error("contains a value too large for float32")
        # Features travel and rest as base64 float32: 30x cheaper to parse than number lists.
        packed = struct.pack(f"<{len(values)}f", *values)
        return msgspec.structs.replace(event, feature=base64.b64encode(packed).decode("ascii"))


def character_errors(event: Event) -> list[FieldError]:
    """The identifiers and text of `event` that hold characters the schema forbids
    (zhian.kit.characters): control, invisible or bidirectional characters, or a blank id.

    On the hot path: a good event costs a few `isprintable` calls and no allocation.
    """
    extra_name, extra = _EXTRA_IDENTIFIER.get(type(event), ("", None))
    value = extra(event) if extra is not None else None
    if (
        event.id.isprintable()
        and not event.id.isspace()
        and event.device_id.isprintable()
        and (value is None or (value.isprintable() and not value.isspace()))
        and not (isinstance(event, AlarmEvent) and not event.detail.isprintable())
    ):
        return []
    fields = (("id", event.id), ("device_id", event.device_id), (extra_name, value))
    errors = [
        FieldError(name, reason)
        for name, text in fields
        if text is not None and (reason := identifier_fault(text)) is not None
    ]
    if isinstance(event, AlarmEvent) and (reason := text_fault(event.detail)) is not None:
        errors.append(FieldError("detail", reason))
    return errors


def _subject_ref(event: Event) -> str | None:
    subject = getattr(event, "subject", None)
    return subject.ref if subject is not None else None


# The one identifier besides `id` and `device_id` each type carries, and how to read it.
_EXTRA_IDENTIFIER: dict[type[Event], tuple[str, Callable[[Event], str | None]]] = {
    AccessEvent: ("subject.ref", _subject_ref),
    FaceEvent: ("subject.ref", _subject_ref),
    VehicleEvent: ("plate", lambda event: getattr(event, "plate", None)),
    CrowdEvent: ("zone_id", lambda event: getattr(event, "zone_id", None)),
    HeartbeatEvent: ("fault_code", lambda event: getattr(event, "fault_code", None)),
}


def check_plate(value: str) -> str | FieldError:
    """The plate as kept (zhian.governance.plates: separators removed, upper case), a
    no-plate marker as sent, or the error naming the field `plate` for a reading that
    cannot be a plate (empty, control characters or symbols, absurdly long). A foreign or
    misread plate is kept: its kind is `other`, which data quality counts."""
    stripped = value.strip()
    if stripped in NO_PLATE_MARKERS:
        return stripped
    try:
        return read_plate(stripped)
    except PlateRefusedError as error:
        return FieldError("plate", f"'{value}' {error}")


def _b64decode_feature(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _feature_error("is not valid base64") from None


def _feature_dims(raw: bytes) -> int:
    if len(raw) % 4:
        raise _feature_error(f"decodes to {len(raw)} bytes, not a whole number of float32")
    dims = len(raw) // 4
    if not FEATURE_MIN_DIMS <= dims <= FEATURE_MAX_DIMS:
        raise _feature_error(f"has {dims} dimensions; expected 128 to 512")
    return dims


def _feature_error(reason: str) -> ItemRejected:
    return ItemRejected([FieldError("feature", reason)], "invalid")
