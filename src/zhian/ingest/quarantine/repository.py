"""Every query on the quarantine table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhian.ingest.quarantine.models import QuarantineItem


class QuarantineRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add_all(self, items: Sequence[QuarantineItem]) -> None:
        self._session.add_all(items)

    def list(
        self,
        *,
        status: str | None = "held",
        reason_code: str | None = None,
        device_id: str | None = None,
        ids: Sequence[int] | None = None,
        after_id: int = 0,
        limit: int = 100,
        offset: int = 0,
    ) -> list[QuarantineItem]:
        query = select(QuarantineItem).order_by(QuarantineItem.id)
        if status is not None:
            query = query.where(QuarantineItem.status == status)
        if reason_code is not None:
            query = query.where(QuarantineItem.reason_code == reason_code)
        if device_id is not None:
            query = query.where(QuarantineItem.device_id == device_id)
        if after_id:
            query = query.where(QuarantineItem.id > after_id)
        if ids is not None:
            query = query.where(QuarantineItem.id.in_(ids))
        return list(self._session.scalars(query.limit(limit).offset(offset)))

    def count_by_reason(self, status: str = "held") -> dict[str, int]:
        query = (
            select(QuarantineItem.reason_code, func.count())
            .where(QuarantineItem.status == status)
            .group_by(QuarantineItem.reason_code)
        )
        return {code: count for code, count in self._session.execute(query)}
