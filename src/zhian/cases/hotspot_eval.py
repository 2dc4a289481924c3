"""Hit rate and PAI of the hotspot methods on a case file, by rolling origin.

From the first origin (`test_from`) the test period is cut into windows of the forecast
horizon; at each origin every method forecasts from what was known then (the training
cases before `train_until`, and the test cases before the origin), flags its best cells at
each coverage and is scored on the cases of the window that follows. Hit rate is the share
of those cases falling in flagged cells; PAI (predictive accuracy index) is the hit rate
divided by the share of the area flagged. Naive counts are the baseline, run alongside.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np

from zhian.cases.facts import CaseFacts
from zhian.cases.hotspots import (
    CasePoints,
    Grid,
    HotspotMethod,
    HotspotParameters,
    SelfExcitingFit,
    fit_self_exciting,
    forecast,
    grid_over,
    top_cells,
)
from zhian.errors import BadRequestError

DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class HotspotScore:
    """One method at one coverage, summed over every origin."""

    method: HotspotMethod
    coverage_pct: float
    hits: int
    cases: int

    @property
    def hit_rate(self) -> float:
        return self.hits / self.cases if self.cases else 0.0


@dataclass
class HotspotEvaluation:
    cell_m: float
    cells: int
    origins: int
    train_cases: int
    test_cases: int
    outside_cases: int
    flagged: dict[float, int] = field(default_factory=dict)
    scores: list[HotspotScore] = field(default_factory=list)
    last_fit: SelfExcitingFit | None = None

    def score(self, method: HotspotMethod, coverage_pct: float) -> HotspotScore:
        return next(s for s in self.scores
                    if s.method is method and s.coverage_pct == coverage_pct)  # fmt: skip

    def pai(self, method: HotspotMethod, coverage_pct: float) -> float:
        """Hit rate over the share of the area flagged."""
        share = self.flagged[coverage_pct] / self.cells
        return self.score(method, coverage_pct).hit_rate / share if share else 0.0


def _days(moment: datetime, epoch: datetime) -> float:
    return (moment - epoch).total_seconds() / DAY_SECONDS


def check_period(train_until: datetime, test_from: datetime, test_to: datetime) -> None:
    """BadRequestError naming the option when the periods are out of order."""
    if test_from < train_until:
        raise BadRequestError(
            "the test must start at or after the end of training", field="test_from"
        )
    if test_to <= test_from:
        raise BadRequestError("the test must end after it starts", field="test_to")


def evaluate_hotspots(
    facts: Sequence[CaseFacts],
    *,
    train_until: datetime,
    test_from: datetime,
    test_to: datetime,
    cell_m: float,
    coverages_pct: Sequence[float],
    parameters: HotspotParameters,
) -> HotspotEvaluation:
    """Score every method at every coverage over the rolling origins of the test period."""
    check_period(train_until, test_from, test_to)
    if cell_m <= 0:
        raise BadRequestError("the cell size must be above 0 m", field="cell")
    bad = [c for c in coverages_pct if not 0 < c <= 100]
    if bad:
        raise BadRequestError(
            f"coverage {bad[0]} is not a percentage in (0, 100]", field="coverage"
        )
    epoch = train_until
    t = np.array([_days(f.midpoint, epoch) for f in facts])
    lat = np.array([f.latitude for f in facts])
    lon = np.array([f.longitude for f in facts])
    is_train = t < 0
    if not is_train.any():
        raise BadRequestError("no case falls before the end of training", field="train_until")
    grid = grid_over(list(lat[is_train]), list(lon[is_train]), cell_m)
    x, y = grid.project(lat, lon)
    row, col, in_area = grid.cells_of(x, y)
    start, end = _days(test_from, epoch), _days(test_to, epoch)
    usable = in_area & (is_train | ((t >= start) & (t < end)))
    known = CasePoints.of(x[usable], y[usable], t[usable])
    counts = {c: max(1, math.ceil(grid.cell_count * c / 100)) for c in coverages_pct}
    hits = {(m, c): 0 for m in HotspotMethod for c in coverages_pct}
    result = HotspotEvaluation(
        cell_m=cell_m, cells=grid.cell_count, origins=0, train_cases=int(usable[is_train].sum()),
        test_cases=0, outside_cases=int(((t >= start) & (t < end) & ~in_area).sum()),
        flagged=counts,
    )  # fmt: skip
    origin = start
    while origin < end:
        until = min(origin + parameters.horizon_days, end)
        window = in_area & (t >= origin) & (t < until)
        result.origins += 1
        result.test_cases += int(window.sum())
        window_parameters = replace(parameters, horizon_days=until - origin)
        for method in HotspotMethod:
            fit = _fit(grid, known, origin, window_parameters) if method is _SE else None
            if fit is not None:
                result.last_fit = fit
            scores = forecast(method, grid, known, origin, window_parameters, fit=fit)
            for coverage, count in counts.items():
                rows, cols = top_cells(scores, count)
                flagged = np.zeros(grid.shape, dtype=bool)
                flagged[rows, cols] = True
                hits[method, coverage] += int(flagged[row[window], col[window]].sum())
        origin = until
    result.scores = [HotspotScore(m, c, hits[m, c], result.test_cases)
                     for m in HotspotMethod for c in coverages_pct]  # fmt: skip
    return result


_SE = HotspotMethod.SELF_EXCITING


def _fit(grid: Grid, known: CasePoints, origin: float, p: HotspotParameters) -> SelfExcitingFit:
    past = known.before(origin)
    keep = past.t >= origin - p.lookback_days
    past = CasePoints(past.x[keep], past.y[keep], past.t[keep])
    span = min(p.lookback_days, origin - float(past.t[0])) if len(past) else 1.0
    return fit_self_exciting(grid, past, neighbours=p.neighbours, min_bandwidth_m=p.min_bandwidth_m,
                             span_days=span)  # fmt: skip


def parse_coverages(text: str) -> list[float]:
    """'1,2,5' → [1.0, 2.0, 5.0]; BadRequestError naming `coverage` otherwise."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BadRequestError(
            f"'{text}' is not a list of percentages like 1,2,5", field="coverage"
        ) from None
    if not values:
        raise BadRequestError("give at least one coverage percentage", field="coverage")
    return values


def end_of_day(moment: datetime) -> datetime:
    """The day after a date given without a time (a test 'to' date includes its day)."""
    if moment.hour == moment.minute == moment.second == 0:
        return moment + timedelta(days=1)
    return moment
