"""Every query of the case tables, each case read within the caller's jurisdiction scope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope, require_scope
from zhian.cases.models import Case, CaseLink, LinkageModelVersion


class CaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: Case | CaseLink | LinkageModelVersion) -> None:
        self.session.add(row)
        self.session.flush()

    def exists(self, case_id: str) -> bool:
        """Whether a case of this number exists anywhere (numbers are unique on a node)."""
        return self.session.get(Case, case_id) is not None

    def get(self, case_id: str, *, scope: JurisdictionScope) -> Case | None:
        """The case, or None when absent or outside `scope` (alike)."""
        query = select(Case).where(
            Case.id == case_id, require_scope(scope).clause(Case.jurisdiction_id)
        )
        return self.session.scalars(query).first()

    def get_many(self, case_ids: Sequence[str], *, scope: JurisdictionScope) -> list[Case]:
        if not case_ids:
            return []
        query = select(Case).where(
            Case.id.in_(sorted(set(case_ids))), require_scope(scope).clause(Case.jurisdiction_id)
        )
        return list(self.session.scalars(query))

    def list_cases(
        self,
        *,
        scope: JurisdictionScope,
        category: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        is_solved: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Case]:
        """Cases in `scope`, newest first."""
        query = select(Case).where(require_scope(scope).clause(Case.jurisdiction_id))
        if category is not None:
            query = query.where(Case.category == category)
        if since is not None:
            query = query.where(Case.time_from >= since)
        if until is not None:
            query = query.where(Case.time_from < until)
        if is_solved is not None:
            query = query.where(Case.is_solved == is_solved)
        query = query.order_by(Case.time_from.desc(), Case.id).limit(limit).offset(offset)
        return list(self.session.scalars(query))

    def places(
        self, *, scope: JurisdictionScope, since: datetime, until: datetime
    ) -> list[tuple[str, str, float, float, datetime, datetime]]:
        """(jurisdiction, category, latitude, longitude, from, to) of the cases in `scope`
        that began in [since, until): all a hotspot forecast reads of them."""
        query = select(
            Case.jurisdiction_id, Case.category, Case.latitude, Case.longitude,
            Case.time_from, Case.time_to,
        ).where(
            require_scope(scope).clause(Case.jurisdiction_id),
            Case.time_from >= since,
            Case.time_from < until,
        )  # fmt: skip
        rows = self.session.execute(query.order_by(Case.time_from))
        return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def near(
        self,
        *,
        scope: JurisdictionScope,
        south: float,
        north: float,
        since: datetime,
        until: datetime,
        exclude: str,
    ) -> list[Case]:
        """Cases in a latitude band and a time range (blocking's first cut, on indexes)."""
        query = select(Case).where(
            require_scope(scope).clause(Case.jurisdiction_id),
            Case.latitude.between(south, north),
            Case.time_from.between(since, until),
            Case.id != exclude,
        )
        return list(self.session.scalars(query))

    def labelled(self) -> list[Case]:
        """Every solved case with an offender token, over the whole node (training)."""
        query = select(Case).where(Case.is_solved.is_(True), Case.offender_token.is_not(None))
        return list(self.session.scalars(query.order_by(Case.time_from, Case.id)))

    def count_labelled(self) -> int:
        query = (
            select(func.count())
            .select_from(Case)
            .where(Case.is_solved.is_(True), Case.offender_token.is_not(None))
        )
        return int(self.session.scalar(query) or 0)

    # --- links -------------------------------------------------------------------------

    def link(self, case_a: str, case_b: str) -> CaseLink | None:
        query = select(CaseLink).where(CaseLink.case_a == case_a, CaseLink.case_b == case_b)
        return self.session.scalars(query).first()

    def links_of(self, case_ids: Sequence[str]) -> list[CaseLink]:
        ids = sorted(set(case_ids))
        query = select(CaseLink).where(or_(CaseLink.case_a.in_(ids), CaseLink.case_b.in_(ids)))
        return list(self.session.scalars(query.order_by(CaseLink.id)))

    # --- model versions ----------------------------------------------------------------

    def versions(self) -> list[LinkageModelVersion]:
        query = select(LinkageModelVersion).order_by(LinkageModelVersion.id.desc())
        return list(self.session.scalars(query))

    def version(self, version_id: int) -> LinkageModelVersion | None:
        return self.session.get(LinkageModelVersion, version_id)

    def active_version(self) -> LinkageModelVersion | None:
        query = select(LinkageModelVersion).where(LinkageModelVersion.is_active.is_(True))
        return self.session.scalars(query.order_by(LinkageModelVersion.id.desc())).first()

    def activate(self, version_id: int) -> None:
        self.session.execute(
            update(LinkageModelVersion)
            .where(LinkageModelVersion.id != version_id)
            .values(is_active=False)
        )
        self.session.execute(
            update(LinkageModelVersion)
            .where(LinkageModelVersion.id == version_id)
            .values(is_active=True)
        )
        self.session.flush()
