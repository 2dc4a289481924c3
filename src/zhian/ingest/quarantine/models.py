"""The quarantine table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class QuarantineItem(Base):
    """One rejected input item, as received (up to the body limit), with why it was refused."""

    __tablename__ = "quarantine_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # "native", "file", "mqtt:<topic>", "viid:<object>" …: where it came in.
    source: Mapped[str] = mapped_column(String(255), index=True)
    # The device that sent it, if it authenticated; None for anonymous or unparseable input.
    sender_device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    event_id: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(64))
    # At most the intake's body limit; an item cut to it keeps its whole size and sha256.
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    raw_size: Mapped[int | None] = mapped_column(Integer)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    # [{"field": "...", "reason": "..."}]
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    reason_code: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="held", index=True)
    replayed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    replay_outcome: Mapped[str | None] = mapped_column(String(200))
