"""Every query on the follow table."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from zhian.follows.models import Follow


class FollowRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def of_user(self, user_id: int) -> list[Follow]:
        statement = select(Follow).where(Follow.user_id == user_id)
        return list(self.session.scalars(statement.order_by(Follow.created_at.desc(), Follow.id)))

    def find(self, user_id: int, kind: str, subject_id: str) -> Follow | None:
        statement = select(Follow).where(
            Follow.user_id == user_id, Follow.kind == kind, Follow.subject_id == subject_id
        )
        return self.session.scalars(statement).first()

    def add(self, follow: Follow) -> None:
        self.session.add(follow)
        self.session.flush()

    def remove(self, user_id: int, follow_id: int) -> int:
        result = self.session.execute(
            delete(Follow).where(Follow.id == follow_id, Follow.user_id == user_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)
