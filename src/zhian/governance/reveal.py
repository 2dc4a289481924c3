"""Identity masked by default; a reveal needs a permitted role and a purpose, and is audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope
from zhian.access.service import UserRead
from zhian.audit.service import Actor, AuditService
from zhian.errors import BadRequestError, ForbiddenError, NotFoundError
from zhian.governance.identity import IdentitySealer
from zhian.governance.masking import mask
from zhian.registry.identity import SEALED_COLUMNS
from zhian.registry.models import Resident
from zhian.registry.repository import RegistryRepository

IdentityField = Literal["name", "id_number", "phone"]
IDENTITY_FIELDS: tuple[IdentityField, ...] = ("name", "id_number", "phone")

# Police roles that work cases. Grid workers, property and unit security see masked
# values only; auditors see who revealed what, not the values; admins run the node.
REVEAL_ROLES: frozenset[Role] = frozenset(
    {Role.COMMAND_CENTRE, Role.STATION_OFFICER, Role.COMMUNITY_OFFICER, Role.ANALYST}
)
REVEAL_ACTION = "resident.reveal"
MIN_REASON_CHARS = 4
_CASE_NUMBER = re.compile(r"[A-Za-z0-9\-_/.]{4,64}")


@dataclass(frozen=True)
class Purpose:
    """Why a value is revealed: a case number (案件编号), or a stated reason, or both."""

    case_number: str | None = None
    reason: str | None = None

    def checked(self) -> Purpose:
        """The purpose with blanks trimmed, or BadRequestError naming what is missing."""
        case_number = (self.case_number or "").strip() or None
        reason = " ".join((self.reason or "").split()) or None
        if case_number is None and reason is None:
            raise BadRequestError("state a purpose: a case number or a reason", field="purpose")
        if case_number is not None and not _CASE_NUMBER.fullmatch(case_number):
            raise BadRequestError(
                "case number must be 4-64 letters, digits or - _ / .", field="case_number"
            )
        if reason is not None and len(reason) < MIN_REASON_CHARS:
            raise BadRequestError(
                f"reason must say why in at least {MIN_REASON_CHARS} characters", field="reason"
            )
        if reason is not None and len(reason) > 500:
            raise BadRequestError("reason must be at most 500 characters", field="reason")
        return Purpose(case_number, reason)


@dataclass(frozen=True)
class MaskedIdentity:
    """A resident's identity as every page shows it: masked (张*, 138****5678)."""

    resident_id: str
    name: str | None
    id_number: str | None
    phone: str | None


class RevealService:
    """Opens sealed identity fields: masked for everyone, in clear for a permitted role with
    a stated purpose, each reveal written to the audit log in the caller's transaction."""

    def __init__(self, session: Session, *, sealer: IdentitySealer, audit: AuditService) -> None:
        self._session = session
        self._sealer = sealer
        self._audit = audit

    def masked(self, resident_id: str, *, scope: JurisdictionScope) -> MaskedIdentity:
        resident = self._resident(resident_id, scope)
        values = {field: self._open(resident, field) for field in IDENTITY_FIELDS}
        return MaskedIdentity(
            resident_id=resident.id,
            name=mask("name", values["name"]),
            id_number=mask("id_number", values["id_number"]),
            phone=mask("phone", values["phone"]),
        )

    def reveal(
        self,
        user: UserRead,
        resident_id: str,
        field: IdentityField,
        purpose: Purpose,
        *,
        scope: JurisdictionScope,
        ip: str | None = None,
    ) -> str:
        """The clear value of one identity field, audited as `resident.reveal`."""
        if field not in IDENTITY_FIELDS:
            raise BadRequestError(
                f"'{field}' is not an identity field; use one of {', '.join(IDENTITY_FIELDS)}",
                field="field",
            )
        if not user.is_active or user.role not in REVEAL_ROLES:
            raise ForbiddenError(
                f"the role '{user.role}' may not reveal identity fields", field="role"
            )
        stated = purpose.checked()
        resident = self._resident(resident_id, scope)
        value = self._open(resident, field)
        if value is None:
            raise NotFoundError(f"resident '{resident_id}' has no {field} on record", field=field)
        self._audit.record(
            Actor.user(user.id),
            REVEAL_ACTION,
            record_type="resident",
            record_ids=[resident.id],
            ip=ip,
            purpose=stated.reason,
            case_number=stated.case_number,
            details={"field": field, "username": user.username, "role": str(user.role)},
        )
        return value

    def _resident(self, resident_id: str, scope: JurisdictionScope) -> Resident:
        # Outside the reader's scope reads exactly as absent: the reveal learns nothing.
        resident = RegistryRepository(self._session).resident(resident_id, scope=scope)
        if resident is None:
            raise NotFoundError(f"unknown resident '{resident_id[:64]}'", field="resident_id")
        return resident

    def _open(self, resident: Resident, field: IdentityField) -> str | None:
        column = SEALED_COLUMNS[field]
        sealed: bytes | None = getattr(resident, column)
        if sealed is None:
            return None
        return self._sealer.open("residents", column, resident.id, sealed)
