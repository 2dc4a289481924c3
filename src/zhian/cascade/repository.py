"""Every query on the upward outbox; the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from zhian.cascade.models import ViidUpperOutbox


class UpwardOutboxRepository:
    """Reads and writes the notifications waiting for the upper platform, in order."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue_upward(
        self, receive_addr: str, notification_id: str, payload_enc: bytes, now: datetime
    ) -> None:
        """Queue a notification, sealed by the caller."""
        self.session.add(
            ViidUpperOutbox(
                created_at=now,
                receive_addr=receive_addr,
                notification_id=notification_id,
                payload_enc=payload_enc,
                attempts=0,
                last_error=None,
            )
        )
        self.session.flush()

    def outbox_head(self, limit: int) -> list[ViidUpperOutbox]:
        return list(
            self.session.scalars(select(ViidUpperOutbox).order_by(ViidUpperOutbox.seq).limit(limit))
        )

    def outbox_size(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(ViidUpperOutbox)) or 0)

    def outbox_delivered(self, seq: int) -> None:
        self.session.execute(delete(ViidUpperOutbox).where(ViidUpperOutbox.seq == seq))

    def outbox_failed(self, seq: int, error: str) -> None:
        row = self.session.get(ViidUpperOutbox, seq)
        if row is not None:
            row.attempts += 1
            row.last_error = error[:500]
