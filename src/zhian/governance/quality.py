"""Data quality per source and device: validity, completeness, lateness, clock skew.

Accepted events come from the event store (with their arrival lag), refused ones from the
quarantine (with their reasons); duplicates and plates of kind `other` are known only as
the intake's running counters, so they are reported for the node as a whole.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.ingest.quarantine.models import QuarantineItem
from zhian.ingest.service import IntakeStats
from zhian.store.queries import ArrivalStats

UNKNOWN_DEVICE = "(unknown)"


@dataclass
class QualityBucket:
    """What one device sent through one source in one hour (or over a whole window)."""

    device_id: str
    source: str
    hour: datetime | None
    accepted: int = 0
    rejected: int = 0
    late: int = 0
    ahead: int = 0
    complete: int = 0
    lag_total_seconds: float = 0.0
    max_lag_seconds: float | None = None
    min_lag_seconds: float | None = None
    rejected_by_reason: Counter[str] = field(default_factory=Counter)

    @property
    def received(self) -> int:
        return self.accepted + self.rejected

    @property
    def validity(self) -> float:
        """Share of items accepted (1.0 when nothing arrived)."""
        return self.accepted / self.received if self.received else 1.0

    @property
    def completeness(self) -> float:
        """Share of accepted events carrying every optional field their type should."""
        return self.complete / self.accepted if self.accepted else 1.0

    @property
    def late_share(self) -> float:
        return self.late / self.accepted if self.accepted else 0.0

    @property
    def skew_share(self) -> float:
        """Share of accepted events stamped after they arrived (device clock fast)."""
        return self.ahead / self.accepted if self.accepted else 0.0

    @property
    def mean_lag_seconds(self) -> float | None:
        return self.lag_total_seconds / self.accepted if self.accepted else None

    def add_arrivals(self, stats: ArrivalStats) -> None:
        self.accepted += stats.accepted
        self.late += stats.late
        self.ahead += stats.ahead
        self.complete += stats.complete
        self.lag_total_seconds += stats.mean_lag_seconds * stats.accepted
        self.max_lag_seconds = _max(self.max_lag_seconds, stats.max_lag_seconds)
        self.min_lag_seconds = _min(self.min_lag_seconds, stats.min_lag_seconds)

    def add_rejections(self, other: QualityBucket) -> None:
        self.rejected += other.rejected
        self.rejected_by_reason.update(other.rejected_by_reason)


@dataclass(frozen=True)
class QualityReport:
    """Every source over a window, worst first, against the validity goal."""

    since: datetime
    until: datetime
    goal: float
    sources: list[QualityBucket]
    duplicates_since_start: int | None
    # Vehicle passages kept with a plate of no recognised kind (zhian.governance.plates).
    other_plates_since_start: int | None = None

    @property
    def below_goal(self) -> list[QualityBucket]:
        return [source for source in self.sources if source.validity < self.goal]


class ArrivalReads(Protocol):
    """The one event-store question quality asks: the store's named query, or the worker's
    answer to it when the store lives in another process."""

    def arrival_stats(
        self, since: datetime, until: datetime, *, late_after_seconds: float
    ) -> list[ArrivalStats]: ...


class QualityService:
    """Computes quality figures; reads only (the event store and the quarantine)."""

    def __init__(
        self,
        session: Session,
        queries: ArrivalReads,
        *,
        late_after_minutes: float,
        goal: float,
        intake_stats: IntakeStats | None = None,
    ) -> None:
        self._session = session
        self._queries = queries
        self._late_seconds = late_after_minutes * 60
        self._goal = goal
        self._intake_stats = intake_stats

    def hourly(self, since: datetime, until: datetime) -> list[QualityBucket]:
        """Per device, source and UTC hour of arrival, in time order."""
        buckets: dict[tuple[str, str, datetime], QualityBucket] = {}
        for stats in self._queries.arrival_stats(
            since, until, late_after_seconds=self._late_seconds
        ):
            key = (stats.device_id, stats.source, stats.hour)
            buckets.setdefault(key, QualityBucket(*key)).add_arrivals(stats)
        for key, refused in self._rejections(since, until).items():
            buckets.setdefault(key, QualityBucket(*key)).add_rejections(refused)
        return sorted(buckets.values(), key=lambda b: (b.hour or since, b.device_id, b.source))

    def report(self, since: datetime, until: datetime) -> QualityReport:
        """Each (device, source) over the window, worst first: lowest validity, then most
        late, then least complete."""
        totals: dict[tuple[str, str], QualityBucket] = {}
        for bucket in self.hourly(since, until):
            key = (bucket.device_id, bucket.source)
            total = totals.setdefault(key, QualityBucket(bucket.device_id, bucket.source, None))
            total.accepted += bucket.accepted
            total.late += bucket.late
            total.ahead += bucket.ahead
            total.complete += bucket.complete
            total.lag_total_seconds += bucket.lag_total_seconds
            total.max_lag_seconds = _max(total.max_lag_seconds, bucket.max_lag_seconds)
            total.min_lag_seconds = _min(total.min_lag_seconds, bucket.min_lag_seconds)
            total.add_rejections(bucket)
        ranked = sorted(
            totals.values(),
            key=lambda t: (t.validity, -t.late_share, t.completeness, t.device_id, t.source),
        )
        stats = self._intake_stats
        duplicates = stats.duplicate if stats is not None else None
        other_plates = stats.other_plates if stats is not None else None
        return QualityReport(since, until, self._goal, ranked, duplicates, other_plates)

    def _rejections(
        self, since: datetime, until: datetime
    ) -> dict[tuple[str, str, datetime], QualityBucket]:
        query = select(
            QuarantineItem.device_id,
            QuarantineItem.source,
            QuarantineItem.received_at,
            QuarantineItem.reason_code,
        ).where(QuarantineItem.received_at >= since, QuarantineItem.received_at < until)
        found: dict[tuple[str, str, datetime], QualityBucket] = {}
        for device_id, source, received_at, reason_code in self._session.execute(query):
            hour = received_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            key = (device_id or UNKNOWN_DEVICE, source, hour)
            bucket = found.setdefault(key, QualityBucket(*key))
            bucket.rejected += 1
            bucket.rejected_by_reason[reason_code] += 1
        return found


def _max(current: float | None, value: float | None) -> float | None:
    if value is None:
        return current
    return value if current is None else max(current, value)


def _min(current: float | None, value: float | None) -> float | None:
    if value is None:
        return current
    return value if current is None else min(current, value)
