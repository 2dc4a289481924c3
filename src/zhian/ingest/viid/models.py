"""Tables of the GA/T 1400 server of a node: credentials, kept objects, subscriptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class ViidCredential(Base):
    """The Digest credential a device or lower platform registers with (GA/T 1400).

    Only HA1 = MD5(username:realm:password) is kept: what Digest needs, never the password.
    """

    __tablename__ = "viid_credentials"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    realm: Mapped[str] = mapped_column(String(128))
    ha1: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)


def body_context(kind: str, object_id: str) -> str:
    """What an object's body is sealed for (the form of
    `zhian.governance.identity.field_context`, so key rotation re-seals it)."""
    return f"viid_objects.body_enc:{kind}/{object_id}"


class ViidObject(Base):
    """A GA/T 1400 object as received (pictures by reference, refused fields removed).

    Serves GET /VIID/Faces… and feeds subscriptions; `seq` is the delivery order. The body
    names people and plates (`PlateNo`, `IDNumber`, `Name`, phones), so it is kept sealed
    (#12): `body_enc` is its JSON encrypted with the node's key ring for
    `body_context(kind, object_id)`; the columns beside it are what queries filter on.
    """

    __tablename__ = "viid_objects"
    __table_args__ = (UniqueConstraint("kind", "object_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    shot_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)


def subscription_context(subscription_id: str) -> str:
    """What a subscription's request body is sealed for (the form of
    `zhian.governance.identity.field_context`, so key rotation re-seals it)."""
    return f"viid_subscriptions.body_enc:{subscription_id}"


class ViidSubscription(Base):
    """A subscription (订阅) a peer placed with this node, and how far it was delivered.

    The request body names the applicant (`ApplicantName`, `ApplicantOrg`, a free-text
    `Reason`), so it is kept sealed (#12): `body_enc` is its JSON encrypted with the node's
    key ring for `subscription_context(id)`; the columns beside it are what delivery uses.
    """

    __tablename__ = "viid_subscriptions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscriber_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(String(64))
    device_ids: Mapped[str] = mapped_column(Text)  # comma-separated; empty = every device
    receive_addr: Mapped[str] = mapped_column(String(500))
    report_interval_seconds: Mapped[int] = mapped_column(Integer)
    image_declare: Mapped[str] = mapped_column(String(64))
    begin_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[int] = mapped_column(Integer)  # 0 active, 1 cancelled, 2 expired
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    cursor_seq: Mapped[int] = mapped_column(Integer)
    next_push_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    pushed_objects: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
