"""Registration drafts completed or dismissed (一标三实, closing the loop by hand).

A draft (`RegistrationDraft`, made by `zhian.registry.loop` when an officer confirmed an
unregistered resident) is either completed into a resident record or dismissed with a
reason. Completing validates the resident exactly as an import does (`RegistryService.
load_rows`: the same columns, checks and sealing of identity fields) and refuses an id that
is already registered or a house outside the draft's community; the house's history then
records the registration. The caller checks permission and scope, audits, and owns the
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.errors import BadRequestError, ConflictError, NotFoundError
from zhian.registry.models import Building, House, HouseChange, RegistrationDraft, Resident, Unit
from zhian.registry.service import RegistryService

OPEN: Final = "open"
COMPLETED: Final = "completed"
DISMISSED: Final = "dismissed"
# The resident columns the completion form offers (those of a residents import).
RESIDENT_FIELDS: Final = ("id", "house_id", "birth_year", "is_floating", "name", "id_number",
                          "phone")  # fmt: skip
MAX_REASON: Final = 500
# A draft is due `registry.draft_due_days` after it was created (`zhian.registry.settings`):
# completed or dismissed by then, it counts as a registry task done on time (the
# assessment's `registry_tasks_completed`).


@dataclass(frozen=True)
class DraftRead:
    id: int
    community_id: str | None
    place_id: str
    alert_id: int
    created_at: datetime
    status: str


class DraftDesk:
    """Opens, completes and dismisses registration drafts within a user's scope."""

    def __init__(self, session: Session, registry: RegistryService) -> None:
        self.session = session
        self.registry = registry

    def get(self, draft_id: int, *, scope: JurisdictionScope) -> DraftRead:
        """The draft, or 404 when it does not exist or lies outside the scope."""
        row = self._row(draft_id, scope)
        return DraftRead(
            row.id, row.community_id, row.place_id, row.alert_id, row.created_at, row.status
        )

    def complete(
        self,
        draft_id: int,
        values: Mapping[str, str],
        *,
        scope: JurisdictionScope,
        user_id: int,
        at: datetime,
    ) -> str:
        """Register the resident the draft stands for; returns the resident id."""
        draft = self._open_row(draft_id, scope)
        row = {name: values.get(name, "").strip() for name in RESIDENT_FIELDS}
        if not row["id"]:
            raise BadRequestError("id is required", field="id")
        if self.session.get(Resident, row["id"]) is not None:
            raise ConflictError(f"resident {row['id']} is already registered", field="id")
        house = self.session.get(House, row["house_id"]) if row["house_id"] else None
        if house is None or self._community_of(house) != draft.community_id:
            raise BadRequestError("house_id must be a house of the draft's community",
                                  field="house_id")  # fmt: skip
        report = self.registry.load_rows("residents", [row])
        if report.errors:
            first = report.errors[0]
            raise BadRequestError(first.reason, field=first.column)
        draft.status = COMPLETED
        draft.decided_at = at
        self.session.add(
            HouseChange(
                house_id=house.id,
                at=at,
                change="registered",
                before=None,
                after=None,
                resident_id=row["id"],
                alert_id=draft.alert_id,
                user_id=user_id,
            )
        )
        return row["id"]

    def dismiss(self, draft_id: int, reason: str, *, scope: JurisdictionScope, at: datetime) -> str:
        """Close the draft without a registration; returns the reason as kept (audited)."""
        draft = self._open_row(draft_id, scope)
        reason = reason.strip()
        if not reason:
            raise BadRequestError("reason is required to dismiss a draft", field="reason")
        if len(reason) > MAX_REASON:
            raise BadRequestError(f"reason must be at most {MAX_REASON} characters",
                                  field="reason")  # fmt: skip
        draft.status = DISMISSED
        draft.decided_at = at
        return reason

    def _row(self, draft_id: int, scope: JurisdictionScope) -> RegistrationDraft:
        row = self.session.scalars(
            select(RegistrationDraft)
            .where(RegistrationDraft.id == draft_id)
            .where(scope.community_clause(RegistrationDraft.community_id))
        ).first()
        if row is None:
            raise NotFoundError(f"registration draft {draft_id} not found")
        return row

    def _open_row(self, draft_id: int, scope: JurisdictionScope) -> RegistrationDraft:
        row = self._row(draft_id, scope)
        if row.status != OPEN:
            raise ConflictError(f"registration draft {draft_id} is already {row.status}")
        return row

    def _community_of(self, house: House) -> str | None:
        return self.session.scalar(
            select(Building.community_id)
            .join(Unit, Unit.building_id == Building.id)
            .where(Unit.id == house.unit_id)
        )
