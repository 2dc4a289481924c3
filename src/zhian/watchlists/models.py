"""The watchlist table (布控): plates and persons under a stated legal basis, with an expiry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class WatchlistEntry(Base):
    """A plate or a person to be flagged when seen, for a lawful case, until `expires_at`.

    A person is given by a subject reference (resident, card, face cluster …) and/or a
    face feature (base64 float32). Withdrawn (撤控) or expired entries stop matching.
    """

    __tablename__ = "watchlist_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(16))  # "plate" | "person"
    # Issue #12: the plate is held as its keyed token (the event store's kind `plate`), a
    # sealed copy (context `watchlist_entries.plate_enc:<token>`: the id is not known before
    # the insert) and the masked plate for display; never in clear.
    plate_token: Mapped[str | None] = mapped_column(String(64), index=True)
    plate_enc: Mapped[bytes | None] = mapped_column()
    plate_masked: Mapped[str | None] = mapped_column(String(16))
    # A person's subject reference likewise (#12): keyed token (the event store's kind
    # `subject`), sealed copy (context `watchlist_entries.subject_enc:<token>`) and mask.
    subject_token: Mapped[str | None] = mapped_column(String(64), index=True)
    subject_enc: Mapped[bytes | None] = mapped_column()
    subject_masked: Mapped[str | None] = mapped_column(String(128))
    # The face feature (biometric) only sealed, for its row
    # (context `watchlist_entries.feature_enc:<id>`).
    feature_enc: Mapped[bytes | None] = mapped_column()
    label: Mapped[str] = mapped_column(String(200))
    legal_basis_kind: Mapped[str] = mapped_column(String(32))
    legal_basis_ref: Mapped[str] = mapped_column(String(128))
    owner_user_id: Mapped[int] = mapped_column(Integer)
    jurisdiction_id: Mapped[str] = mapped_column(String(64), index=True)
    tier: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    withdrawn_by: Mapped[int | None] = mapped_column(Integer)
    withdraw_reason: Mapped[str | None] = mapped_column(String(500))
