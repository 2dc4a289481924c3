"""The one reveal service: personal data is masked by default; showing it in the clear
needs `personal_data.reveal`, a stated purpose and the reader's scope, and is audited.

Every page and API that shows personal data in the clear goes through `RevealService`:
a resident's identity field (sealed columns), identifiers in the vault (a watchlist plate
of an alert, the plates and subject refs of event summaries), and audited reads of
personal data that need no purpose (a resident's masked page, an evidence image).
A successful reveal is audited in the caller's transaction (the request commits once). A
refused one is handed to `refusals` (`RefusalSink`), which writes it in a transaction of
its own: the request that was refused rolls back, its refusal must still be on record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.access.service import UserRead
from zhian.audit.service import Actor, AuditService
from zhian.errors import BadRequestError, ForbiddenError, NotFoundError, ZhianError
from zhian.governance.identity import IdentitySealer
from zhian.governance.masking import mask
from zhian.governance.vault import IdentifierVault, RevealedIdentifier
from zhian.registry.identity import SEALED_COLUMNS
from zhian.registry.models import Resident
from zhian.registry.repository import RegistryRepository

IdentityField = Literal["name", "id_number", "phone"]
IDENTITY_FIELDS: tuple[IdentityField, ...] = ("name", "id_number", "phone")

# The permission of a reveal (zhian.access.permissions): police roles that work cases and
# analysts hold it. Grid workers, property and unit security see masked values only;
# auditors see who revealed what, not the values; admins run the node; API tokens never
# carry it.
REVEAL_PERMISSION = "personal_data.reveal"
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


@dataclass(frozen=True)
class RevealRead:
    """What one reveal (or audited read) is about, as the audit log records it."""

    action: str  # e.g. `resident.reveal`, `alert.reveal_plate`; `.refused` is appended
    record_type: str
    record_ids: tuple[str, ...] = ()
    ip: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RefusedReveal:
    """A refused reveal, to be audited even though the request that asked fails."""

    user_id: int
    read: RevealRead
    purpose: Purpose
    error: ZhianError


RefusalSink = Callable[[RefusedReveal], None]


def record_refusal(audit: AuditService, refused: RefusedReveal) -> None:
    """Write one refused reveal as `<action>.refused` (in the sink's own transaction)."""
    read = refused.read
    audit.record(
        Actor.user(refused.user_id),
        f"{read.action}.refused",
        record_type=read.record_type,
        record_ids=list(read.record_ids),
        ip=read.ip,
        purpose=(refused.purpose.reason or "")[:500] or None,
        case_number=(refused.purpose.case_number or "")[:64] or None,
        details={**read.details, "field": refused.error.field, "reason": refused.error.message},
    )


class RevealService:
    """Opens personal data for one reader: masked for everyone; in the clear for a holder
    of `personal_data.reveal` with a stated purpose, within the reader's scope. Each reveal
    and audited read is written to the audit log in the caller's transaction (nothing
    commits here); each refusal goes to `refusals`."""

    def __init__(
        self,
        session: Session,
        *,
        audit: AuditService,
        refusals: RefusalSink,
        vault: IdentifierVault | None = None,
        sealer: IdentitySealer | None = None,
    ) -> None:
        self._session = session
        self._audit = audit
        self._refusals = refusals
        self._vault = vault
        self._sealer = sealer

    # -- the checks every reveal makes ------------------------------------------------------

    def authorise(self, user: UserRead, purpose: Purpose, read: RevealRead) -> Purpose:
        """The checked purpose, or the refusal (403 without the permission, 400 without a
        purpose), handed to `refusals` before it is raised."""
        try:
            if not user.is_active or not user.can(REVEAL_PERMISSION):
                raise ForbiddenError(
                    f"showing personal data in the clear needs the permission "
                    f"'{REVEAL_PERMISSION}'; role '{user.role}' does not hold it",
                    field="permission",
                )
            return purpose.checked()
        except (BadRequestError, ForbiddenError) as error:
            self.refuse(user, purpose, read, error)
            raise

    def refuse(self, user: UserRead, purpose: Purpose, read: RevealRead, error: ZhianError) -> None:
        """Record a refusal found by the caller (e.g. an unknown field) with the others."""
        self._refusals(RefusedReveal(user.id, read, purpose, error))

    def record_read(
        self, user: UserRead, read: RevealRead, *, purpose: Purpose | None = None
    ) -> None:
        """One audit entry for a read of personal data (a reveal, a page, an image)."""
        self._audit.record(
            Actor.user(user.id),
            read.action,
            record_type=read.record_type,
            record_ids=list(read.record_ids),
            ip=read.ip,
            purpose=purpose.reason if purpose else None,
            case_number=purpose.case_number if purpose else None,
            details=dict(read.details) or None,
        )

    # -- residents' identity fields -------------------------------------------------------

    def masked(self, resident_id: str, *, scope: JurisdictionScope) -> MaskedIdentity | None:
        """The masked identity, or None when the node has no key ring to open it."""
        if self._sealer is None:
            return None
        resident = self._resident(resident_id, scope)
        values = {name: self._open(resident, name) for name in IDENTITY_FIELDS}
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
        field_name: str,
        purpose: Purpose,
        *,
        scope: JurisdictionScope,
        ip: str | None = None,
    ) -> str:
        """The clear value of one identity field, audited as `resident.reveal`.

        404 outside the scope (nothing audited: the resident's existence is not
        disclosed); an unknown field, no permission or no purpose is a refusal.
        """
        resident = self._resident(resident_id, scope)
        read = RevealRead(
            REVEAL_ACTION,
            "resident",
            (resident.id,),
            ip,
            {"identity_field": field_name[:40]},
        )
        if field_name not in IDENTITY_FIELDS:
            error = BadRequestError(
                f"'{field_name[:40]}' is not an identity field; use one of "
                f"{', '.join(IDENTITY_FIELDS)}",
                field="field",
            )
            self.refuse(user, purpose, read, error)
            raise error
        stated = self.authorise(user, purpose, read)
        value = self._open(resident, field_name)
        if value is None:
            missing = NotFoundError(
                f"resident '{resident_id}' has no {field_name} on record", field=field_name
            )
            self.refuse(user, purpose, read, missing)
            raise missing
        self.record_read(
            user,
            RevealRead(
                REVEAL_ACTION,
                "resident",
                (resident.id,),
                ip,
                {"field": field_name, "username": user.username, "role": str(user.role)},
            ),
            purpose=stated,
        )
        return value

    def _resident(self, resident_id: str, scope: JurisdictionScope) -> Resident:
        # Outside the reader's scope reads exactly as absent: the reveal learns nothing.
        resident = RegistryRepository(self._session).resident(resident_id, scope=scope)
        if resident is None:
            raise NotFoundError(f"unknown resident '{resident_id[:64]}'", field="resident_id")
        return resident

    def _open(self, resident: Resident, name: IdentityField) -> str | None:
        column = SEALED_COLUMNS[name]
        sealed: bytes | None = getattr(resident, column)
        if sealed is None:
            return None
        if self._sealer is None:
            raise NotFoundError("this node has no key ring to open identity fields", field=name)
        return self._sealer.open("residents", column, resident.id, sealed)

    # -- identifiers in the vault (plates, subject refs) ---------------------------------

    def identifiers(
        self, user: UserRead, tokens: Iterable[str], purpose: Purpose, read: RevealRead
    ) -> dict[str, RevealedIdentifier]:
        """The clear values of vault `tokens` for a checked purpose, audited as `read`
        (the caller checked that the records holding the tokens lie in the user's scope)."""
        stated = self.authorise(user, purpose, read)
        return self.opened(tokens, user=user, purpose=stated, read=read)

    def opened(
        self, tokens: Iterable[str], *, user: UserRead, purpose: Purpose, read: RevealRead
    ) -> dict[str, RevealedIdentifier]:
        """Open `tokens` after `authorise`, audited as `read` (for a read whose records are
        known only once the purpose is accepted, such as the newest events)."""
        if self._vault is None:
            raise NotFoundError("this node has no identifier vault", field="token")
        clear = self._vault.reveal(self._session, tokens)
        self.record_read(user, read, purpose=purpose)
        return clear
