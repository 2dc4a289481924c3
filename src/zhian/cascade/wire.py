"""What a child node sends its parent, and what the parent answers (msgpack over HTTP).

One batch carries, in order, everything the child had not yet forwarded: the devices its
events name (so the parent can place them), the images they refer to (per the event mode),
the events themselves in log order, the alert state changes and the device online
summaries. Every part is idempotent at the parent: events by (device, event id), alert
changes by (child, action id), online summaries by (child, sample id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

import msgspec

from zhian.ingest.events import AwareTime, Event

CONTENT_TYPE: Final = "application/msgpack"
NodeId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Id64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Short = Annotated[str, msgspec.Meta(max_length=64)]
Title = Annotated[str, msgspec.Meta(max_length=500)]


class DeviceSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A device of the child as the parent registers it (no token: it never posts there)."""

    id: Id64
    kind: Short
    name: Annotated[str, msgspec.Meta(max_length=200)]
    community_id: Id64
    latitude: float
    longitude: float


class AlertChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One entry of a child alert's history, with what the parent needs to show and place it.

    Subjects and evidence stay at the child: they may hold personal data, and a parent user
    who needs them asks the child with a case reference.
    """

    action_id: Annotated[int, msgspec.Meta(ge=1)]
    alert_id: Annotated[int, msgspec.Meta(ge=1)]
    action: Annotated[str, msgspec.Meta(max_length=32)]
    from_state: Annotated[str, msgspec.Meta(max_length=16)] | None
    to_state: Annotated[str, msgspec.Meta(max_length=16)] | None
    at: AwareTime
    rule: Short
    kind: Short
    tier: Annotated[str, msgspec.Meta(max_length=16)]
    title_zh: Title
    title_en: Title
    community_id: Id64 | None
    jurisdiction_id: Id64 | None
    device_id: Id64 | None
    # A watchlist hit on an order the parent sent down: the parent's entry id.
    order_id: Annotated[int, msgspec.Meta(ge=1)] | None = None
    # A change relayed from a node further down: the node it happened at (None: the sender).
    origin_node: NodeId | None = None


class OnlineSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How many devices of one kind in one community of the child were reporting."""

    sample_id: Annotated[int, msgspec.Meta(ge=1)]
    sampled_at: AwareTime
    community_id: Id64
    device_kind: Short
    total: Annotated[int, msgspec.Meta(ge=0)]
    online: Annotated[int, msgspec.Meta(ge=0)]


class CaseStudyItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A case library entry the child shares (or no longer shares: `is_shared` false, the
    parent withdraws it). It holds no personal data (the child refused any at entry, the
    parent checks again). Links name records at the node it was written at."""

    origin_id: Annotated[int, msgspec.Meta(ge=1)]
    share_seq: Annotated[int, msgspec.Meta(ge=1)]
    is_shared: bool
    title: Title
    category: Short
    summary: str
    what_happened: str
    what_worked: str
    lessons: str
    tags: list[Short]
    occurred_at: AwareTime
    jurisdiction_id: Id64
    incident_id: int | None
    alert_ids: list[int]
    case_ids: list[Id64]
    created_at: AwareTime
    updated_at: AwareTime
    # An entry relayed from a node further down: the node it was written at (None: the sender).
    origin_node: NodeId | None = None


class ChildBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything one forwarding step sends, in the order the parent applies it."""

    node_id: NodeId
    sent_at: AwareTime
    devices: list[DeviceSummary] = []
    images: dict[str, bytes] = {}
    events: list[Event] = []
    alert_changes: list[AlertChange] = []
    online: list[OnlineSummary] = []
    case_studies: list[CaseStudyItem] = []


class BatchAck(msgspec.Struct, frozen=True):
    """The parent's answer once the batch is durable there."""

    accepted: int
    duplicate: int
    held: int  # events the parent's intake refused: kept in its quarantine, replayable
    alert_changes: int  # newly stored (the others were there already)
    online: int
    case_studies: int = 0  # case library entries taken in (new, changed or withdrawn)


class Order(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A watchlist entry the parent sends down (布控下发), withdrawn ones too (撤控).

    The identifiers travel in the clear over the node credential's link: the child
    tokenises and seals them with its own key ring, as when an entry is added there."""

    entry_id: Annotated[int, msgspec.Meta(ge=1)]
    target: Short
    label: Annotated[str, msgspec.Meta(max_length=200)]
    plate: Annotated[str, msgspec.Meta(max_length=16)] | None
    subject_ref: Annotated[str, msgspec.Meta(max_length=128)] | None
    feature: str | None
    legal_basis_kind: Short
    legal_basis_ref: Annotated[str, msgspec.Meta(max_length=128)]
    owner_user_id: int
    jurisdiction_id: Id64
    tier: Annotated[str, msgspec.Meta(max_length=16)]
    created_at: AwareTime
    expires_at: AwareTime
    withdrawn_at: AwareTime | None
    withdraw_reason: Annotated[str, msgspec.Meta(max_length=500)] | None


class ParameterPreset(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A model parameter the parent set for one community below the child's jurisdiction
    (a preset pushed down): the child applies it unless it may and does override it."""

    community_id: Id64
    name: Short
    value: float


class ParameterOverride(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A preset the child keeps its own value for (its configuration allows it)."""

    community_id: Id64
    name: Short
    preset: float
    local: float


class Overrides(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Every preset the child overrides now (the set replaces the one reported before)."""

    node_id: NodeId
    overrides: list[ParameterOverride]


class Orders(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Every order in force over the child's jurisdiction (and those withdrawn), and the
    model parameter presets of its communities."""

    node_id: str
    orders: list[Order]
    parameters: list[ParameterPreset] = []


class Hello(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A child registering (again) with its parent after a start or an outage."""

    node_id: NodeId
    sent_at: AwareTime


class HelloAck(msgspec.Struct, frozen=True):
    node_id: str
    parent_time: datetime


ENCODER: Final = msgspec.msgpack.Encoder()
BATCH_DECODER: Final = msgspec.msgpack.Decoder(ChildBatch)
HELLO_DECODER: Final = msgspec.msgpack.Decoder(Hello)
BATCH_ACK_DECODER: Final = msgspec.msgpack.Decoder(BatchAck)
HELLO_ACK_DECODER: Final = msgspec.msgpack.Decoder(HelloAck)
ORDERS_DECODER: Final = msgspec.msgpack.Decoder(Orders)
OVERRIDES_DECODER: Final = msgspec.msgpack.Decoder(Overrides)
