"""The heartbeat table: one row per running process of the node."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class ProcessHeartbeat(Base):
    """What one process said of itself at `seen_at`: never a record, only counts."""

    __tablename__ = "process_heartbeats"

    # host:pid:start time, so a pid the system hands out again is another process.
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(String(128))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(timezone=True))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime(timezone=True), index=True)
    # Records the log readers this process runs have still to do (None: it runs none).
    lag_records: Mapped[int | None] = mapped_column(Integer, nullable=True)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
