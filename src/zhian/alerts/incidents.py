"""Incidents as readers see them: the alerts grouped at one place and time, with the
incident's own tier (the highest of its alerts), state (open while any alert is) and a
summary, within the reader's scope (an incident shows only the alerts the reader sees).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope, require_scope
from zhian.alerts.drafts import TIER_ORDER
from zhian.alerts.models import Alert, Incident
from zhian.alerts.schemas import AlertState

INCIDENT_STATES = ("open", "closed")
_READ_LIMIT = 1000


@dataclass(frozen=True)
class IncidentAlert:
    id: int
    kind: str
    tier: str
    state: str
    title_zh: str
    title_en: str
    count: int
    created_at: datetime


@dataclass(frozen=True)
class IncidentRead:
    """One incident: its place, times, own tier and state, and its alerts in scope."""

    id: int
    place_id: str
    place_name: str | None
    community_id: str | None
    opened_at: datetime
    last_alert_at: datetime
    tier: str
    state: str
    alerts: tuple[IncidentAlert, ...]

    @property
    def reports(self) -> int:
        """How many reports its alerts gathered (an alert of count 2 is two tips)."""
        return sum(alert.count for alert in self.alerts)

    def summary(self, lang: str) -> str:
        """ "2 × 烟感告警；1 × 群众举报：烟雾" — each distinct title with its reports."""
        counts: Counter[str] = Counter()
        for alert in self.alerts:
            counts[alert.title_zh if lang == "zh" else alert.title_en] += alert.count
        separator = "；" if lang == "zh" else "; "
        return separator.join(f"{n} × {title}" for title, n in counts.most_common())


class IncidentReadService:
    """Lists and finds incidents within a scope; filters by state, tier and period."""

    def __init__(self, session: Session, *, scope: JurisdictionScope) -> None:
        self.session = session
        self.scope = require_scope(scope)

    def exists(self, incident_id: int) -> bool:
        """Whether the incident has an alert the reader sees."""
        return bool(
            self.session.scalar(
                select(
                    exists().where(
                        Alert.incident_id == incident_id,
                        self.scope.alert_clause(
                            Alert.jurisdiction_id, Alert.escalated_to_jurisdiction_id
                        ),
                    )
                )
            )
        )

    def get(self, incident_id: int) -> IncidentRead | None:
        found = self.list_incidents(ids=[incident_id])
        return found[0] if found else None

    def list_incidents(
        self,
        *,
        state: str | None = None,
        tier: str | None = None,
        opened_from: datetime | None = None,
        opened_to: datetime | None = None,
        ids: list[int] | None = None,
        limit: int = 200,
    ) -> list[IncidentRead]:
        """Newest first (by the last alert). `opened_to` is exclusive."""
        visible = self.scope.alert_clause(Alert.jurisdiction_id, Alert.escalated_to_jurisdiction_id)
        query = select(Incident).where(exists().where(Alert.incident_id == Incident.id, visible))
        if ids is not None:
            query = query.where(Incident.id.in_(ids))
        if opened_from is not None:
            query = query.where(Incident.opened_at >= opened_from)
        if opened_to is not None:
            query = query.where(Incident.opened_at < opened_to)
        incidents = list(
            self.session.scalars(
                query.order_by(Incident.last_alert_at.desc(), Incident.id.desc()).limit(_READ_LIMIT)
            )
        )
        if not incidents:
            return []
        alerts: dict[int, list[Alert]] = {incident.id: [] for incident in incidents}
        for alert in self.session.scalars(
            select(Alert)
            .where(Alert.incident_id.in_(list(alerts)), visible)
            .order_by(Alert.created_at, Alert.id)
        ):
            if alert.incident_id is not None:
                alerts[alert.incident_id].append(alert)
        found: list[IncidentRead] = []
        for incident in incidents:
            read = _read(incident, alerts[incident.id])
            if (state is None or read.state == state) and (tier is None or read.tier == tier):
                found.append(read)
            if len(found) >= limit:
                break
        return found


def _read(incident: Incident, alerts: list[Alert]) -> IncidentRead:
    tier = max((alert.tier for alert in alerts), key=lambda t: TIER_ORDER.get(t, -1))
    is_open = any(alert.state != AlertState.CLOSED for alert in alerts)
    return IncidentRead(
        id=incident.id,
        place_id=incident.place_id,
        place_name=next((a.place_name for a in alerts if a.place_name), None),
        community_id=incident.community_id,
        opened_at=incident.opened_at,
        last_alert_at=incident.last_alert_at,
        tier=tier,
        state="open" if is_open else "closed",
        alerts=tuple(
            IncidentAlert(
                id=a.id,
                kind=a.kind,
                tier=a.tier,
                state=a.state,
                title_zh=a.title_zh,
                title_en=a.title_en,
                count=a.count,
                created_at=a.created_at,
            )
            for a in alerts
        ),
    )
