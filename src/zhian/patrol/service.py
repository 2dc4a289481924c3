"""Patrol check-ins at patrol points and patrol reports that enter as alerts.

Patrol points are the buildings of the registry: every building has a place on the map
and a community, so a check-in is scoped like everything else at that building, and a
report placed there correlates with the alarms and tips of the same building. A check-in
is kept only when the phone's position is within `CHECKIN_RADIUS_M` of the point: a
check-in from elsewhere would record a patrol that did not happen.

A report enters as an alert (rule `patrol`, kind `patrol_<category>`) on the lifecycle
every other source uses; its subject is the reporter and the phone's idempotency key, so a
resend of the same report raises nothing. Nothing commits here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.alerts.drafts import AlertDraft, Tier
from zhian.alerts.service import AlertService
from zhian.errors import BadRequestError, NotFoundError
from zhian.maps.coords import distance_m
from zhian.patrol.models import PatrolCheckin
from zhian.registry.schemas import BuildingRead

PATROL_RULE = "patrol"
# How far from its patrol point a check-in may be sent: a building's registered point and
# a phone's position outdoors are each tens of metres off.
CHECKIN_RADIUS_M = 150.0
MAX_REPORT_CHARS = 1000
# A category a patrol may report, and the tier its alert opens with (who handles it).
CATEGORY_TIERS: dict[str, Tier] = {
    "hazard": "minor",  # 安全隐患: grid worker and property
    "facility": "minor",  # 设施损坏
    "public_order": "general",  # 治安问题: the community officer
    "fire": "general",  # 消防隐患
    "other": "minor",
}


@dataclass(frozen=True, slots=True)
class CheckinResult:
    checkin_id: int
    building_id: str
    distance_m: float
    replayed: bool


@dataclass(frozen=True, slots=True)
class PatrolReport:
    """A report as the phone sends it (the photos already uploaded and cleaned)."""

    category: str
    text: str
    point_id: str
    photos: tuple[str, ...]
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class CheckinRead:
    """A check-in as a supervisor sees it."""

    id: int
    user_id: int
    building_id: str
    community_id: str
    latitude: float
    longitude: float
    distance_m: float
    checked_in_at: datetime


class PatrolService:
    """Check-ins and reports of one user, within that user's scope."""

    def __init__(
        self,
        session: Session,
        *,
        buildings: Sequence[BuildingRead],
        scope: JurisdictionScope,
        user_id: int,
    ) -> None:
        self.session = session
        self.buildings = {building.id: building for building in buildings}
        self.scope = scope
        self.user_id = user_id

    def point(self, point_id: str) -> BuildingRead:
        """The patrol point in the user's jurisdiction, or 404 naming `point_id`."""
        building = self.buildings.get(point_id)
        if building is None or not self.scope.contains_community(building.community_id):
            raise NotFoundError(
                f"no patrol point '{point_id[:64]}' in your jurisdiction", field="point_id"
            )
        return building

    def checkins(
        self,
        *,
        user_id: int | None = None,
        building_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 500,
    ) -> list[CheckinRead]:
        """Check-ins at patrol points of the scope's communities, newest first; `until` is
        exclusive."""
        query = select(PatrolCheckin).where(self.scope.community_clause(PatrolCheckin.community_id))
        if user_id is not None:
            query = query.where(PatrolCheckin.user_id == user_id)
        if building_id:
            query = query.where(PatrolCheckin.building_id == building_id)
        if since is not None:
            query = query.where(PatrolCheckin.checked_in_at >= since)
        if until is not None:
            query = query.where(PatrolCheckin.checked_in_at < until)
        query = query.order_by(PatrolCheckin.checked_in_at.desc(), PatrolCheckin.id.desc())
        return [
            CheckinRead(
                id=row.id,
                user_id=row.user_id,
                building_id=row.building_id,
                community_id=row.community_id,
                latitude=row.latitude,
                longitude=row.longitude,
                distance_m=row.distance_m,
                checked_in_at=row.checked_in_at,
            )
            for row in self.session.scalars(query.limit(limit))
        ]

    def check_in(
        self, point_id: str, latitude: float, longitude: float, *, key: str, now: datetime
    ) -> CheckinResult:
        earlier = self.session.scalar(
            select(PatrolCheckin).where(
                PatrolCheckin.user_id == self.user_id, PatrolCheckin.idempotency_key == key
            )
        )
        if earlier is not None:
            return CheckinResult(earlier.id, earlier.building_id, earlier.distance_m, True)
        building = self.point(point_id)
        metres = distance_m((latitude, longitude), (building.latitude, building.longitude))
        if metres > CHECKIN_RADIUS_M:
            raise BadRequestError(
                f"the position is {metres:.0f} m from patrol point {building.id}; a check-in "
                f"must be within {CHECKIN_RADIUS_M:.0f} m of it",
                field="latitude",
            )
        row = PatrolCheckin(
            user_id=self.user_id,
            building_id=building.id,
            community_id=building.community_id,
            latitude=latitude,
            longitude=longitude,
            distance_m=round(metres, 1),
            idempotency_key=key,
            checked_in_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return CheckinResult(row.id, building.id, row.distance_m, False)

    def report(
        self, report: PatrolReport, *, key: str, alerts: AlertService, now: datetime
    ) -> int | None:
        """Raise the report's alert; None when this user's key already raised one."""
        subject = f"{self.user_id}:{key}"
        if alerts.subjects_raised(PATROL_RULE, {subject}):
            return None
        building = self.point(report.point_id)
        summary = report.text if len(report.text) <= 80 else report.text[:79] + "…"
        figures: dict[str, float | int | str] = {"reported_by": self.user_id}
        if report.latitude is not None and report.longitude is not None:
            figures |= {"latitude": report.latitude, "longitude": report.longitude}
        draft = AlertDraft(
            rule=PATROL_RULE,
            kind=f"patrol_{report.category}",
            tier=CATEGORY_TIERS[report.category],
            subject=subject,
            place_id=building.id,
            place_name=building.name,
            observed_at=now,
            explanation_zh=f"巡逻上报：{summary}",
            explanation_en=f"Patrol report: {summary}",
            community_id=building.community_id,
            images=report.photos,
            figures=figures,
        )
        [alert_id] = alerts.raise_drafts([draft])
        return alert_id
