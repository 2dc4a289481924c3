"""The quarantine page: refused input, filterable by reason, device and source, with the
raw item (identity values masked) and its field/reason list, replayable after a fix.

Items are those of devices in the user's jurisdiction (through the device's community;
the scope is applied in `QuarantineRepository`); items naming no device are for unscoped
users only. A replay is audited.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse

from zhian.audit.service import Actor
from zhian.errors import BadRequestError, ForbiddenError, NotFoundError
from zhian.governance.reveal import REVEAL_PERMISSION, Purpose, RevealRead
from zhian.ingest.quarantine.masking import masked_raw, shown_raw
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

PER_PAGE = 50
FILTERS = ("reason", "device", "source")
REVEAL_ACTION = "quarantine.reveal"

# The page's own texts (zh, en), the menu label included, registered with the page texts.
_PAIRS: dict[str, tuple[str, str]] = {
    "nav_quarantine": ("隔离区", "Quarantine"),
    "quarantine_title": ("隔离区", "Quarantine"),
    "quarantine_reason": ("原因", "Reason"),
    "quarantine_device": ("设备", "Device"),
    "quarantine_source": ("来源", "Source"),
    "quarantine_received": ("接收时间", "Received"),
    "quarantine_errors": ("字段与原因", "Field and reason"),
    "quarantine_raw": ("原始数据（身份信息已脱敏）", "Raw item (identity values masked)"),
    "quarantine_replay": ("重放所选", "Replay selected"),
    "quarantine_replay_reason": ("重放该原因的全部条目", "Replay every item of this reason"),
    "quarantine_empty": ("隔离区没有符合条件的条目", "No quarantined items match"),
    "quarantine_done": ("重放完成", "Replay done"),
    "quarantine_accepted": ("已接收", "accepted"),
    "quarantine_duplicate": ("重复", "duplicate"),
    "quarantine_still": ("仍被拒收", "still refused"),
    "quarantine_replay_note": (
        "先修复基础数据（如设备登记），再重放。",
        "Fix the master data first (a device registration, for instance), then replay.",
    ),
    "quarantine_outcome": ("上次重放", "Last replay"),
    "quarantine_reveal": ("查看原文", "Show in clear"),
    "quarantine_revealed": ("原始数据（明文，已记录审计）", "Raw item (in clear, audited)"),
    "quarantine_case_number": ("案件编号", "Case number"),
    "quarantine_purpose": ("查看事由", "Reason"),
}
add_texts(_PAIRS)


def _filters(page: Page) -> dict[str, str]:
    params = page.request.query_params
    return {name: value for name in FILTERS if (value := (params.get(name) or "").strip()[:255])}


@router.get("/quarantine", response_class=HTMLResponse, include_in_schema=False)
def quarantine_page(page: PageDep) -> HTMLResponse:
    return _render(page)


def _render(
    page: Page,
    *,
    revealed: tuple[int, str] | None = None,
    error: BadRequestError | ForbiddenError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    form = _filters(page)
    scope = page.context.scope
    items = page.node.quarantine.list_held(
        reason_code=form.get("reason"),
        device_id=form.get("device"),
        source=form.get("source"),
        scope=scope,
        limit=PER_PAGE,
        newest_first=True,
    )
    params = page.request.query_params
    outcome = (
        {name: params.get(name, "0") for name in ("replayed", "accepted", "duplicate", "still")}
        if "replayed" in params
        else None
    )
    response = page.render(
        "quarantine.html",
        {
            "form": form,
            "items": [(item, masked_raw(item.raw)) for item in items],
            "reasons": page.node.quarantine.count_by_reason(scope=scope),
            "outcome": outcome,
            "may_reveal": page.user.can(REVEAL_PERMISSION),
            "revealed": revealed,
            "error": error,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"  # raw input stays out of every cache
    return response


@router.post("/quarantine/{item_id}/reveal", include_in_schema=False)
async def reveal_item(page: PageDep, item_id: int) -> HTMLResponse:
    """Show one item's raw input in the clear, once, for a stated purpose (audited as
    `quarantine.reveal`; a refusal as `quarantine.reveal.refused`)."""
    raw = await page.request.form()
    form = {name: str(raw.get(name) or "").strip() for name in ("case_number", "reason")}
    context = page.context
    held = page.node.quarantine.list_held(ids=[item_id], scope=context.scope, limit=1)
    if not held:
        # Outside the scope reads as absent: nothing revealed, nothing audited.
        raise NotFoundError(f"unknown quarantine item {item_id}", field="item_id")
    item = held[0]
    read = RevealRead(REVEAL_ACTION, "quarantine_item", (str(item.id),), context.ip)
    purpose = Purpose(case_number=form["case_number"] or None, reason=form["reason"] or None)
    try:
        stated = context.reveal.authorise(context.user, purpose, read)
    except (BadRequestError, ForbiddenError) as error:
        return _render(page, error=error, status_code=error.status_code)
    context.reveal.record_read(context.user, read, purpose=stated)
    return _render(page, revealed=(item.id, shown_raw(item.raw)))


def _ids(values: list[str]) -> list[int]:
    ids: list[int] = []
    for value in values:
        if not value.isdigit() or len(value) > 18:
            raise BadRequestError(f"'{value[:40]}' is not an item number", field="ids")
        ids.append(int(value))
    return ids


@router.post("/quarantine/replay", include_in_schema=False)
def replay_quarantine(
    page: PageDep,
    ids: Annotated[list[str] | None, Form()] = None,
    reason: Annotated[str, Form(max_length=32)] = "",
) -> RedirectResponse:
    """Replay the chosen items (or every held item of `reason`) of the user's scope."""
    wanted = _ids(ids or [])
    if not wanted and not reason:
        raise BadRequestError("choose items to replay, or a reason", field="ids")
    visible = page.node.quarantine.list_held(
        ids=wanted or None, reason_code=reason or None, scope=page.context.scope, limit=10_000
    )
    chosen = [item.id for item in visible]
    # The replay resubmits through the intake, batch by batch, each committed with what it
    # appended to the log (that cannot be rolled back); the audit entry is the request's.
    report = page.node.replay_quarantine(ids=chosen) if chosen else None
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id),
        "quarantine.replay",
        record_type="quarantine_item",
        record_ids=[str(item_id) for item_id in chosen],
        ip=page.context.ip,
        details={
            "reason": reason or None,
            "accepted": report.accepted if report else 0,
            "duplicate": report.duplicate if report else 0,
            "still_rejected": report.still_rejected if report else 0,
        },
    )
    query = {
        "lang": page.lang,
        "replayed": report.replayed if report else 0,
        "accepted": report.accepted if report else 0,
        "duplicate": report.duplicate if report else 0,
        "still": report.still_rejected if report else 0,
    }
    return RedirectResponse(f"/quarantine?{urlencode(query)}", status_code=303)
