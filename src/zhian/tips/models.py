"""The table of resident tips (随手拍)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class Tip(Base):
    """A report from a member of the public: what, where, photos, an optional contact.

    The resident holds only the follow-up `code`. The contact is personal data: kept as a
    keyed token (for finding a repeat sender), a sealed copy (context
    `tips.contact_enc:<code>`) and a mask; the network address only as a keyed token, for
    the rate limit. Photos are image references, stripped of metadata and sealed like
    every blob. The description is free text that may name people: kept only sealed
    (context `tips.description_enc:<code>`). `status`: pending (in the moderation queue),
    accepted (an alert handles it: `alert_id`), closed (with a `close_reason` the resident
    reads).
    """

    __tablename__ = "tips"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    description_enc: Mapped[bytes] = mapped_column(LargeBinary)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    building_id: Mapped[str | None] = mapped_column(String(64))
    community_id: Mapped[str | None] = mapped_column(String(64), index=True)
    jurisdiction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    photos: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_token: Mapped[str | None] = mapped_column(String(64), index=True)
    contact_enc: Mapped[bytes | None] = mapped_column()
    contact_masked: Mapped[str | None] = mapped_column(String(64))
    address_token: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    alert_id: Mapped[int | None] = mapped_column(Integer, index=True)
    close_reason: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    rated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    triaged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    triaged_by: Mapped[int | None] = mapped_column(Integer)
