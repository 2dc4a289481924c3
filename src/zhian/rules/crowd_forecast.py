"""Crowd arithmetic: reconciling line counts with camera counts, and a short-horizon forecast.

Reconciliation is a one-state Kalman filter per zone. The state is the zone's occupancy.
Counting lines are the process: each line report moves the state by `in - out` and adds
variance in proportion to the people counted (a line that miscounts a few percent drifts
without bound if nothing corrects it). Camera occupancy readings are the measurements:
each pulls the state towards the reading with the Kalman gain, so line drift is removed
as fast as the cameras' own noise allows, while the lines give the minute-by-minute flow
that a camera reading every minute or so does not. A zone with cameras only follows its
filtered camera readings; a zone with lines only integrates them (and drifts: docs/crowd.md).

The forecast is Holt's linear method (double exponential smoothing, additive damped
trend) on the reconciled occupancy sampled once a minute, with the ETS(A,Ad,N) forecast
variance from its own one-step errors: a local level and slope, which is what a crowd
building up at a fair looks like over a quarter of an hour.

`ZoneForecaster` is what the rule calls: the zone's daily and weekly pattern (an
hour-of-week profile, exponentially weighted over weeks; holidays take Sunday's profile;
a planned event adds its expected size in its window) corrected by the latest readings
(Holt on the residual from the profile, the residual's level reverting to the profile at
the rate its own autocorrelation shows). Until a zone has a profile for the hours
concerned (its first week) it forecasts with Holt on the readings alone, as before.
Chosen by measurement on the Auckland counts (docs/crowd.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone


@dataclass(slots=True)
class Reconciler:
    """Occupancy of one zone from line counts (process) and camera readings (measurements)."""

    camera_error: float = 0.05
    line_error: float = 0.05
    estimate: float = 0.0
    variance: float = 1e12  # nothing known yet: the first camera reading is taken as is
    has_value: bool = False

    def add_lines(self, count_in: int, count_out: int, interval_seconds: float = 60.0) -> None:
        """A counting line's people in and out over its interval: the variance added is the
        line's relative error on the people counted plus one person a minute of interval
        (a line reporting every second adds a sixtieth of it per report, an hourly one 60)."""
        self.estimate = max(0.0, self.estimate + count_in - count_out)
        self.variance += (self.line_error * (count_in + count_out)) ** 2 + interval_seconds / 60
        self.has_value = True

    def advance(self, minutes: float) -> None:
        """Time passes: people come and go unseen by lines (3 % of the crowd a minute)."""
        self.variance += minutes * (0.03 * self.estimate + 5.0) ** 2

    def add_camera(self, occupancy: int) -> None:
        """A camera's count of the people in the zone."""
        noise = (self.camera_error * max(occupancy, 10)) ** 2
        gain = self.variance / (self.variance + noise)
        self.estimate += gain * (occupancy - self.estimate)
        self.variance *= 1.0 - gain
        self.has_value = True


@dataclass(frozen=True, slots=True)
class Forecast:
    """Occupancy `minutes` ahead: the mean and its standard deviation, and the slope now."""

    minutes: int
    mean: float
    sd: float
    slope_per_minute: float
    path: tuple[tuple[float, float], ...]  # (mean, sd) for 1 .. minutes ahead


