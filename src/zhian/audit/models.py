"""Tables of the audit log: the entries and the sealed head of their chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class AuditEntry(Base):
    """One audited act: who (`actor_type`/`actor_id`), what (`action` on `record_type`
    `record_ids`), when (`at`), from where (`ip`), why (`purpose`, `case_number`).

    Rows are only ever appended. `hash` is SHA-256 over the canonical encoding of the
    entry and `prev_hash`, the hash of the entry before it, so an edited, deleted or
    inserted row breaks the chain (`AuditService.verify`). Ids are given by the service,
    one after another, so a gap shows too.
    """

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))  # user | device | system
    actor_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    record_type: Mapped[str | None] = mapped_column(String(64), index=True)
    record_ids: Mapped[list[str]] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(500))
    case_number: Mapped[str | None] = mapped_column(String(64), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The newest entry of the chain (one row, id 1), sealed with a keyed MAC when the node
    has a key ring: deleting the newest entries, or rewriting the whole chain, then shows."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))
    seal: Mapped[str | None] = mapped_column(String(64))
