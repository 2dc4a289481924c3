"""What a child node sends its parent, and what the parent answers (msgpack over HTTP).

One batch carries, in order, everything the child had not yet forwarded: the devices its
events name (so the parent can place them), the images they refer to (per the event mode),
the events themselves in log order, the alert state changes and the device online
summaries. Every part is idempotent at the parent: events by (device, event id), alert
changes by (child, action id), online summaries by (child, sample id).

Parent and child are upgraded one at a time, so either may be a version ahead: every
message here ignores a field the reader does not know (`forbid_unknown_fields=False`: a
new field always has a default for older senders), and a required field left out is still
refused, naming it (`Object missing required field ...`). The events inside a batch are
the intake's own `Event`, which keeps refusing unknown fields: a new event field is a
change of the event schema, taken by the parent first.
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


class DeviceSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """A device of the child as the parent registers it (no token: it never posts there)."""

    id: Id64
    kind: Short
    name: Annotated[str, msgspec.Meta(max_length=200)]
    community_id: Id64
    latitude: float
    longitude: float


class AlertChange(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
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


class OnlineSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=False, omit_defaults=True):
    """How many devices of one kind in one community of the child were reporting."""

    sample_id: Annotated[int, msgspec.Meta(ge=1)]
    sampled_at: AwareTime
    community_id: Id64
    device_kind: Short
    total: Annotated[int, msgspec.Meta(ge=0)]
    online: Annotated[int, msgspec.Meta(ge=0)]
    # A summary relayed from a node further down: the node it was sampled at (None: the
    # sender); `sample_id` is then that node's.
    origin_node: NodeId | None = None


class CaseStudyItem(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
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


class ChildBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
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


class Order(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
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


class ParameterPreset(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """A model parameter the parent set for one community below the child's jurisdiction
    (a preset pushed down): the child applies it unless it may and does override it."""

    community_id: Id64
    name: Short
    value: float


class ParameterOverride(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """A preset the child keeps its own value for (its configuration allows it)."""

    community_id: Id64
    name: Short
    preset: float
    local: float


class ProcedureStep(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """One step of a response procedure, in the form `zhian.alerts.procedures` stores it."""

    key: Short
    text_zh: Title
    text_en: Title
    role: Short | None = None


class ProcedurePreset(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """A response procedure (预案) of the parent pushed down: the child applies it unless it
    may and does keep its own (kind and tier `*` for every)."""

    kind: Short
    tier: Annotated[str, msgspec.Meta(max_length=16)]
    steps: list[ProcedureStep]


class ProcedureOverride(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """A procedure the child keeps its own steps for (its configuration allows it)."""

    kind: Short
    tier: Annotated[str, msgspec.Meta(max_length=16)]


class Overrides(msgspec.Struct, frozen=True, forbid_unknown_fields=False, omit_defaults=True):
    """Every preset and procedure the child overrides now (the set replaces the one
    reported before). Without procedure overrides the field is left out, so a parent
    that predates pushed-down procedures reads the report."""

    node_id: NodeId
    overrides: list[ParameterOverride]
    procedures: list[ProcedureOverride] = []


class Orders(msgspec.Struct, frozen=True, omit_defaults=True):
    """Every order in force over the child's jurisdiction (and those withdrawn), the
    model parameter presets of its communities and the parent's response procedures.
    Fields a later parent adds are ignored here; empty lists are left out, so a child
    from before pushed-down procedures reads its orders while none are pushed."""

    node_id: str
    orders: list[Order]
    parameters: list[ParameterPreset] = []
    procedures: list[ProcedurePreset] = []


class LinkStatus(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """The child's side of the link, sent up now and then (`POST /api/v1/cascade/status`):
    what waits in its cache for the parent and how far the back-fill after an outage has
    come, so the parent's links table shows them."""

    node_id: NodeId
    sent_at: AwareTime
    cache_records: Annotated[int, msgspec.Meta(ge=0)]
    cache_bytes: Annotated[int, msgspec.Meta(ge=0)]
    is_cache_alarm: bool
    # While a back-fill runs: its progress (0-100) and the log records it has yet to send.
    backfill_percent: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    backfill_records_left: Annotated[int, msgspec.Meta(ge=0)] | None = None


class KpiSummary(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """One community's figures of one closed UTC hour at the child, as its metrics layer
    computes them from the events it holds: for a parent that does not hold them all."""

    hour: AwareTime  # the hour's start
    community_id: Id64
    devices: Annotated[int, msgspec.Meta(ge=0)]  # enabled devices
    reporting_devices: Annotated[int, msgspec.Meta(ge=0)]  # of them, sent an event
    events: Annotated[int, msgspec.Meta(ge=0)]  # events that arrived from them


class KpiReport(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """The KPI summaries of the hours the parent has not acknowledged yet, oldest first
    (`POST /api/v1/cascade/kpis`); `events_forwarded`: whether the child sends its events
    up at all (mode none: the parent holds none of them)."""

    node_id: NodeId
    events_forwarded: bool
    summaries: list[KpiSummary]


class Hello(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
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
LINK_STATUS_DECODER: Final = msgspec.msgpack.Decoder(LinkStatus)
KPI_REPORT_DECODER: Final = msgspec.msgpack.Decoder(KpiReport)
