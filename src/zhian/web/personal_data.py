"""Personal data on pages: masked event summaries by default, audited unmasked reads.

What counts as personal data (DESIGN.md, "Responsible use"): plates, resident and card
references (subject refs) and face captures. Lists show plates and subject refs masked;
a user holding `personal_data.reveal` may ask for them in the clear by stating a purpose
(case number or reason), and that read is audited with the records it showed. A refused
request is audited too, in its own transaction (the request itself then fails).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request

from zhian.access.service import UserRead
from zhian.audit.service import Actor
from zhian.errors import ForbiddenError, ZhianError
from zhian.governance.masking import mask_plate
from zhian.governance.reveal import Purpose
from zhian.node import Node
from zhian.store.events import StoredEventSummary

REVEAL_PERMISSION = "personal_data.reveal"
_SEPARATOR = " · "
# The subject kinds an event summary ends with ("resident R0001").
_SUBJECT_KINDS = ("resident", "card", "face_cluster", "visitor", "qr")


def mask_ref(value: str) -> str:
    """R0***01: the first character and the last two, a star for each one between."""
    if len(value) <= 3:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 3) + value[-2:]


def mask_summary(event_type: str, summary: str) -> str:
    """An event's one-line summary with its plate and subject reference masked.

    The summaries are built by the event store (`concat_ws(' · ', ...)`): a vehicle's
    plate is the second part (after the direction); a subject is a part "<kind> <ref>".
    """
    parts = summary.split(_SEPARATOR)
    if event_type == "vehicle" and len(parts) >= 2:
        parts[1] = mask_plate(parts[1])
    for index, part in enumerate(parts):
        kind, _, ref = part.partition(" ")
        if kind in _SUBJECT_KINDS and ref:
            parts[index] = f"{kind} {mask_ref(ref)}"
    return _SEPARATOR.join(parts)


def masked_events(events: Iterable[StoredEventSummary]) -> list[StoredEventSummary]:
    return [
        StoredEventSummary(
            type=event.type,
            seq=event.seq,
            event_id=event.event_id,
            device_id=event.device_id,
            time=event.time,
            received_at=event.received_at,
            source=event.source,
            summary=mask_summary(event.type, event.summary),
        )
        for event in events
    ]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def wants_unmasked(params: Mapping[str, str]) -> bool:
    return params.get("reveal") == "1"


def purpose_of(params: Mapping[str, str]) -> Purpose:
    """The stated purpose from `case_number` / `reason`; 400 names what is missing."""
    return Purpose(
        case_number=params.get("case_number") or None, reason=params.get("reason") or None
    ).checked()


def check_unmasked_read(
    node: Node, user: UserRead, request: Request, *, action: str, record_type: str
) -> Purpose:
    """The purpose of an unmasked read, or the refusal, audited in its own transaction."""
    try:
        if not user.can(REVEAL_PERMISSION):
            raise ForbiddenError(
                f"showing personal data in the clear needs the permission "
                f"'{REVEAL_PERMISSION}'; role '{user.role}' does not hold it",
                field="permission",
            )
        return purpose_of(request.query_params)
    except ZhianError as error:
        with node.db.session() as session:
            node.governance.audit(session).record(
                Actor.user(user.id),
                f"{action}.refused",
                record_type=record_type,
                ip=client_ip(request),
                purpose=(request.query_params.get("reason") or None),
                case_number=(request.query_params.get("case_number") or "")[:64] or None,
                details={"field": error.field, "reason": error.message},
            )
        raise


def audit_read(
    node: Node,
    user: UserRead,
    request: Request,
    *,
    action: str,
    record_type: str,
    record_ids: Iterable[str],
    purpose: Purpose | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """One audit entry for a read of personal data (committed before the page is sent)."""
    with node.db.session() as session:
        node.governance.audit(session).record(
            Actor.user(user.id),
            action,
            record_type=record_type,
            record_ids=list(record_ids),
            ip=client_ip(request),
            purpose=purpose.reason if purpose else None,
            case_number=purpose.case_number if purpose else None,
            details=details,
        )
