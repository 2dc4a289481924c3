"""Hit rate and PAI of the hotspot methods on a case file, by rolling origin.

From the first origin (`test_from`) the test period is cut into windows of the forecast
horizon; at each origin every method forecasts from what was known then (the training
cases before `train_until`, and the test cases before the origin), flags its best cells at
each coverage and is scored on the cases of the window that follows. Hit rate is the share
of those cases falling in flagged cells; PAI (predictive accuracy index) is the hit rate
divided by the share of the area flagged. Naive counts are the baseline, run alongside.

The self-exciting model's one free choice, the share of its long-term rate taken from each
cell's own count (`count_share`), is chosen before any test case is looked at: on a
validation window of `VALIDATION_ORIGINS` origins just before `train_until`, forecasting
from the training cases only and scored on training cases, the share with the best mean
hit rate over the coverages asked wins (ties: the configured share, then the smaller).
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
# The validation window: this many forecast horizons before the end of training.
VALIDATION_ORIGINS = 8
# The shares of the long-term rate from the cell's own count that validation chooses from.
COUNT_SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)


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
    # The self-exciting model's count share, chosen on the validation window, and the mean
    # hit rate there of every share tried (empty: no validation case, the setting's share).
    count_share: float = 0.0
    validation_origins: int = 0
    validation_cases: int = 0
    validation: dict[float, float] = field(default_factory=dict)

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
    choose_count_share(result, grid, known.before(0.0), counts, parameters)
    chosen = replace(parameters, count_share=result.count_share)
    origin = start
    while origin < end:
        until = min(origin + parameters.horizon_days, end)
        window = in_area & (t >= origin) & (t < until)
        result.origins += 1
        result.test_cases += int(window.sum())
        window_parameters = replace(chosen, horizon_days=until - origin)
        for method in HotspotMethod:
            fit = _fit(grid, known, origin, window_parameters) if method is _SE else None
            if fit is not None:
                result.last_fit = fit
            scores = forecast(method, grid, known, origin, window_parameters, fit=fit)
            for coverage, count in counts.items():
                hits[method, coverage] += _hits(scores, count, row[window], col[window])
        origin = until
    result.scores = [HotspotScore(m, c, hits[m, c], result.test_cases)
                     for m in HotspotMethod for c in coverages_pct]  # fmt: skip
    return result


def _hits(scores: np.ndarray, count: int, rows: np.ndarray, cols: np.ndarray) -> int:
    """How many of the cases at (rows, cols) fall in the `count` best cells."""
    best_rows, best_cols = top_cells(scores, count)
    flagged = np.zeros(scores.shape, dtype=bool)
    flagged[best_rows, best_cols] = True
    return int(flagged[rows, cols].sum())


def choose_count_share(
    result: HotspotEvaluation,
    grid: Grid,
    training: CasePoints,
    counts: dict[float, int],
    parameters: HotspotParameters,
) -> None:
    """Choose the self-exciting model's count share on the validation window: the last
    `VALIDATION_ORIGINS` horizons before the end of training (time 0), forecasting from the
    training cases before each origin and scoring on the training cases of its window.
    Only `training` (cases before time 0) is read, so the test cannot sway the choice."""
    if len(training) and training.t.max() >= 0:
        raise ValueError("validation reads training cases only (before time 0)")
    result.count_share = parameters.count_share
    horizon = parameters.horizon_days
    first = float(training.t[0]) if len(training) else 0.0
    hits = dict.fromkeys(COUNT_SHARES, 0)
    cases = 0
    row, col, _ = grid.cells_of(training.x, training.y)
    for k in range(VALIDATION_ORIGINS, 0, -1):
        origin = -k * horizon
        if origin <= first:  # nothing known yet to forecast from
            continue
        window = (training.t >= origin) & (training.t < origin + horizon)
        result.validation_origins += 1
        cases += int(window.sum())
        window_parameters = replace(parameters, horizon_days=horizon)
        fit = _fit(grid, training, origin, window_parameters)
        for share in COUNT_SHARES:
            scores = forecast(_SE, grid, training, origin,
                              replace(window_parameters, count_share=share), fit=fit)  # fmt: skip
            for count in counts.values():
                hits[share] += _hits(scores, count, row[window], col[window])
    result.validation_cases = cases
    if cases == 0:
        return
    result.validation = {s: hits[s] / (cases * len(counts)) for s in COUNT_SHARES}
    result.count_share = max(
        COUNT_SHARES,
        key=lambda s: (result.validation[s], s == parameters.count_share, -s),
    )


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