@dataclass(slots=True)
class Holt:
    """Holt's damped linear trend on one-minute samples, with its running error variance."""

    alpha: float = 0.5
    beta: float = 0.3
    phi: float = 0.98
    level: float = 0.0
    slope: float = 0.0
    error_variance: float = 0.0
    samples: int = 0

    @classmethod
    def for_step(cls, minutes: float) -> Holt:
        """The per-minute smoothing scaled to samples `minutes` apart (α and φ compound)."""
        if minutes == 1:
            return cls()
        base = cls()
        return cls(alpha=1.0 - (1.0 - base.alpha) ** minutes, phi=base.phi**minutes)

    def mean_at(self, steps: int, reversion: float = 1.0) -> float:
        """The forecast mean `steps` samples ahead, the level multiplied by `reversion`
        (1: kept; below 1: decaying towards 0, for a residual from a profile)."""
        phi = self.phi
        damp = steps if phi == 1.0 else phi * (1.0 - phi**steps) / (1.0 - phi)
        return self.level * reversion + damp * self.slope

    def add(self, value: float) -> None:
        if self.samples == 0:
            self.level, self.slope = value, 0.0
        else:
            predicted = self.level + self.phi * self.slope
            error = value - predicted
            if self.samples >= 2:
                # An exponentially weighted variance of the one-step errors (about 30 minutes).
                self.error_variance = 0.93 * self.error_variance + 0.07 * error * error
            else:
                self.error_variance = error * error
            level = predicted + self.alpha * error
            self.slope = self.phi * self.slope + self.alpha * self.beta * error
            self.level = level
        self.samples += 1

    def forecast(self, minutes: int) -> Forecast:
        """Mean and sd 1..minutes ahead (ETS(A,Ad,N): var_h = σ²(1 + Σ_{j<h} c_j²))."""
        sigma2 = max(self.error_variance, 1.0)
        path = []
        damp = 0.0  # φ + φ² + … + φ^h
        accumulated = 0.0  # Σ c_j² for j < h
        for h in range(1, minutes + 1):
            damp += self.phi**h
            mean = max(0.0, self.level + damp * self.slope)
            sd = math.sqrt(sigma2 * (1.0 + accumulated))
            path.append((mean, sd))
            c = self.alpha * (1.0 + self.beta * damp)
            accumulated += c * c
        mean, sd = path[-1]
        return Forecast(minutes, mean, sd, self.slope, tuple(path))


WEEK_HOURS = 7 * 24


def hour_of_week(at: datetime, holidays: frozenset[date] = frozenset()) -> int:
    """The profile bin of a local time: Monday 0:00 is 0; a holiday counts as a Sunday."""
    weekday = 6 if at.date() in holidays else at.weekday()
    return weekday * 24 + at.hour


@dataclass(slots=True)
class SeasonalProfile:
    """The usual value per hour of the week: each hour's mean reading, exponentially
    weighted over the weeks (`weight` for the newest week once a few are in)."""

    weight: float = 0.3
    means: list[float | None] = field(default_factory=lambda: [None] * WEEK_HOURS)
    weeks: list[int] = field(default_factory=lambda: [0] * WEEK_HOURS)
    _hour: datetime | None = None  # the hour being accumulated, and its bin
    _bin: int = 0
    _sum: float = 0.0
    _count: int = 0

    def mean(self, hour_bin: int) -> float | None:
        return self.means[hour_bin]

    def add(self, at: datetime, hour_bin: int, value: float) -> None:
        """A reading in the hour of `at` (the hour's readings are averaged, then folded in)."""
        hour = at.replace(minute=0, second=0, microsecond=0)
        if hour != self._hour:
            self._fold()
            self._hour, self._bin = hour, hour_bin
        self._sum += value
        self._count += 1

    def _fold(self) -> None:
        if self._count:
            value, b = self._sum / self._count, self._bin
            old = self.means[b]
            weeks = self.weeks[b] + 1
            self.means[b] = (
                value if old is None else old + max(1.0 / weeks, self.weight) * (value - old)
            )
            self.weeks[b] = weeks
        self._sum, self._count = 0.0, 0


@dataclass(frozen=True, slots=True)
class PlannedWindow:
    """A planned event in a zone: from `start` to `end` it expects `expected` more than usual."""

    start: datetime
    end: datetime
    expected: float

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


