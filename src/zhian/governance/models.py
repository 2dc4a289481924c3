"""Tables of governance: legal holds that keep records past their retention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class LegalHold(Base):
    """Records linked to an open case, kept past their retention until the hold is released.

    `ref_kind` says what `ref` names: a `subject` (resident reference, card, face cluster
    as events report it), a `device`, a `plate`, or one `event` as `device_id/event_id`.
    `data_class` is a retention class (face, passage, …) or `all`. A hold is active until
    it is released, or until `until` when that is set.
    """

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    data_class: Mapped[str] = mapped_column(String(32), index=True)
    ref_kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(200), index=True)
    case_number: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    released_by: Mapped[str | None] = mapped_column(String(64))


class VaultEntry(Base):
    """The sealed value of one identifier the event store holds only as a token.

    The event store and the models see `token` (HMAC of the value) and a masked form; an
    audited reveal opens `sealed` here. Retention removes entries no stored event holds.
    """

    __tablename__ = "identifier_vault"

    token: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
