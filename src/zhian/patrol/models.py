"""The table of patrol check-ins: who stood at which patrol point, where and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class PatrolCheckin(Base):
    """One check-in at a patrol point (a building of the registry).

    The phone sends each check-in with an idempotency key of its own: a resend after a
    lost answer finds the row of the same user and key and adds nothing.
    """

    __tablename__ = "patrol_checkins"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    building_id: Mapped[str] = mapped_column(String(64), index=True)
    community_id: Mapped[str] = mapped_column(String(64), index=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float] = mapped_column(Float)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    checked_in_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class PatrolPosition(Base):
    """Where a patrol unit on duty last was: one row per user, only while on duty.

    Going off duty deletes the row, so an off-duty position is never kept; a row older than
    `POSITION_MAX_AGE` is never shown and is deleted at the next duty report of anyone.
    """

    __tablename__ = "patrol_positions"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    jurisdiction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
