"""The rule engine's durable checkpoint in the log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class RuleCheckpoint(Base):
    """The last log sequence number whose alerts are committed, per consumer."""

    __tablename__ = "rule_checkpoints"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
