"""The follow table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class FollowKind(StrEnum):
    PERSON = "person"  # a registered resident, by resident id
    VEHICLE = "vehicle"  # a registered vehicle, by vehicle id
    HOUSE = "house"


class Follow(Base):
    """One officer following one person, vehicle or house of their jurisdiction: its new
    passages and alerts show on their workbench. Following a person needs a reason."""

    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("user_id", "kind", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
