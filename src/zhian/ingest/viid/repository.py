"""Every query on the GA/T 1400 server's tables; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from zhian.db.upsert import insert_new
from zhian.ingest.viid.models import ViidCredential, ViidObject, ViidSubscription


class ViidRepository:
    """Reads and writes credentials, kept objects and subscriptions."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- credentials ----------------------------------------------------------------------

    def credential(self, device_id: str) -> ViidCredential | None:
        return self.session.get(ViidCredential, device_id)

    def credential_by_username(self, username: str) -> ViidCredential | None:
        return self.session.scalar(
            select(ViidCredential).where(ViidCredential.username == username)
        )

    def put_credential(
        self, device_id: str, username: str, realm: str, ha1: str, now: datetime
    ) -> None:
        row = self.credential(device_id)
        if row is None:
            self.session.add(
                ViidCredential(
                    device_id=device_id, username=username, realm=realm, ha1=ha1, issued_at=now
                )
            )
        else:
            row.username, row.realm, row.ha1, row.issued_at = username, realm, ha1, now
        self.session.flush()

    def credential_device_ids(self) -> list[str]:
        return list(
            self.session.scalars(
                select(ViidCredential.device_id).order_by(ViidCredential.device_id)
            )
        )

    # --- objects --------------------------------------------------------------------------

    def add_objects(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert objects; one already kept (same kind and ID, e.g. a resend) is left alone."""
        insert_new(self.session, ViidObject, rows)

    def query_objects(
        self, kind: str, where: Sequence[ColumnElement[bool]], offset: int, limit: int
    ) -> tuple[int, list[ViidObject]]:
        condition = [ViidObject.kind == kind, *where]
        total = self.session.scalar(select(func.count()).select_from(ViidObject).where(*condition))
        rows = self.session.scalars(
            select(ViidObject)
            .where(*condition)
            .order_by(ViidObject.seq)
            .offset(offset)
            .limit(limit)
        )
        return int(total or 0), list(rows)

    def objects_after(
        self,
        seq: int,
        *,
        kinds: Sequence[str],
        device_ids: Sequence[str],
        received_before: datetime,
        limit: int,
    ) -> list[ViidObject]:
        statement = select(ViidObject).where(
            ViidObject.seq > seq,
            ViidObject.kind.in_(list(kinds)),
            ViidObject.received_at <= received_before,
        )
        if device_ids:
            statement = statement.where(ViidObject.device_id.in_(list(device_ids)))
        return list(self.session.scalars(statement.order_by(ViidObject.seq).limit(limit)))

    def last_object_seq(self) -> int:
        return int(self.session.scalar(select(func.max(ViidObject.seq))) or 0)

    # --- subscriptions --------------------------------------------------------------------

    def subscription(self, subscription_id: str) -> ViidSubscription | None:
        return self.session.get(ViidSubscription, subscription_id)

    def add_subscription(self, row: ViidSubscription) -> None:
        self.session.add(row)
        self.session.flush()

    def delete_subscription(self, subscription_id: str) -> bool:
        result = self.session.execute(
            delete(ViidSubscription).where(ViidSubscription.id == subscription_id)
        )
        return bool(getattr(result, "rowcount", 0))

    def due_subscriptions(self, now: datetime) -> list[ViidSubscription]:
        statement = select(ViidSubscription).where(
            ViidSubscription.status == 0,
            (ViidSubscription.next_push_at.is_(None)) | (ViidSubscription.next_push_at <= now),
        )
        return list(self.session.scalars(statement.order_by(ViidSubscription.created_at)))

    def list_subscriptions(self) -> list[ViidSubscription]:
        return list(
            self.session.scalars(select(ViidSubscription).order_by(ViidSubscription.created_at))
        )
