"""Every query of the assessment."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.assessment.models import IndicatorOverride


class AssessmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def overrides(self) -> dict[str, IndicatorOverride]:
        return {row.name: row for row in self.session.scalars(select(IndicatorOverride))}

    def get(self, name: str) -> IndicatorOverride | None:
        return self.session.get(IndicatorOverride, name)

    def add(self, row: IndicatorOverride) -> None:
        self.session.add(row)
