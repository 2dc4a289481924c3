"""Legal holds: records linked to an open case are kept past their retention until released."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from zhian.audit.service import Actor, AuditService
from zhian.errors import BadRequestError, ConflictError, NotFoundError
from zhian.governance.models import LegalHold
from zhian.kit.clock import Clock

RefKind = Literal["subject", "device", "plate", "event"]
REF_KINDS: tuple[str, ...] = get_args(RefKind)
ALL_CLASSES = "all"


class LegalHoldRead(BaseModel):
    """A legal hold as pages list it."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    data_class: str
    ref_kind: str
    ref: str
    case_number: str
    reason: str
    created_by: str
    created_at: datetime
    until: datetime | None
    released_at: datetime | None
    released_by: str | None


class LegalHoldService:
    """Places and releases holds, each audited; the caller owns the transaction."""

    def __init__(
        self, session: Session, *, clock: Clock, audit: AuditService, data_classes: tuple[str, ...]
    ) -> None:
        self._session = session
        self._clock = clock
        self._audit = audit
        self._data_classes = data_classes

    def place(
        self,
        actor: Actor,
        *,
        data_class: str,
        ref_kind: RefKind,
        ref: str,
        case_number: str,
        reason: str,
        until: datetime | None = None,
    ) -> LegalHoldRead:
        """Hold records of `data_class` (or `all`) that `ref` names, for a case."""
        if data_class != ALL_CLASSES and data_class not in self._data_classes:
            choices = ", ".join((ALL_CLASSES, *self._data_classes))
            raise BadRequestError(
                f"unknown data class '{data_class}'; use one of {choices}", field="data_class"
            )
        if ref_kind not in REF_KINDS:
            raise BadRequestError(
                f"unknown reference kind '{ref_kind}'; use one of {', '.join(REF_KINDS)}",
                field="ref_kind",
            )
        if ref_kind == "event" and "/" not in ref:
            raise BadRequestError("an event is named as device_id/event_id", field="ref")
        if not ref.strip():
            raise BadRequestError("must not be empty", field="ref")
        if not case_number.strip():
            raise BadRequestError("a legal hold needs a case number", field="case_number")
        if not reason.strip():
            raise BadRequestError("a legal hold needs a reason", field="reason")
        now = self._clock.now()
        if until is not None and until <= now:
            raise BadRequestError("must lie in the future", field="until")
        hold = LegalHold(
            data_class=data_class,
            ref_kind=ref_kind,
            ref=ref.strip(),
            case_number=case_number.strip(),
            reason=reason.strip(),
            created_by=f"{actor.type}:{actor.id}",
            created_at=now,
            until=until,
        )
        self._session.add(hold)
        self._session.flush()
        self._audit.record(
            actor,
            "legal_hold.place",
            record_type="legal_hold",
            record_ids=[str(hold.id)],
            case_number=hold.case_number,
            purpose=hold.reason,
            details={"data_class": data_class, "ref_kind": ref_kind, "ref": hold.ref},
        )
        return LegalHoldRead.model_validate(hold)

    def release(self, hold_id: int, actor: Actor, *, reason: str) -> LegalHoldRead:
        """End a hold (the case closed); its records fall back under their retention."""
        hold = self._session.get(LegalHold, hold_id)
        if hold is None:
            raise NotFoundError(f"unknown legal hold {hold_id}", field="hold_id")
        if hold.released_at is not None:
            raise ConflictError(f"legal hold {hold_id} is already released", field="hold_id")
        hold.released_at = self._clock.now()
        hold.released_by = f"{actor.type}:{actor.id}"
        self._audit.record(
            actor,
            "legal_hold.release",
            record_type="legal_hold",
            record_ids=[str(hold.id)],
            case_number=hold.case_number,
            purpose=reason,
        )
        return LegalHoldRead.model_validate(hold)

    def active(self, data_class: str | None = None) -> list[LegalHoldRead]:
        """Holds in force now, for one data class (with those on `all`) or every class."""
        now = self._clock.now()
        query = (
            select(LegalHold)
            .where(LegalHold.released_at.is_(None))
            .where(or_(LegalHold.until.is_(None), LegalHold.until > now))
            .order_by(LegalHold.id)
        )
        if data_class is not None:
            query = query.where(LegalHold.data_class.in_([data_class, ALL_CLASSES]))
        return [LegalHoldRead.model_validate(hold) for hold in self._session.scalars(query)]
