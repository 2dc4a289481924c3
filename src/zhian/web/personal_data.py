"""Personal data on pages: masked event summaries by default, audited unmasked reads.

What counts as personal data (DESIGN.md, "Responsible use"): plates, resident and card
references (subject refs) and face captures. The event store holds plates and subject refs
only as tokens and masked forms, so lists show them masked;
a user holding `personal_data.reveal` may ask for them in the clear by stating a purpose
(case number or reason), and that read is audited with the records it showed. A refused
request is audited too, in its own transaction (the request itself then fails).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from starlette.requests import Request

from zhian.access.service import UserRead
from zhian.audit.service import Actor
from zhian.errors import ForbiddenError, ZhianError
from zhian.governance.reveal import Purpose
from zhian.node import Node
from zhian.store.queries import StoredEventSummary

REVEAL_PERMISSION = "personal_data.reveal"


def unmasked_events(node: Node, events: list[StoredEventSummary]) -> list[StoredEventSummary]:
    """The events with the masked plates and subject refs of their summaries in the clear,
    opened from the identifier vault (the caller checked the permission and audits)."""
    tokens = {token for event in events for token in event.identifiers}
    with node.db.session() as session:
        clear = node.vault.reveal(session, tokens)
    shown = []
    for event in events:
        summary = event.summary
        for token in event.identifiers:
            if token in clear:
                summary = summary.replace(clear[token].masked, clear[token].value, 1)
        shown.append(msgspec.structs.replace(event, summary=summary))
    return shown


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
    node: Node,
    user: UserRead,
    request: Request,
    *,
    action: str,
    record_type: str,
    record_ids: Iterable[str] = (),
) -> Purpose:
    """The purpose of an unmasked read, or the refusal, audited in its own transaction
    (naming `record_ids` when the read was for known records)."""
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
                record_ids=list(record_ids),
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
