"""Tables of the batch models: per-community and per-place-type parameter overrides and
welfare-check opt-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class ModelParameter(Base):
    """A community's own value of one model parameter (a `[models]` setting)."""

    __tablename__ = "model_parameters"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[int | None] = mapped_column()


class PlaceTypeParameter(Base):
    """A place type's own value of one model parameter (a `[models]` setting): applies to
    every community of that kind (`communities.kind`) unless the community sets its own."""

    __tablename__ = "place_type_parameters"

    place_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[int | None] = mapped_column()


class WelfareOptin(Base):
    """A resident who asked (or whose guardian asked) for welfare checks. Never derived
    from age or health: only this explicit request enrols anyone."""

    __tablename__ = "welfare_optins"

    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(16))  # "self" | "guardian"
    since: Mapped[datetime] = mapped_column(UtcDateTime)
