"""Patrol units' positions, only while on duty (opt-in per user, from the phone).

A unit is on duty from its "on duty" report to its "off duty" one; off duty its row is
deleted, so no position of an off-duty user is kept or shown. A position older than
`POSITION_MAX_AGE` (the phone stopped reporting: closed, no network) is not shown and is
deleted at the next duty report of anyone. Nothing commits here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.patrol.models import PatrolPosition

POSITION_MAX_AGE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class UnitPosition:
    user_id: int
    latitude: float
    longitude: float
    reported_at: datetime


def report_duty(
    session: Session,
    *,
    user_id: int,
    jurisdiction_id: str | None,
    position: tuple[float, float] | None,
    now: datetime,
) -> None:
    """On duty at `position` (a new position replaces the last), or off duty (None)."""
    session.execute(
        delete(PatrolPosition).where(PatrolPosition.reported_at < now - POSITION_MAX_AGE)
    )
    row = session.get(PatrolPosition, user_id)
    if position is None:
        if row is not None:
            session.delete(row)
        return
    latitude, longitude = position
    if row is None:
        row = PatrolPosition(user_id=user_id)
        session.add(row)
    row.jurisdiction_id = jurisdiction_id
    row.latitude, row.longitude, row.reported_at = latitude, longitude, now
    session.flush()


def units_on_duty(
    session: Session, *, scope: JurisdictionScope, now: datetime
) -> list[UnitPosition]:
    """Units on duty in `scope` whose position is fresh, by user id."""
    rows = session.scalars(
        select(PatrolPosition)
        .where(PatrolPosition.reported_at >= now - POSITION_MAX_AGE)
        .order_by(PatrolPosition.user_id)
    )
    return [
        UnitPosition(row.user_id, row.latitude, row.longitude, row.reported_at)
        for row in rows
        if scope.contains(row.jurisdiction_id)
    ]