class ZoneForecaster:
    """One zone's forecast: its weekly pattern corrected by the latest readings.

    `observe` takes readings `step` apart (the rule samples every minute; a city's
    counts may come hourly); `mean_at` and `forecast` look ahead from the last one.
    """

    def __init__(
        self,
        step: timedelta = timedelta(minutes=1),
        *,
        holidays: Iterable[date] = (),
        events: Iterable[PlannedWindow] = (),
        utc_offset: timedelta | None = None,
    ) -> None:
        # Times with a zone are read in local time (hours of the week, holiday dates).
        self.zone = None if utc_offset is None else timezone(utc_offset)
        self.step_minutes = step / timedelta(minutes=1)
        if self.step_minutes <= 0:
            raise ValueError("the reading interval must be positive")
        self.holidays = frozenset(holidays)
        self.events = tuple(events)
        self.profile = SeasonalProfile()
        self.restart()

    def restart(self) -> None:
        """Forget the latest readings (after a long gap); the weekly pattern stays."""
        self.raw = Holt.for_step(self.step_minutes)
        self.residual = Holt.for_step(self.step_minutes)
        self.last_at: datetime | None = None
        self._previous: float | None = None  # the last residual, for its autocorrelation
        self._covariance = 0.0
        self._variance = 0.0
        self._seasonal = False  # whether the last reading had a profile to compare with

    @property
    def samples(self) -> int:
        return self.raw.samples

    def _local(self, at: datetime) -> datetime:
        if self.zone is None or at.tzinfo is None:
            return at
        return at.astimezone(self.zone)

    def _bin(self, at: datetime) -> int:
        return hour_of_week(self._local(at), self.holidays)

    def expected_extra(self, at: datetime) -> float:
        return sum(e.expected for e in self.events if e.covers(at))

    def usual(self, at: datetime) -> float | None:
        """The profile's value at `at` plus any planned event; None without a profile."""
        mean = self.profile.mean(self._bin(at))
        return None if mean is None else mean + self.expected_extra(at)

    def observe(self, at: datetime, value: float) -> None:
        self.raw.add(value)
        usual = self.usual(at)
        if usual is None:
            self._seasonal = False
        else:
            residual = value - usual
            if self._seasonal and self._previous is not None:
                self._covariance = 0.99 * self._covariance + 0.01 * residual * self._previous
                self._variance = 0.99 * self._variance + 0.01 * self._previous**2
            self.residual.add(residual)
            self._previous, self._seasonal = residual, True
        local = self._local(at)
        # Neither a holiday nor a planned event is the usual pattern: kept out of the profile.
        if local.date() not in self.holidays and not any(e.covers(at) for e in self.events):
            self.profile.add(local, self._bin(at), value)
        self.last_at = at

    def reversion(self, minutes: float) -> float:
        """How much of today's departure from the profile is left `minutes` ahead: the
        residual's autocorrelation per reading, compounded."""
        if self._variance <= 0:
            return 1.0
        per_step = min(1.0, max(0.0, self._covariance / self._variance))
        return float(per_step ** (minutes / self.step_minutes))

    def _steps(self, minutes: float) -> int:
        return max(1, round(minutes / self.step_minutes))

    def mean_at(self, minutes: float) -> float:
        """The forecast `minutes` after the last reading (not below 0)."""
        if self.last_at is None:
            raise ValueError("nothing observed yet")
        steps = self._steps(minutes)
        target = self.last_at + timedelta(minutes=minutes)
        usual = self.usual(target) if self._seasonal else None
        if usual is None:
            extra = self.expected_extra(target) - self.expected_extra(self.last_at)
            return max(0.0, self.raw.mean_at(steps) + extra)
        return max(0.0, usual + self.residual.mean_at(steps, self.reversion(minutes)))

    def forecast(self, minutes: int) -> Forecast:
        """Mean and sd 1..minutes ahead (the sd from the ETS variance of the model in use)."""
        if self.last_at is None:
            raise ValueError("nothing observed yet")
        steps = self._steps(minutes)
        target = self.last_at + timedelta(minutes=minutes)
        holt = self.residual if self._seasonal and self.usual(target) is not None else self.raw
        sds = [sd for _, sd in holt.forecast(steps).path]
        path = tuple(
            (self.mean_at(h), sds[min(self._steps(h), steps) - 1]) for h in range(1, minutes + 1)
        )
        mean, sd = path[-1]
        return Forecast(minutes, mean, sd, holt.slope / self.step_minutes, path)


def probability_above(mean: float, sd: float, threshold: float) -> float:
    """P(X ≥ threshold) for X ~ Normal(mean, sd)."""
    if sd <= 0:
        return 1.0 if mean >= threshold else 0.0
    return 0.5 * math.erfc((threshold - mean) / (sd * math.sqrt(2.0)))


def crossing_minutes(forecast: Forecast, threshold: float) -> int | None:
    """The first minute ahead at which the forecast mean reaches `threshold`, if any."""
    for h, (mean, _) in enumerate(forecast.path, start=1):
        if mean >= threshold:
            return h
    return None
