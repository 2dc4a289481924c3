"""What the metrics layer hands out: figures with their 环比 and 同比, and trend points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

_FROZEN = ConfigDict(frozen=True)


@dataclass(frozen=True)
class Area:
    """The ids an area covers: a jurisdiction's subtree cut to the user's scope; None ids
    mean the whole node (an unscoped user asking for no jurisdiction)."""

    jurisdiction_id: str | None
    jurisdictions: frozenset[str] | None
    communities: frozenset[str] | None


def change_pct(value: float | None, base: float | None) -> float | None:
    """Relative change from `base` to `value` in percent; None without a base or from 0."""
    if value is None or base is None or base == 0:
        return None
    return round(100.0 * (value - base) / base, 1)


class FigureRead(BaseModel):
    """One figure of one area and period: `key` is the breakdown value (a tier, a rule …)
    or None; `previous` is the same figure over the period before (环比 base) and
    `year_before` over the same period a year earlier (同比 base); stocks have neither."""

    model_config = _FROZEN

    metric: str
    key: str | None
    value: float | None
    previous: float | None
    year_before: float | None
    change_previous_pct: float | None
    change_year_pct: float | None


class StatisticsRead(BaseModel):
    model_config = _FROZEN

    jurisdiction_id: str | None
    granularity: str
    period: str
    start: datetime
    end: datetime
    figures: list[FigureRead]

    def value(self, metric: str, key: str | None = None) -> float | None:
        """The figure's value, None when the period has none (0 for a count not seen)."""
        for figure in self.figures:
            if figure.metric == metric and figure.key == key:
                return figure.value
        return None

    def breakdown(self, metric: str) -> list[FigureRead]:
        return [f for f in self.figures if f.metric == metric and f.key is not None]


class TrendPoint(BaseModel):
    model_config = _FROZEN

    period: str
    start: datetime
    value: float | None
