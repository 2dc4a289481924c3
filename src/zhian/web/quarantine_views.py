"""The quarantine page: refused input, filterable by reason, device and source, with the
raw item (identity values masked) and its field/reason list, replayable after a fix.

Items are those of devices in the user's jurisdiction (through the device's community;
the scope is applied in `QuarantineRepository`); items naming no device are for unscoped
users only. A replay is audited.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse

from zhian.audit.service import Actor
from zhian.errors import BadRequestError
from zhian.governance.masking import mask_id_number, mask_phone, mask_plate
from zhian.governance.validation import PLATE_PROVINCES
from zhian.ingest.json_depth import depth_error
from zhian.ingest.quarantine.models import QuarantineItem
from zhian.web.auth import current_user
from zhian.web.i18n import TEXT
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

PER_PAGE = 50
RAW_SHOWN_BYTES = 4096
FILTERS = ("reason", "device", "source")
_PLATE = re.compile(f"[{''.join(sorted(PLATE_PROVINCES))}][A-Za-z][A-Za-z0-9·• ]{{5,7}}")
_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
# Keys whose values name a person or a card in our own event schema.
_SUBJECT_KEYS = ("ref",)

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
}
for _key, (_zh, _en) in _PAIRS.items():
    TEXT["zh"].setdefault(_key, _zh)
    TEXT["en"].setdefault(_key, _en)


def mask_text(text: str) -> str:
    """Plates, ID-card numbers and phone numbers in free text, masked."""
    text = _ID_NUMBER.sub(lambda found: mask_id_number(found.group()), text)
    text = _PHONE.sub(lambda found: mask_phone(found.group()), text)
    return _PLATE.sub(lambda found: mask_plate(found.group()), text)


def _mask_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                _mask_ref(item)
                if key in _SUBJECT_KEYS and isinstance(item, str)
                else _mask_json(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_mask_json(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def _mask_ref(value: str) -> str:
    return value[:1] + "*" * max(len(value) - 3, 1) + value[-2:] if len(value) > 3 else "***"


def masked_raw(item: QuarantineItem) -> str:
    """The raw item as text for the page: JSON pretty-printed, identity values masked.

    A held item is whatever a device sent, so it is parsed only when it nests no deeper
    than the intake accepts (parsing and masking both recurse; 100,000 levels would raise
    RecursionError and take the whole page down). Anything else is shown as masked text,
    cut at `RAW_SHOWN_BYTES`; the template escapes it.
    """
    text = item.raw[:RAW_SHOWN_BYTES].decode("utf-8", errors="replace")
    as_text = mask_text(text) + (" …" if len(item.raw) > RAW_SHOWN_BYTES else "")
    if depth_error(item.raw) is not None:
        return as_text
    try:
        parsed = json.loads(item.raw)
    except ValueError:
        return as_text
    return json.dumps(_mask_json(parsed), ensure_ascii=False, indent=2)[:RAW_SHOWN_BYTES]


def _filters(page: Page) -> dict[str, str]:
    params = page.request.query_params
    return {name: value for name in FILTERS if (value := (params.get(name) or "").strip()[:255])}


@router.get("/quarantine", response_class=HTMLResponse, include_in_schema=False)
def quarantine_page(page: PageDep) -> HTMLResponse:
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
    return page.render(
        "quarantine.html",
        {
            "form": form,
            "items": [(item, masked_raw(item)) for item in items],
            "reasons": page.node.quarantine.count_by_reason(scope=scope),
            "outcome": outcome,
        },
    )


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
