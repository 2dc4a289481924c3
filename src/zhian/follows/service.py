"""Following persons, vehicles and houses (辖区关注). The caller owns the transaction and
audits; nothing here commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.errors import BadRequestError, ConflictError, NotFoundError
from zhian.follows.models import Follow, FollowKind
from zhian.follows.repository import FollowRepository
from zhian.registry.archive import ArchiveReader
from zhian.registry.service import RegistryService

MAX_REASON_CHARS = 500
MIN_PERSON_REASON_CHARS = 4


@dataclass(frozen=True)
class FollowRead:
    id: int
    kind: FollowKind
    subject_id: str
    reason: str | None
    created_at: datetime


def _read(row: Follow) -> FollowRead:
    return FollowRead(
        id=row.id,
        kind=FollowKind(row.kind),
        subject_id=row.subject_id,
        reason=row.reason,
        created_at=row.created_at,
    )


class FollowService:
    """An officer's follow list; each subject must lie in the officer's scope."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.repository = FollowRepository(session)

    def follow(
        self,
        user_id: int,
        kind: str,
        subject_id: str,
        *,
        reason: str,
        scope: JurisdictionScope,
        now: datetime,
    ) -> FollowRead:
        """Follow a subject. A person needs a stated reason (at least four characters);
        a subject outside the scope is 404, as one that does not exist; twice is 409."""
        try:
            follow_kind = FollowKind(kind)
        except ValueError:
            allowed = ", ".join(k.value for k in FollowKind)
            raise BadRequestError(f"'{kind[:32]}' is not one of: {allowed}", field="kind") from None
        reason = reason.strip()
        if len(reason) > MAX_REASON_CHARS:
            raise BadRequestError(
                f"the reason is {len(reason)} characters; at most {MAX_REASON_CHARS}",
                field="reason",
            )
        if follow_kind is FollowKind.PERSON and len(reason) < MIN_PERSON_REASON_CHARS:
            raise BadRequestError(
                "following a person needs a stated reason (a case number or why, at least "
                f"{MIN_PERSON_REASON_CHARS} characters)",
                field="reason",
            )
        self._check_visible(follow_kind, subject_id, scope)
        if self.repository.find(user_id, follow_kind.value, subject_id) is not None:
            raise ConflictError(f"you already follow {kind} '{subject_id}'", field="subject_id")
        row = Follow(
            user_id=user_id,
            kind=follow_kind.value,
            subject_id=subject_id,
            reason=reason or None,
            created_at=now,
        )
        self.repository.add(row)
        return _read(row)

    def unfollow(self, user_id: int, follow_id: int) -> None:
        if self.repository.remove(user_id, follow_id) == 0:
            raise NotFoundError(f"you follow nothing with id {follow_id}", field="follow_id")

    def follows_of(self, user_id: int) -> list[FollowRead]:
        return [_read(row) for row in self.repository.of_user(user_id)]

    def find(self, user_id: int, kind: FollowKind, subject_id: str) -> FollowRead | None:
        row = self.repository.find(user_id, kind.value, subject_id)
        return None if row is None else _read(row)

    def _check_visible(self, kind: FollowKind, subject_id: str, scope: JurisdictionScope) -> None:
        if kind is FollowKind.PERSON:
            RegistryService(self.session).resident(subject_id, scope=scope)
        elif kind is FollowKind.VEHICLE:
            ArchiveReader(self.session).vehicle(subject_id, scope=scope)
        else:
            ArchiveReader(self.session).house(subject_id, scope=scope)
