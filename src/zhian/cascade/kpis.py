"""KPI summaries that go up (docs/cascade.md "What goes up"): per community and closed UTC
hour, the figures a parent cannot compute without the child's events (enabled devices,
those that reported, events that arrived), computed by the metrics layer's definitions."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.cascade.wire import KpiSummary
from zhian.metrics.repository import MetricsRepository
from zhian.metrics.service import REPORT_LATE_SECONDS
from zhian.registry.service import RegistryService
from zhian.store.remote import EventReads

HOUR: Final = timedelta(hours=1)


def hour_number(at: datetime) -> int:
    """The UTC hour `at` falls in, counted from the epoch (a forwarder position)."""
    return int(at.astimezone(UTC).timestamp() // 3600)


def hour_start(number: int) -> datetime:
    return datetime.fromtimestamp(number * 3600, tz=UTC)


def kpi_summaries(session: Session, events: EventReads, number: int) -> list[KpiSummary]:
    """The figures of hour `number` of every community holding devices at this node."""
    start = hour_start(number)
    devices = MetricsRepository(session).enabled_device_communities(None)
    arrived: Counter[str] = Counter()
    for row in events.arrival_stats(start, start + HOUR, late_after_seconds=REPORT_LATE_SECONDS):
        if row.device_id in devices:
            arrived[row.device_id] += row.accepted
    communities = RegistryService(session).list_communities(scope=JurisdictionScope.unscoped())
    out = []
    for community in sorted(c.id for c in communities):
        mine = [d for d, c in devices.items() if c == community]
        if not mine:
            continue
        out.append(
            KpiSummary(
                hour=start,
                community_id=community,
                devices=len(mine),
                reporting_devices=sum(1 for d in mine if arrived[d]),
                events=sum(arrived[d] for d in mine),
            )
        )
    return out
