"""`Histogram`: a thread-safe count of observations by upper bound, small enough to travel.

prometheus_client's histograms live in one process (or its multiprocess files on one
machine); a worker that serves no HTTP reports its figures through its heartbeat row
instead (zhian.processes), so its histograms must be plain data: `state()` is that.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence

import msgspec


class HistogramState(msgspec.Struct, frozen=True):
    """Counts per bucket (not cumulative; the last bucket is +Inf), their sum and count."""

    bounds: list[float]
    counts: list[int]
    sum: float
    count: int

    def cumulative(self) -> list[tuple[str, int]]:
        """Prometheus buckets: (`le`, observations at or below it), ending with +Inf."""
        total = 0
        out: list[tuple[str, int]] = []
        for bound, count in zip([*self.bounds, float("inf")], self.counts, strict=True):
            total += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), total))
        return out


class Histogram:
    """Observations counted by the first bound at or above them (+Inf beyond the last)."""

    def __init__(self, bounds: Sequence[float]) -> None:
        if list(bounds) != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError("histogram bounds must be strictly increasing")
        self._bounds = [float(bound) for bound in bounds]
        self._counts = [0] * (len(self._bounds) + 1)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self._counts[bisect.bisect_left(self._bounds, value)] += 1
            self._sum += value

    def state(self) -> HistogramState:
        with self._lock:
            counts = list(self._counts)
            return HistogramState(list(self._bounds), counts, self._sum, sum(counts))
