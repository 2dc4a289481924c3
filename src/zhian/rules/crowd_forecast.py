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
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(slots=True)
class Reconciler:
    """Occupancy of one zone from line counts (process) and camera readings (measurements)."""

    camera_error: float = 0.05
    line_error: float = 0.05
    estimate: float = 0.0
    variance: float = 1e12  # nothing known yet: the first camera reading is taken as is
    has_value: bool = False

    def add_lines(self, count_in: int, count_out: int) -> None:
        """A counting line's people in and out over its interval."""
        self.estimate = max(0.0, self.estimate + count_in - count_out)
        self.variance += (self.line_error * (count_in + count_out)) ** 2 + 1.0
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
