"""The ferry import ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class FerryImport(Base):
    """A ferry package this node has applied; importing it again is a no-op.

    The manifest's SHA-256 tells a re-delivery of the same package (ignored) from a
    different package reusing an id (refused).
    """

    __tablename__ = "ferry_imports"

    package_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    events: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    duplicate: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    images: Mapped[int] = mapped_column(Integer)
