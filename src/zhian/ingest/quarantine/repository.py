"""Every query on the quarantine table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope, require_scope
from zhian.devices.models import Device
from zhian.ingest.quarantine.models import QuarantineItem


def _in_scope(scope: JurisdictionScope) -> ColumnElement[bool]:
    """Items of a device (or, unparsed, a sender) whose community the scope holds.

    Items naming no device at all are visible to unscoped users only (docs/dev/scoping.md).
    """
    devices = select(Device.id).where(scope.community_clause(Device.community_id))
    return func.coalesce(QuarantineItem.device_id, QuarantineItem.sender_device_id).in_(
        devices.scalar_subquery()
    )


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
        scope: JurisdictionScope,
        source: str | None = None,
        newest_first: bool = False,
    ) -> list[QuarantineItem]:
        order = QuarantineItem.id.desc() if newest_first else QuarantineItem.id
        query = select(QuarantineItem).order_by(order)
        if not require_scope(scope).is_unscoped:
            query = query.where(_in_scope(scope))
        if source is not None:
            query = query.where(QuarantineItem.source == source)
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

    def count_by_reason(self, status: str = "held", *, scope: JurisdictionScope) -> dict[str, int]:
        query = (
            select(QuarantineItem.reason_code, func.count())
            .where(QuarantineItem.status == status)
            .group_by(QuarantineItem.reason_code)
        )
        if not require_scope(scope).is_unscoped:
            query = query.where(_in_scope(scope))
        return {code: count for code, count in self._session.execute(query)}
