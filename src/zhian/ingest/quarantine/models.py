"""The quarantine table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


def raw_context(item_id: int) -> str:
    """What an item's raw input is sealed for: its table, column and row (the form of
    `zhian.governance.identity.field_context`, so key rotation re-seals it)."""
    return f"quarantine_items.raw_enc:{item_id}"


class QuarantineItem(Base):
    """One rejected input item, as received (up to the body limit), with why it was refused.

    The raw input names people and plates, so it is sealed at rest (#12): `raw_enc` holds
    it encrypted with the node's key ring for `raw_context(id)`; pages show it masked and
    only an audited reveal shows it in the clear.
    """

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
    # Sealed once the row has its id (the insert and the sealing share one transaction).
    raw_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    raw_size: Mapped[int | None] = mapped_column(Integer)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    # [{"field": "...", "reason": "..."}]
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    reason_code: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="held", index=True)
    replayed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    replay_outcome: Mapped[str | None] = mapped_column(String(200))
