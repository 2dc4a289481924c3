"""The table of the upward link: notifications waiting for the upper platform."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
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
