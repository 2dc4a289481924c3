"""Every query of the resident tips."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope, require_scope
from zhian.tips.models import Tip


class TipRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, tip: Tip) -> None:
        self.session.add(tip)
        self.session.flush()

    def by_code(self, code: str) -> Tip | None:
        return self.session.scalars(select(Tip).where(Tip.code == code)).one_or_none()

    def get(self, tip_id: int, *, scope: JurisdictionScope) -> Tip | None:
        return self.session.scalars(
            select(Tip).where(Tip.id == tip_id, _scoped(scope))
        ).one_or_none()

    def count_from_address(self, address_token: str, since: datetime) -> int:
        query = select(func.count(Tip.id)).where(
            Tip.address_token == address_token, Tip.submitted_at >= since
        )
        return int(self.session.scalar(query) or 0)

    def recent_of_category(self, category: str, since: datetime) -> Sequence[Tip]:
        query = (
            select(Tip)
            .where(Tip.category == category, Tip.submitted_at >= since)
            .order_by(Tip.submitted_at, Tip.id)
        )
        return self.session.scalars(query).all()

    def pending_duplicates_of(self, tip_id: int) -> Sequence[Tip]:
        query = select(Tip).where(Tip.duplicate_of == tip_id, Tip.status == "pending")
        return self.session.scalars(query).all()

    def queue(
        self, *, scope: JurisdictionScope, statuses: Sequence[str], limit: int
    ) -> Sequence[Tip]:
        query = (
            select(Tip)
            .where(Tip.status.in_(statuses), _scoped(scope))
            .order_by(Tip.submitted_at.desc(), Tip.id.desc())
            .limit(limit)
        )
        return self.session.scalars(query).all()

    def ratings(self, *, scope: JurisdictionScope) -> tuple[int, float | None]:
        query = select(func.count(Tip.rating), func.avg(Tip.rating)).where(
            Tip.rating.is_not(None), _scoped(scope)
        )
        count, mean = self.session.execute(query).one()
        return int(count or 0), None if mean is None else float(mean)


def _scoped(scope: JurisdictionScope) -> ColumnElement[bool]:
    """Tips placed in the scope's jurisdictions or communities (unplaced: unscoped only)."""
    scope = require_scope(scope)
    if scope.is_unscoped:
        return scope.clause(Tip.jurisdiction_id)
    return or_(scope.clause(Tip.jurisdiction_id), scope.community_clause(Tip.community_id))
