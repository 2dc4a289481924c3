"""Every query of the case library."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope, require_scope
from zhian.case_library.models import CaseStudy
from zhian.case_library.schemas import CaseStudyFilter


class CaseStudyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, entry_id: int, *, scope: JurisdictionScope) -> CaseStudy | None:
        return self.session.scalars(
            select(CaseStudy).where(CaseStudy.id == entry_id, _scoped(scope))
        ).first()

    def search(
        self, filters: CaseStudyFilter, *, scope: JurisdictionScope, limit: int
    ) -> Sequence[CaseStudy]:
        query = select(CaseStudy).where(_scoped(scope))
        if filters.text:
            query = query.where(
                or_(
                    *(
                        column.contains(filters.text, autoescape=True)
                        for column in (
                            CaseStudy.title,
                            CaseStudy.summary,
                            CaseStudy.what_happened,
                            CaseStudy.what_worked,
                            CaseStudy.lessons,
                            CaseStudy.tags,
                        )
                    )
                )
            )
        if filters.tag:
            query = query.where(CaseStudy.tags.contains(f",{filters.tag},", autoescape=True))
        if filters.category:
            query = query.where(CaseStudy.category == filters.category)
        if filters.occurred_from is not None:
            query = query.where(CaseStudy.occurred_at >= filters.occurred_from)
        if filters.occurred_to is not None:
            query = query.where(CaseStudy.occurred_at < filters.occurred_to)
        query = query.order_by(CaseStudy.occurred_at.desc(), CaseStudy.id.desc()).limit(limit)
        return self.session.scalars(query).all()

    def tags(self, *, scope: JurisdictionScope) -> list[str]:
        """Every tag in use within the scope, sorted."""
        found: set[str] = set()
        for stored in self.session.scalars(select(CaseStudy.tags).where(_scoped(scope))):
            found.update(tag for tag in stored.split(",") if tag)
        return sorted(found)

    def next_share_seq(self) -> int:
        current = self.session.scalar(select(func.max(CaseStudy.share_seq)))
        return int(current or 0) + 1

    def shared_after(self, share_seq: int, limit: int) -> Sequence[CaseStudy]:
        """Entries changed since `share_seq` that are or were shared, in that order (for the
        forwarder, which sends the node's whole library within its credential)."""
        return self.session.scalars(
            select(CaseStudy)
            .where(CaseStudy.share_seq > share_seq)
            .order_by(CaseStudy.share_seq)
            .limit(limit)
        ).all()

    def received(self, origin_node: str, origin_id: int) -> CaseStudy | None:
        return self.session.scalars(
            select(CaseStudy).where(
                CaseStudy.origin_node == origin_node, CaseStudy.origin_id == origin_id
            )
        ).first()

    def add(self, entry: CaseStudy) -> None:
        self.session.add(entry)
        self.session.flush()

    def delete(self, entry: CaseStudy) -> None:
        self.session.delete(entry)
        self.session.flush()


def _scoped(scope: JurisdictionScope) -> ColumnElement[bool]:
    return require_scope(scope).clause(CaseStudy.jurisdiction_id)
