"""What alerts hold from retention: a watchlist-plate alert's identifier token, which must
still open for an audited reveal after the passages (180 days) are gone (alerts: 3 years)."""

from __future__ import annotations

from zhian.alerts.repository import AlertRepository
from zhian.governance.retention_registry import RetentionRegistry


def register_alert_tokens(registry: RetentionRegistry) -> None:
    registry.hold_tokens(lambda session: AlertRepository(session).plate_tokens())
