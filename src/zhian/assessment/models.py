"""Tables of the assessment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class IndicatorOverride(Base):
    """An indicator's weight and target as edited on the assessment page; it replaces the
    configured default of the same name. Who changed it and when is in the audit log."""

    __tablename__ = "assessment_indicators"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    weight: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[int | None] = mapped_column(Integer)
