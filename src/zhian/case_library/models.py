"""The table of the case library (案例库)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class CaseStudy(Base):
    """A handled incident or case written up with what happened, what worked and the
    lessons, for others to learn from. It holds no personal data: identity, phone and
    plate numbers are refused in its text.

    `tags` is stored as `,tag,tag,` so a tag is found with one LIKE on any database.
    An entry marked `is_shared` goes up to the parent node (docs/case-library.md):
    `share_seq` orders what the forwarder sends (a new number at every change of an entry
    that is or was shared). An entry received from a child node has `origin_node` (the
    node it was written at) and `origin_id` (its id there); it is read-only here and is
    relayed further up with the same origin.
    """

    __tablename__ = "case_studies"
    __table_args__ = (UniqueConstraint("origin_node", "origin_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32), index=True)
    summary: Mapped[str] = mapped_column(Text)
    what_happened: Mapped[str] = mapped_column(Text)
    what_worked: Mapped[str] = mapped_column(Text)
    lessons: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(String(400), default=",")
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    jurisdiction_id: Mapped[str] = mapped_column(String(64), index=True)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    alert_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    case_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_shared: Mapped[bool] = mapped_column(Boolean, default=False)
    share_seq: Mapped[int | None] = mapped_column(Integer, index=True)
    origin_node: Mapped[str | None] = mapped_column(String(64))
    origin_id: Mapped[int | None] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
