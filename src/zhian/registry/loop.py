"""Closing the registry loop (一标三实): what an officer's confirmation of a model's finding
changes in the registry.

An alert of a housing model closed as resolved (the officer confirmed it on site) changes
the registry here, and each change is kept in the house's history (`HouseChange`):
- a vacant house (`model.vacant_house`): its registered use becomes idle;
- a group rental (`model.group_rental`): its registered use becomes rented (a group
  rental is a rental; the history records that it was found over-occupied);
- a move-out (`model.moved_out`): the residence ends (`Resident.moved_out_at`) for the
  resident named, or for every current resident when the whole household left;
- an unregistered resident (`model.unregistered_resident`): a registration draft for the
  officer to complete (`RegistrationDraft`), naming the subject as devices do (a token).
Other findings change nothing. The caller audits the changes and owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.registry.models import (
    House,
    HouseChange,
    RegisteredUse,
    RegistrationDraft,
    Resident,
)

VACANT = "model.vacant_house"
GROUP_RENTAL = "model.group_rental"
MOVED_OUT = "model.moved_out"
UNREGISTERED = "model.unregistered_resident"
LOOP_RULES = frozenset({VACANT, GROUP_RENTAL, MOVED_OUT, UNREGISTERED})


@dataclass(frozen=True)
class ConfirmedFinding:
    """A model's finding an officer confirmed: the alert's rule, subject and place."""

    alert_id: int
    rule: str
    subject: str
    place_id: str
    community_id: str | None
    user_id: int | None
    at: datetime


@dataclass(frozen=True)
class RegistryUpdate:
    """What one confirmation changed (for the audit entry and the response)."""

    change: str  # registered_use | moved_out | registration_draft
    record_type: str  # house | resident | registration_draft
    record_ids: tuple[str, ...]
    after: str | None = None


@dataclass(frozen=True)
class HouseChangeRead:
    at: datetime
    change: str
    before: str | None
    after: str | None
    resident_id: str | None
    alert_id: int | None
    user_id: int | None


@dataclass(frozen=True)
class RegistrationDraftRead:
    """An open registration draft; the subject (a token) stays out of pages."""

    id: int
    place_id: str
    alert_id: int
    created_at: datetime


class RegistryLoop:
    """Applies confirmed findings to the registry; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def apply(self, finding: ConfirmedFinding) -> list[RegistryUpdate]:
        if finding.rule in (VACANT, GROUP_RENTAL):
            use = RegisteredUse.IDLE if finding.rule == VACANT else RegisteredUse.RENTED
            return self._set_use(finding, use)
        if finding.rule == MOVED_OUT:
            return self._move_out(finding)
        if finding.rule == UNREGISTERED:
            return self._draft(finding)
        return []

    def _set_use(self, finding: ConfirmedFinding, use: RegisteredUse) -> list[RegistryUpdate]:
        house = self.session.get(House, finding.place_id)
        if house is None:
            return []
        before = house.registered_use
        house.registered_use = use.value
        change = "group_rental" if finding.rule == GROUP_RENTAL else "registered_use"
        self._record(finding, house.id, change, before, use.value)
        return [RegistryUpdate("registered_use", "house", (house.id,), use.value)]

    def _move_out(self, finding: ConfirmedFinding) -> list[RegistryUpdate]:
        # The household's alert names the house as subject; a single resident's, the resident.
        query = select(Resident).where(Resident.house_id == finding.place_id)
        query = query.where(Resident.moved_out_at.is_(None))
        if finding.subject != finding.place_id:
            query = query.where(Resident.id == finding.subject)
        residents = list(self.session.scalars(query.order_by(Resident.id)))
        for resident in residents:
            resident.moved_out_at = finding.at
            self._record(finding, resident.house_id, "moved_out", None, None, resident.id)
        if not residents:
            return []
        return [RegistryUpdate("moved_out", "resident", tuple(r.id for r in residents))]

    def _draft(self, finding: ConfirmedFinding) -> list[RegistryUpdate]:
        exists = self.session.scalar(
            select(RegistrationDraft.id).where(RegistrationDraft.alert_id == finding.alert_id)
        )
        if exists is not None:
            return []
        draft = RegistrationDraft(
            community_id=finding.community_id,
            place_id=finding.place_id,
            subject=finding.subject,
            alert_id=finding.alert_id,
            created_at=finding.at,
            created_by=finding.user_id,
            status="open",
        )
        self.session.add(draft)
        self.session.flush()
        return [RegistryUpdate("registration_draft", "registration_draft", (str(draft.id),))]

    def _record(
        self,
        finding: ConfirmedFinding,
        house_id: str,
        change: str,
        before: str | None,
        after: str | None,
        resident_id: str | None = None,
    ) -> None:
        self.session.add(
            HouseChange(
                house_id=house_id,
                at=finding.at,
                change=change,
                before=before,
                after=after,
                resident_id=resident_id,
                alert_id=finding.alert_id,
                user_id=finding.user_id,
            )
        )

    def history(self, house_id: str) -> list[HouseChangeRead]:
        """The house's changes, newest first (the caller checked the scope)."""
        rows = self.session.scalars(
            select(HouseChange)
            .where(HouseChange.house_id == house_id)
            .order_by(HouseChange.at.desc(), HouseChange.id.desc())
        )
        return [
            HouseChangeRead(r.at, r.change, r.before, r.after, r.resident_id, r.alert_id, r.user_id)
            for r in rows
        ]

    def open_drafts(self, community_id: str) -> list[RegistrationDraftRead]:
        """The community's open registration drafts, oldest first (the caller checked the
        scope)."""
        rows = self.session.scalars(
            select(RegistrationDraft)
            .where(RegistrationDraft.community_id == community_id)
            .where(RegistrationDraft.status == "open")
            .order_by(RegistrationDraft.id)
        )
        return [RegistrationDraftRead(r.id, r.place_id, r.alert_id, r.created_at) for r in rows]
