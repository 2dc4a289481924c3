"""Personal data on pages: what a request asks to see in the clear, and event summaries
opened through the reveal service.

What counts as personal data (DESIGN.md, "Responsible use"): plates, resident and card
references (subject refs) and face captures. Lists show them masked; `reveal=1` with a
purpose (`case_number` / `reason`) asks for them in the clear, which
`zhian.governance.reveal.RevealService` alone decides, opens and audits.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from zhian.governance.reveal import Purpose, RevealRead
from zhian.store.queries import StoredEventSummary
from zhian.web.deps import RequestContext


def wants_unmasked(params: Mapping[str, str]) -> bool:
    return params.get("reveal") == "1"


def stated_purpose(params: Mapping[str, str]) -> Purpose:
    """The purpose as the request states it (`case_number`, `reason`), not yet checked."""
    return Purpose(
        case_number=params.get("case_number") or None, reason=params.get("reason") or None
    )


def unmasked_events(
    context: RequestContext,
    events: list[StoredEventSummary],
    purpose: Purpose,
    read: RevealRead,
) -> list[StoredEventSummary]:
    """The events with the masked plates and subject refs of their summaries in the clear,
    opened and audited (naming the events) by the reveal service after `authorise`."""
    tokens = {token for event in events for token in event.identifiers}
    read = RevealRead(
        read.action,
        read.record_type,
        tuple(f"{event.device_id}/{event.event_id}" for event in events),
        read.ip,
        read.details,
    )
    clear = context.reveal.opened(tokens, user=context.user, purpose=purpose, read=read)
    shown = []
    for event in events:
        summary = event.summary
        for token in event.identifiers:
            if token in clear:
                summary = summary.replace(clear[token].masked, clear[token].value, 1)
        shown.append(msgspec.structs.replace(event, summary=summary))
    return shown
