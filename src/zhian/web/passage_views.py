"""Passage records (门禁/过车/人脸): by community, device, time range, direction and subject;
paged, exported to CSV or xlsx.

Only devices in the user's jurisdiction are searched. A search by subject (a plate or a
person) is a trajectory: it needs a case number and a stated reason (DESIGN.md), and is
audited with both (`passages.subject_search`); a refused one is audited too. Every export
is audited (`passages.export`) with its filter and row count, and every cell is
formula-safe (`zhian.kit.exports`). Plates and people travel in POST bodies, never in
addresses; rows show masked identifiers only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Final, cast

import msgspec
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, NotFoundError, ZhianError
from zhian.governance.reveal import Purpose
from zhian.kit.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_bytes, xlsx_bytes
from zhian.registry.search import RegistrySearch
from zhian.registry.service import RegistryService
from zhian.search.plates import plate_query
from zhian.store.passages import MAX_PAGE_ROWS, PASSAGE_TYPES, PassageFilter, PassageRecord
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep
from zhian.web.time_input import parse_local_time

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

SUBJECT_ACTION: Final = "passages.subject_search"
EXPORT_ACTION: Final = "passages.export"
EXPORT_PERMISSION: Final = "passages.export"
PAGE_ROWS: Final = 50
DEFAULT_WINDOW: Final = timedelta(hours=24)
MAX_WINDOW: Final = timedelta(days=92)
FORM_FIELDS: Final = (
    "community_id", "device_id", "since", "until", "direction", "plate", "resident_id",
    "case_number", "reason", "offset", "near",
)  # fmt: skip
EXPORT_HEADER: Final = ("type", "time", "device_id", "direction", "subject", "detail", "event_id")

PASSAGE_TEXT: dict[str, tuple[str, str]] = {
    "nav_passages": ("通行记录", "Passages"),
    "pas_title": ("通行记录（门禁/过车/人脸）", "Passage records (door, vehicle, face)"),
    "pas_community": ("社区", "Community"),
    "pas_device": ("设备编号", "Device id"),
    "pas_since": ("开始时间", "From"),
    "pas_until": ("结束时间", "To"),
    "pas_direction": ("方向", "Direction"),
    "pas_any": ("全部", "Any"),
    "pas_in": ("进", "In"),
    "pas_out": ("出", "Out"),
    "pas_types": ("类型", "Types"),
    "pas_type_access": ("门禁", "Door"),
    "pas_type_vehicle": ("过车", "Vehicle"),
    "pas_type_face": ("人脸", "Face"),
    "pas_subject": ("按对象查询（轨迹，须案件编号与用途，留痕审计）",
                    "By subject (a trajectory: needs a case number and a reason; audited)"),
    "pas_plate": ("车牌", "Plate"),
    "pas_resident": ("人员编号", "Resident id"),
    "pas_near": ("含疑似误识车牌（差一个字符）", "Include plates one character away (misreads)"),
    "pas_case_number": ("案件编号", "Case number"),
    "pas_reason": ("用途说明", "Reason"),
    "pas_search": ("查询", "Search"),
    "pas_export_csv": ("导出 CSV", "Export CSV"),
    "pas_export_xlsx": ("导出 Excel", "Export Excel"),
    "pas_export_hint": ("导出留痕审计，最多 5000 条", "Exports are audited, at most 5000 rows"),
    "pas_time": ("时间", "Time"),
    "pas_type": ("类型", "Type"),
    "pas_who": ("对象（脱敏）", "Subject (masked)"),
    "pas_detail": ("详情", "Detail"),
    "pas_image": ("图片", "Image"),
    "pas_none": ("没有符合条件的通行记录", "No passage matches"),
    "pas_next": ("下一页", "Next page"),
    "pas_previous": ("上一页", "Previous page"),
    "pas_rows": ("条", "rows"),
}  # fmt: skip
add_texts(PASSAGE_TEXT)


@dataclass
class PassageQuery:
    """A passage search as the form gave it, checked: the store's filter, and what an
    audit entry says about it."""

    search: PassageFilter
    form: dict[str, str]
    types: list[str]
    purpose: Purpose | None = None
    subject: dict[str, Any] = field(default_factory=dict)  # tokens and ids, no clear values


def _moment(value: str, name: str, zone: timezone, default: datetime) -> datetime:
    if not value:
        return default
    return parse_local_time(value, name, zone)


def _offset(value: str) -> int:
    if not value:
        return 0
    if not value.isdigit() or int(value) > 1_000_000:
        raise BadRequestError("offset must be a whole number from 0 to 1000000", field="offset")
    return int(value)


def _device_ids(page: Page, form: dict[str, str]) -> tuple[str, ...] | None:
    """The devices to search: those of the user's scope, narrowed by community or device."""
    context = page.context
    community_id, device_id = form["community_id"], form["device_id"]
    if context.scope.is_unscoped and not community_id and not device_id:
        return None
    devices = DeviceService(context.session).list_devices(scope=context.scope)
    if community_id:
        if not context.scope.contains_community(community_id):
            raise NotFoundError(
                f"no community '{community_id[:64]}' in your jurisdiction", field="community_id"
            )
        devices = [d for d in devices if d.community_id == community_id]
    if device_id:
        devices = [d for d in devices if d.id == device_id]
        if not devices:
            raise NotFoundError(
                f"no device '{device_id[:64]}' in your jurisdiction", field="device_id"
            )
    return tuple(d.id for d in devices)


