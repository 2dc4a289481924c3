"""The table of the upward link: notifications waiting for the upper platform."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class ViidUpperOutbox(Base):
    """A notification for the upper platform, kept until it acknowledged it (in `seq` order)."""

    __tablename__ = "viid_upper_outbox"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    receive_addr: Mapped[str] = mapped_column(String(500))
    notification_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
