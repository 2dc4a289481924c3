"""The cascade's tables: the GA/T 1400 upward outbox, the forwarder's positions (child
side) and what children delivered (parent side)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


def payload_context(notification_id: str) -> str:
    """What a waiting notification is sealed for (the form of
    `zhian.governance.identity.field_context`, so key rotation re-seals it)."""
    return f"viid_upper_outbox.payload_enc:{notification_id}"


class ViidUpperOutbox(Base):
    """A notification for the upper platform, kept until it acknowledged it (in `seq` order).

    It carries GA/T 1400 objects (plates, names, ID numbers), so the payload is sealed with
    the node's key ring for `payload_context(notification_id)` (#12).
    """

    __tablename__ = "viid_upper_outbox"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    receive_addr: Mapped[str] = mapped_column(String(500))
    notification_id: Mapped[str] = mapped_column(String(64))
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))


class ForwardPosition(Base):
    """How far this node has forwarded one stream to its parent (child side).

    `events` counts log records (the forwarder is also the log's named reader `parent`),
    `alert_changes` alert history ids, `online` online sample ids. A position moves only
    after the parent acknowledged everything up to it.
    """

    __tablename__ = "cascade_positions"

    stream: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChildLink(Base):
    """A child node as its parent knows it: last contact and what it delivered (parent side)."""

    __tablename__ = "cascade_children"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jurisdiction_id: Mapped[str | None] = mapped_column(String(64))
    registered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_contact_at: Mapped[datetime] = mapped_column(UtcDateTime)
    batches: Mapped[int] = mapped_column(BigInteger)
    events_accepted: Mapped[int] = mapped_column(BigInteger)
    events_duplicate: Mapped[int] = mapped_column(BigInteger)
    events_held: Mapped[int] = mapped_column(BigInteger)
    # The child's side of the link as it last reported it (None: never reported).
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cache_records: Mapped[int | None] = mapped_column(BigInteger)
    cache_bytes: Mapped[int | None] = mapped_column(BigInteger)
    is_cache_alarm: Mapped[bool | None] = mapped_column(Boolean)
    backfill_percent: Mapped[float | None] = mapped_column(Float)
    backfill_records_left: Mapped[int | None] = mapped_column(BigInteger)
    # Whether the child sends its events up (None: not reported; False: event mode none).
    events_forwarded: Mapped[bool | None] = mapped_column(Boolean)


class ChildAlertChange(Base):
    """One state change of a child's alert, kept at the parent under the alert's
    jurisdiction, so that parent users see the alerts of the tree their scope covers."""

    __tablename__ = "cascade_alert_changes"
    __table_args__ = (UniqueConstraint("node_id", "action_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node_id: Mapped[str] = mapped_column(String(64), index=True)
    action_id: Mapped[int] = mapped_column(BigInteger)
    alert_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    rule: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16))
    title_zh: Mapped[str] = mapped_column(String(500))
    title_en: Mapped[str] = mapped_column(String(500))
    community_id: Mapped[str | None] = mapped_column(String(64), index=True)
    jurisdiction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    # A watchlist hit on an order this node sent down: its entry id here.
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChildOnlineSummary(Base):
    """A child's device online summary (per community and device kind), at the parent."""

    __tablename__ = "cascade_online_summaries"
    __table_args__ = (UniqueConstraint("node_id", "sample_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node_id: Mapped[str] = mapped_column(String(64), index=True)
    sample_id: Mapped[int] = mapped_column(BigInteger)
    sampled_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    community_id: Mapped[str] = mapped_column(String(64), index=True)
    device_kind: Mapped[str] = mapped_column(String(32))
    total: Mapped[int] = mapped_column(Integer)
    online: Mapped[int] = mapped_column(Integer)


class ReceivedOrder(Base):
    """A watchlist entry a parent sent down, and the local entry that applies it (child
    side): hits on the local entry are reported up under the parent's entry id."""

    __tablename__ = "cascade_orders"

    parent_entry_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    local_entry_id: Mapped[int] = mapped_column(Integer, unique=True)
    parent_owner_user_id: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ChildOverride(Base):
    """A parameter preset a child keeps its own value for, as it last reported (parent side)."""

    __tablename__ = "cascade_overrides"
    __table_args__ = (UniqueConstraint("node_id", "community_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node_id: Mapped[str] = mapped_column(String(64), index=True)
    community_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    preset: Mapped[float] = mapped_column(Float)
    local: Mapped[float] = mapped_column(Float)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChildProcedureOverride(Base):
    """A response procedure a child keeps its own steps for, as it last reported (parent
    side): `kind` and `tier` as in `zhian.alerts.procedures` (`*` for every)."""

    __tablename__ = "cascade_procedure_overrides"
    __table_args__ = (UniqueConstraint("node_id", "kind", "tier"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16))
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChildKpiSummary(Base):
    """A child's figures of one community and closed hour (parent side), for the roll-up
    of children whose events this node does not hold in full."""

    __tablename__ = "cascade_kpi_summaries"
    __table_args__ = (UniqueConstraint("node_id", "community_id", "hour"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node_id: Mapped[str] = mapped_column(String(64), index=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    community_id: Mapped[str] = mapped_column(String(64), index=True)
    devices: Mapped[int] = mapped_column(Integer)
    reporting_devices: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