def _subject(page: Page, query: PassageQuery) -> None:
    """Narrow to a plate or a person (a trajectory): needs a case number and a reason."""
    form = query.form
    plate, resident_id = form["plate"], form["resident_id"]
    if not plate and not resident_id:
        return
    if plate and resident_id:
        raise BadRequestError("search by a plate or by a person, not both", field="plate")
    purpose = Purpose(form["case_number"] or None, form["reason"] or None)
    read = page.context.read(SUBJECT_ACTION, "vehicle" if plate else "resident")
    try:
        if not purpose.case_number or not (purpose.reason or "").strip():
            raise BadRequestError(
                "a search by plate or person is a trajectory: it needs a case number and a reason",
                field="case_number",
            )
        query.purpose = purpose.checked()
        sealer = page.node.governance.sealer
        if sealer is None:
            raise BadRequestError(
                "this node has no key ring: plates and people cannot be searched",
                field="plate" if plate else "resident_id",
            )
        if plate:
            _narrow_to_plate(query, plate, sealer.tokeniser.token)
        else:
            _narrow_to_person(page, query, resident_id, sealer.tokeniser.token)
    except (BadRequestError, NotFoundError) as error:
        page.context.reveal.refuse(page.user, purpose, read, error)
        raise


def _narrow_to_plate(query: PassageQuery, plate: str, token: Any) -> None:
    typed = plate_query(plate)
    if typed is None:
        raise BadRequestError(
            "must be a plate: a province abbreviation, then 6 or 7 letters and digits",
            field="plate",
        )
    plates = [typed.plate, *(typed.near if query.form["near"] else ())]
    tokens = tuple(token("plate", value) for value in plates)
    query.search = _replace(query.search, plate_tokens=tokens)
    query.subject = {"by": "plate", "plate_token": tokens[0], "near": bool(query.form["near"])}


def _narrow_to_person(page: Page, query: PassageQuery, resident_id: str, token: Any) -> None:
    context = page.context
    RegistryService(context.session).resident(resident_id, scope=context.scope)  # 404 outside
    tokens = [token("subject", resident_id)]
    card = RegistrySearch(context.session).card_token_of(resident_id)
    if card is not None:
        tokens.append(card)
    query.search = _replace(query.search, subject_tokens=tuple(tokens))
    query.subject = {"by": "person", "resident_id": resident_id}


def _replace(search: PassageFilter, **changes: Any) -> PassageFilter:
    return msgspec.structs.replace(search, **changes)


def parse_query(page: Page, raw: dict[str, str], types: list[str], *, limit: int) -> PassageQuery:
    """The form, checked; BadRequestError or NotFoundError naming the field."""
    form = {name: (raw.get(name) or "").strip() for name in FORM_FIELDS}
    now, zone = page.now, page.zone
    until = _moment(form["until"], "until", zone, now)
    since = _moment(form["since"], "since", zone, until - DEFAULT_WINDOW)
    if since >= until:
        raise BadRequestError("the start must be before the end", field="since")
    if until - since > MAX_WINDOW:
        raise BadRequestError(f"the window must be at most {MAX_WINDOW.days} days", field="since")
    if form["direction"] not in ("", "in", "out"):
        raise BadRequestError("direction must be in or out", field="direction")
    unknown = [t for t in types if t not in PASSAGE_TYPES]
    if unknown:
        raise BadRequestError(f"unknown passage type '{unknown[0][:20]}'", field="types")
    chosen = types or list(PASSAGE_TYPES)
    search = PassageFilter(
        since=since,
        until=until,
        types=cast(Any, tuple(chosen)),
        device_ids=_device_ids(page, form),
        direction=cast(Any, form["direction"] or None),
        limit=limit,
        offset=_offset(form["offset"]),
    )
    query = PassageQuery(search, form, chosen)
    _subject(page, query)
    return query


def audit_subject_search(page: Page, query: PassageQuery, rows: int) -> None:
    """The audit entry of a search by plate or person (nothing for other searches)."""
    if query.purpose is None:
        return
    context = page.context
    subject = query.subject
    record_type = "vehicle" if subject["by"] == "plate" else "resident"
    ids = [subject["resident_id"]] if "resident_id" in subject else []
    context.reveal.record_read(
        context.user,
        context.read(SUBJECT_ACTION, record_type, *ids, **subject, rows=rows),
        purpose=query.purpose,
    )


