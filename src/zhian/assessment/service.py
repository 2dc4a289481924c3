"""Scores of units on the assessment indicators, their ranks, and audited indicator edits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.assessment.models import IndicatorOverride
from zhian.assessment.repository import AssessmentRepository
from zhian.assessment.settings import AssessmentSettings, Better
from zhian.errors import BadRequestError, NotFoundError
from zhian.metrics.periods import Period
from zhian.metrics.service import MetricsService
from zhian.registry.service import RegistryService

MAX_WEIGHT = 100.0
MAX_TARGET = 100_000.0
ON_TIME_RATE = "on_time_rate"  # 100 − overdue_rate: the "on-time handling rate"


@dataclass(frozen=True)
class Indicator:
    name: str
    metric: str
    weight: float
    target: float
    better: Better
    is_edited: bool


@dataclass(frozen=True)
class IndicatorScore:
    indicator: str
    metric: str
    value: float | None
    score: float | None


@dataclass(frozen=True)
class UnitScore:
    jurisdiction_id: str
    total: float | None
    rank: int | None
    scores: list[IndicatorScore]


def indicator_score(value: float | None, target: float, better: Better) -> float | None:
    """0–100: full marks at or beyond the target, in proportion short of it; None without
    a value (the indicator then leaves the unit's total, whose weights are rescaled)."""
    if value is None:
        return None
    if better is Better.HIGHER:
        return 100.0 if value >= target or target <= 0 else round(100.0 * value / target, 1)
    return 100.0 if value <= target else round(100.0 * target / value, 1)


def total_score(scores: list[IndicatorScore], weights: dict[str, float]) -> float | None:
    """The weighted mean of the scores the unit has; None when it has none."""
    weighed = [(weights[s.indicator], s.score) for s in scores if s.score is not None]
    weight = sum(w for w, _ in weighed)
    if not weighed or weight <= 0:
        return None
    return round(sum(w * score for w, score in weighed) / weight, 1)


class AssessmentService:
    """Indicators (configured defaults, edited on the page) and the scores of units."""

    def __init__(self, session: Session, settings: AssessmentSettings) -> None:
        self.session = session
        self.settings = settings
        self.repository = AssessmentRepository(session)

    def indicators(self) -> list[Indicator]:
        edited = self.repository.overrides()
        out = []
        for name, setting in self.settings.indicators.items():
            override = edited.get(name)
            out.append(
                Indicator(
                    name=name,
                    metric=setting.metric,
                    weight=override.weight if override else setting.weight,
                    target=override.target if override else setting.target,
                    better=setting.better,
                    is_edited=override is not None,
                )
            )
        return out

    def update_indicator(
        self, name: str, weight: float, target: float, *, user_id: int, now: datetime
    ) -> tuple[Indicator, Indicator]:
        """Set an indicator's weight and target; returns (before, after) for the audit."""
        before = next((i for i in self.indicators() if i.name == name), None)
        if before is None:
            raise NotFoundError(f"no indicator '{name}'", field="name")
        if not 0 <= weight <= MAX_WEIGHT:
            raise BadRequestError(f"must lie between 0 and {MAX_WEIGHT:.0f}", field="weight")
        if not 0 <= target <= MAX_TARGET:
            raise BadRequestError(f"must lie between 0 and {MAX_TARGET:.0f}", field="target")
        row = self.repository.get(name)
        if row is None:
            row = IndicatorOverride(name=name, weight=weight, target=target)
            self.repository.add(row)
        row.weight, row.target, row.updated_at, row.updated_by = weight, target, now, user_id
        self.session.flush()
        after = next(i for i in self.indicators() if i.name == name)
        return before, after

    def units(self, scope: JurisdictionScope, jurisdiction_id: str | None) -> list[str]:
        """The units assessed under a jurisdiction: those directly below it in the user's
        scope, or the jurisdiction itself when nothing lies below it."""
        tree = RegistryService(self.session).jurisdiction_tree()
        parent = jurisdiction_id or scope.root
        below = sorted(
            child for child, up in tree.parents.items() if up == parent and scope.contains(child)
        )
        if below:
            return below
        return (
            [parent]
            if parent is not None
            else sorted(j for j, up in tree.parents.items() if up is None)
        )

    def scores(
        self,
        metrics: MetricsService,
        scope: JurisdictionScope,
        jurisdiction_id: str | None,
        period: Period,
        progress: Callable[[float], None] | None = None,
    ) -> list[UnitScore]:
        """Each unit's scores over the period, best total first, ranked (ties share a rank).
        `progress(fraction)` hears each unit scored."""
        metrics.area(scope, jurisdiction_id)  # 400 outside the scope
        indicators = self.indicators()
        weights = {i.name: i.weight for i in indicators}
        units = []
        assessed = self.units(scope, jurisdiction_id)
        for done, unit in enumerate(assessed, start=1):
            values = metrics.flow_values(metrics.area(scope, unit), period.start, period.end)
            overdue = values.get(("overdue_rate", None))
            values[(ON_TIME_RATE, None)] = None if overdue is None else round(100.0 - overdue, 1)
            scores = [
                IndicatorScore(
                    i.name,
                    i.metric,
                    values.get((i.metric, None)),
                    indicator_score(values.get((i.metric, None)), i.target, i.better),
                )
                for i in indicators
            ]
            units.append((unit, total_score(scores, weights), scores))
            if progress is not None:
                progress(done / len(assessed))
        units.sort(key=lambda u: (u[1] is None, -(u[1] or 0), u[0]))
        ranked: list[UnitScore] = []
        for position, (unit, total, scores) in enumerate(units, start=1):
            rank = None
            if total is not None:
                same = ranked and ranked[-1].total == total
                rank = ranked[-1].rank if same else position
            ranked.append(UnitScore(unit, total, rank, scores))
        return ranked
