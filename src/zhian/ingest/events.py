"""The common event schema every protocol adapter produces (docs/events.md describes it).

msgspec structs: decoding a 300-byte event costs well under a microsecond, and the
decoder's errors name the offending field (`... at $.subject.kind`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
DeviceId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]
Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
ImageRef = Annotated[str, msgspec.Meta(pattern=r"^img:[0-9a-f]{64}\.(jpg|png)$")]

SubjectKind = Literal["resident", "card", "face_cluster", "visitor", "qr"]
Direction = Literal["in", "out"]
# `remote`: opened from a console, an app or an intercom, not at the reader (远程开门).
AccessMethod = Literal["card", "face", "qr", "password", "id_card", "fingerprint", "remote"]
AccessResult = Literal["granted", "denied"]
PlateColor = Literal["blue", "yellow", "green", "white", "black", "yellow_green", "other"]
VehicleClass = Literal[
    "car", "suv", "van", "truck", "muck_truck", "hazmat", "bus", "motorcycle", "other"
]
# A door system's own alarms come as alarms of the door: forced open (门被撬/强行开门), held
# open too long (门未关/开门超时) and a reader's tamper switch (`tamper`), docs/events.md.
AlarmKind = Literal[
    "smoke",
    "fire",
    "gas",
    "intrusion",
    "perimeter",
    "sos",
    "tamper",
    "water_leak",
    "door_forced",
    "door_held_open",
    "other",
]
EVENT_TYPES = ("access", "vehicle", "face", "alarm", "heartbeat", "crowd")


class Subject(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """Who passed: a resident reference, a card, a face cluster, a visitor or a QR pass."""

    kind: SubjectKind
    ref: Ref


class _EventBase(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    tag_field="type",
    kw_only=True,
    gc=False,  # events hold no cycles; untracked, millions of them cost the GC nothing
):
    id: EventId
    device_id: DeviceId
    time: AwareTime


class AccessEvent(_EventBase, tag="access", frozen=True):
    """A passage through a door (门禁)."""

    subject: Subject
    direction: Direction
    method: AccessMethod
    result: AccessResult


class VehicleEvent(_EventBase, tag="vehicle", frozen=True):
    """A vehicle passing a gate or checkpoint (过车)."""

    plate: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    plate_color: PlateColor
    vehicle_class: VehicleClass
    direction: Direction
    image: ImageRef | None = None


class FaceEvent(_EventBase, tag="face", frozen=True):
    """A face capture (人脸抓拍); `feature` is base64 little-endian float32 once validated."""

    quality: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
    subject: Subject | None = None
    feature: str | list[float] | None = None
    image: ImageRef | None = None


class AlarmEvent(_EventBase, tag="alarm", frozen=True):
    kind: AlarmKind
    level: Annotated[int, msgspec.Meta(ge=1, le=4)]
    detail: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class HeartbeatEvent(_EventBase, tag="heartbeat", frozen=True):
    status: Literal["ok", "fault"]
    fault_code: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class CrowdEvent(_EventBase, tag="crowd", frozen=True):
    """A crowd count for a zone: an occupancy reading, or line counts over an interval."""

    zone_id: DeviceId
    occupancy: Annotated[int, msgspec.Meta(ge=0)] | None = None
    count_in: Annotated[int, msgspec.Meta(ge=0)] | None = None
    count_out: Annotated[int, msgspec.Meta(ge=0)] | None = None
    interval_seconds: Annotated[int, msgspec.Meta(gt=0, le=86_400)] | None = None


Event = AccessEvent | VehicleEvent | FaceEvent | AlarmEvent | HeartbeatEvent | CrowdEvent
EVENT_CLASSES: tuple[type[Event], ...] = (
    AccessEvent,
    VehicleEvent,
    FaceEvent,
    AlarmEvent,
    HeartbeatEvent,
    CrowdEvent,
)


# An intake source ending in this marks replayed history ("sim:history", the demo's
# replayed days): the events happened long before they are submitted, and the rules raise
# their alerts at the events' own times. Anything else is live, late or not.
HISTORY_SUFFIX = ":history"


def is_history_source(source: str) -> bool:
    """Whether a batch's source marks replayed history (see HISTORY_SUFFIX)."""
    return source.endswith(HISTORY_SUFFIX)


# An intake source starting with this marks a child node's events forwarded up the
# hierarchy (`cascade:<node id>`, docs/cascade.md): the child raised its own alerts for them.
CASCADE_PREFIX = "cascade:"


def is_cascade_source(source: str) -> bool:
    """Whether a batch came from a child node (see CASCADE_PREFIX)."""
    return source.startswith(CASCADE_PREFIX)


class LoggedEvent(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One accepted event with how and when it arrived: the event store's unit."""

    received_at: datetime
    source: str
    event: Event


class LoggedBatch(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """What one durable-log record holds: the events accepted together in one request.

    One record per batch, not per event: one encode call, one frame and one checksum for
    the whole batch, and a record is applied to the store all or nothing.
    """

    received_at: datetime
    source: str
    events: list[Event]

    def logged_events(self) -> list[LoggedEvent]:
        received_at, source = self.received_at, self.source
        return [LoggedEvent(received_at, source, event) for event in self.events]


class EventIdentity(msgspec.Struct, frozen=True, gc=False):
    """The fields that identify an event; other fields are skipped, not built."""

    id: str
    device_id: str
    time: datetime


class LoggedBatchKeys(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """A log record decoded only as far as recovery needs (the duplicate index)."""

    received_at: datetime
    source: str
    events: list[EventIdentity]