async def _form(page: Page) -> tuple[dict[str, str], list[str]]:
    raw = await page.request.form()
    values = {name: str(raw.get(name) or "") for name in FORM_FIELDS}
    return values, [str(value) for value in raw.getlist("types")]


def _render(
    page: Page,
    query: PassageQuery | None,
    records: list[PassageRecord],
    *,
    form: dict[str, str],
    types: list[str],
    error: ZhianError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = page.context
    communities = RegistryService(context.session).list_communities(scope=context.scope)
    offset = query.search.offset if query is not None else 0
    zone = page.zone
    response = page.render(
        "passages.html",
        {
            "records": records[:PAGE_ROWS],
            "has_next": len(records) > PAGE_ROWS,
            "offset": offset,
            "page_rows": PAGE_ROWS,
            "form": form,
            "since_value": query.search.since.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
            if query
            else form.get("since", ""),
            "until_value": query.search.until.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
            if query
            else form.get("until", ""),
            "types": types or list(PASSAGE_TYPES),
            "all_types": PASSAGE_TYPES,
            "communities": communities,
            "error": error,
            "may_export": page.user.can(EXPORT_PERMISSION),
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _search(page: Page, form: dict[str, str], types: list[str]) -> HTMLResponse:
    try:
        # One row more than a page: whether there is a next page.
        query = parse_query(page, form, types, limit=PAGE_ROWS + 1)
    except (BadRequestError, NotFoundError) as error:
        return _render(
            page, None, [], form=form, types=types, error=error, status_code=error.status_code
        )
    records = page.node.event_reads.passages(query.search)
    audit_subject_search(page, query, len(records[:PAGE_ROWS]))
    return _render(page, query, records, form=form, types=types)


# What an address may carry (the statistics' list behind a passage figure): the window,
# the place, the direction and the types; never a plate or a person (POST only).
ADDRESS_FIELDS: Final = ("community_id", "device_id", "since", "until", "direction", "offset")


@router.get("/passages", response_class=HTMLResponse, include_in_schema=False)
def passages_page(page: PageDep) -> HTMLResponse:
    """The passages at the devices of the user's jurisdiction: the last day's, or the
    window, place, direction and types the address names."""
    params = page.request.query_params
    form = {name: (params.get(name, "") if name in ADDRESS_FIELDS else "") for name in FORM_FIELDS}
    return _search(page, form, [str(value) for value in params.getlist("types")])


@router.post("/passages", response_class=HTMLResponse, include_in_schema=False)
async def passages_search(page: PageDep) -> HTMLResponse:
    form, types = await _form(page)
    return _search(page, form, types)


@router.post("/passages/export", include_in_schema=False)
async def passages_export(page: PageDep) -> Response:
    """The filtered passages (at most `MAX_PAGE_ROWS`) as CSV or xlsx; audited."""
    form, types = await _form(page)
    raw = await page.request.form()
    file_format = str(raw.get("format") or "csv")
    form["offset"] = ""
    try:
        if file_format not in ("csv", "xlsx"):
            raise BadRequestError("format must be csv or xlsx", field="format")
        query = parse_query(page, form, types, limit=MAX_PAGE_ROWS)
    except (BadRequestError, NotFoundError) as error:
        return _render(
            page, None, [], form=form, types=types, error=error, status_code=error.status_code
        )
    records = page.node.event_reads.passages(query.search)
    audit_subject_search(page, query, len(records))
    context = page.context
    filters = {k: v for k, v in form.items() if v and k not in ("plate", "reason", "case_number")}
    context.reveal.record_read(
        context.user,
        context.read(
            EXPORT_ACTION,
            "passage",
            format=file_format,
            rows=len(records),
            filters=filters,
            types=query.types,
            **query.subject,
        ),
        purpose=query.purpose,
    )
    zone = page.zone
    rows = [
        (
            r.type,
            r.time.astimezone(zone).isoformat(timespec="seconds"),
            r.device_id,
            r.direction or "",
            r.subject or "",
            r.detail,
            r.event_id,
        )
        for r in records
    ]
    stamp = page.now.astimezone(zone).strftime("%Y%m%d-%H%M%S")
    if file_format == "xlsx":
        body, media_type = xlsx_bytes("passages", EXPORT_HEADER, rows), XLSX_MEDIA_TYPE
    else:
        body, media_type = csv_bytes(EXPORT_HEADER, rows), CSV_MEDIA_TYPE
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="passages-{stamp}.{file_format}"',
            "Cache-Control": "no-store",
        },
    )
