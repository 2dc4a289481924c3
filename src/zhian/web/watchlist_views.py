"""Watchlists (布控): the entries of the user's jurisdiction, adding one, withdrawing one
(撤控, with a reason), and bulk import and withdrawal from a CSV or Excel file with a
per-row report (row, column, reason).

Plates on the watchlist are shown to holders of `watchlists.view` (the point of the list);
subject references stay masked. Every list read and every change is audited; a change and
its audit entry share one transaction. The service is made in the user's scope, and its
repository puts the scope in every query (docs/dev/scoping.md).
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from zhian.audit.service import Actor
from zhian.errors import BadRequestError, ZhianError
from zhian.governance.masking import mask_ref
from zhian.watchlists.importer import read_rows
from zhian.watchlists.schemas import LegalBasisKind, WatchlistEntryCreate, WatchTarget
from zhian.watchlists.service import (
    IMPORT_COLUMNS,
    WITHDRAW_COLUMNS,
    WatchlistImportReport,
    WatchlistService,
)
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep
from zhian.web.time_input import parse_local_time

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

ADD_FIELDS = (
    "target",
    "label",
    "plate",
    "subject_ref",
    "legal_basis_kind",
    "legal_basis_ref",
    "jurisdiction_id",
    "expires_at",
    "tier",
)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
UPLOAD_SUFFIXES = (".csv", ".xlsx", ".xlsm")
EntryId = Annotated[int, PathParam(ge=1, le=2**62)]

# The page's own texts (zh, en), the menu label included, registered with the page texts.
_PAIRS: dict[str, tuple[str, str]] = {
    "nav_watchlists": ("布控", "Watchlists"),
    "watchlists_title": ("布控管理", "Watchlists"),
    "wl_target": ("对象", "Target"),
    "wl_target_plate": ("车牌", "Plate"),
    "wl_target_person": ("人员", "Person"),
    "wl_label": ("名称", "Label"),
    "wl_plate": ("车牌号", "Plate number"),
    "wl_subject": ("人员编号", "Subject ref"),
    "wl_basis": ("法律依据", "Legal basis"),
    "wl_basis_ref": ("依据编号", "Basis reference"),
    "wl_basis_case": ("案件编号", "Case"),
    "wl_basis_warrant": ("通缉令/拘留证", "Warrant"),
    "wl_basis_missing_person": ("失踪人员报告", "Missing person"),
    "wl_basis_stolen_vehicle": ("被盗车辆报案", "Stolen vehicle"),
    "wl_jurisdiction": ("辖区", "Jurisdiction"),
    "wl_expires": ("到期时间", "Expires"),
    "wl_tier": ("级别", "Tier"),
    "wl_owner": ("负责人", "Owner"),
    "wl_add": ("新增布控", "Add an entry"),
    "wl_withdraw": ("撤控", "Withdraw"),
    "wl_reason": ("撤控原因", "Reason"),
    "wl_withdrawn": ("已撤控", "Withdrawn"),
    "wl_empty": ("辖区内没有生效的布控", "No active entries in your jurisdiction"),
    "wl_bulk_import": ("批量导入（Excel/CSV）", "Bulk import (Excel/CSV)"),
    "wl_bulk_withdraw": ("批量撤控（Excel/CSV）", "Bulk withdrawal (Excel/CSV)"),
    "wl_columns": ("列", "Columns"),
    "wl_upload": ("上传", "Upload"),
    "wl_report": ("处理结果", "Result"),
    "wl_accepted": ("成功", "accepted"),
    "wl_rejected": ("失败", "rejected"),
    "wl_row": ("行", "Row"),
    "wl_column": ("列", "Column"),
    "wl_why": ("原因", "Reason"),
    "wl_show_all": ("含已撤控/已过期", "Include withdrawn and expired"),
    "wl_added": ("已新增布控", "Entry added"),
    "wl_done_withdraw": ("已撤控", "Entry withdrawn"),
}
add_texts(_PAIRS)


def _service(page: Page) -> WatchlistService:
    """The watchlist as the user may work on it: their scope is in every query."""
    context = page.context
    return WatchlistService(
        context.session,
        clock=page.node.clock,
        scope=context.scope,
        identity=page.node.governance.sealer,
    )


def _audit(
    page: Page,
    action: str,
    record_ids: list[str],
    details: dict[str, Any] | None = None,
    *,
    purpose: str | None = None,
    case_number: str | None = None,
) -> None:
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id),
        action,
        record_type="watchlist_entry",
        record_ids=record_ids,
        ip=page.context.ip,
        purpose=purpose,
        case_number=case_number,
        details=details,
    )


def _context(page: Page, **extra: Any) -> dict[str, Any]:
    """The list (audited as a read), the jurisdictions for the form and the flags."""
    show_all = page.request.query_params.get("all") == "1"
    service = _service(page)
    scope = service.scope
    entries = service.list_entries(active_only=not show_all)
    _audit(
        page,
        "watchlist.list",
        [str(entry.id) for entry in entries],
        {"include_inactive": show_all},
    )
    jurisdictions = sorted(scope.jurisdiction_ids) if scope.jurisdiction_ids is not None else []
    context: dict[str, Any] = {
        "entries": [
            {"entry": entry, "subject": mask_ref(entry.subject_ref) if entry.subject_ref else ""}
            for entry in entries
        ],
        "show_all": show_all,
        "may_manage": page.user.can("watchlists.manage"),
        "jurisdictions": jurisdictions,
        "default_jurisdiction": scope.root or "",
        "targets": [target.value for target in WatchTarget],
        "basis_kinds": [kind.value for kind in LegalBasisKind],
        "tiers": ("minor", "general", "major"),
        "import_columns": IMPORT_COLUMNS,
        "withdraw_columns": WITHDRAW_COLUMNS,
        "form": {},
        "form_error": None,
        "report": None,
        "report_kind": None,
        "notice": page.request.query_params.get("done"),
    }
    context.update(extra)
    return context


def _render(page: Page, *, status_code: int = 200, **extra: Any) -> HTMLResponse:
    response = page.render("watchlists.html", _context(page, **extra), status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # plates of a watchlist stay out of caches
    return response


def parse_expiry(value: str, page: Page) -> datetime:
    """A `datetime-local` value (in the display zone) or an ISO time with its offset."""
    return parse_local_time(value, "expires_at", page.zone)


def entry_from_form(fields: dict[str, str], page: Page) -> WatchlistEntryCreate:
    """The form as a `WatchlistEntryCreate`; a bad field raises 400 naming it."""
    if not fields.get("expires_at"):
        raise BadRequestError("an entry needs an expiry", field="expires_at")
    values: dict[str, Any] = {k: v for k, v in fields.items() if v}
    values["expires_at"] = parse_expiry(fields["expires_at"], page)
    try:
        return WatchlistEntryCreate.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "target"
        raise BadRequestError(error["msg"], field=where) from None


@router.get("/watchlists", response_class=HTMLResponse, include_in_schema=False)
def watchlists_page(page: PageDep) -> HTMLResponse:
    return _render(page)


@router.post("/watchlists", include_in_schema=False)
async def add_entry(page: PageDep) -> Response:
    """Add one entry from the form; an error re-renders the form naming the field."""
    form = await page.request.form()
    fields = {name: str(form.get(name) or "").strip() for name in ADD_FIELDS}
    try:
        entry = entry_from_form(fields, page)
        created = _service(page).add(entry, user_id=page.user.id)
        _audit(
            page,
            "watchlist.create",
            [str(created.id)],
            {
                "target": created.target.value,
                "legal_basis_kind": created.legal_basis_kind.value,
                "jurisdiction_id": created.jurisdiction_id,
                "tier": created.tier,
                "expires_at": created.expires_at.isoformat(),
            },
            case_number=created.legal_basis_ref[:64],
        )
    except ZhianError as error:
        return _render(page, status_code=error.status_code, form=fields, form_error=error)
    # The watchlist rule matches the entry from now on, once it is committed.
    page.context.after_commit(page.node.refresh_directory)
    query = urlencode({"lang": page.lang, "done": "added"})
    return RedirectResponse(f"/watchlists?{query}#entry-{created.id}", status_code=303)


@router.post("/watchlists/{entry_id}/withdraw", include_in_schema=False)
async def withdraw_entry(page: PageDep, entry_id: EntryId) -> Response:
    """撤控 one entry of the user's jurisdiction, with a reason."""
    form = await page.request.form()
    reason = str(form.get("reason") or "").strip()
    try:
        withdrawn = _service(page).withdraw(entry_id, user_id=page.user.id, reason=reason)
        _audit(
            page,
            "watchlist.withdraw",
            [str(withdrawn.id)],
            {"reason": withdrawn.withdraw_reason},
            purpose=withdrawn.withdraw_reason,
        )
    except ZhianError as error:
        return _render(page, status_code=error.status_code, form_error=error)
    page.context.after_commit(page.node.refresh_directory)
    return RedirectResponse(
        f"/watchlists?{urlencode({'lang': page.lang, 'done': 'withdrawn'})}", status_code=303
    )


async def _uploaded(page: Page) -> tuple[str, bytes]:
    # The context closes the spooled upload files whatever happens.
    async with page.request.form() as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise BadRequestError("choose a .csv or .xlsx file", field="file")
        name = Path(upload.filename).name
        if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
            raise BadRequestError(
                f"'{name[:80]}' is not a .csv or .xlsx file; save it as one", field="file"
            )
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadRequestError(
            f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB", field="file"
        )
    return name, data


def _bulk(page: Page, name: str, data: bytes, *, withdraw: bool) -> WatchlistImportReport:
    """Run one bulk file through the importer's reader and the scoped service."""
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="zhian-watchlist-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        service = _service(page)
        columns = WITHDRAW_COLUMNS if withdraw else IMPORT_COLUMNS
        try:
            rows = read_rows(path, columns)
        except BadRequestError as error:
            # The reader names the temporary path; the user knows the file by its name.
            raise BadRequestError(
                error.message.replace(str(path), name), field=error.field
            ) from None
        run = service.withdraw_rows if withdraw else service.import_rows
        report = run(rows, user_id=page.user.id)
        report.source = name
        _audit(
            page,
            "watchlist.bulk_withdraw" if withdraw else "watchlist.import",
            [str(entry_id) for entry_id in report.entry_ids],
            {"file": name, "accepted": report.accepted, "rejected": report.rejected},
        )
    return report


async def _bulk_page(page: Page, *, withdraw: bool) -> Response:
    kind = "withdraw" if withdraw else "import"
    try:
        name, data = await _uploaded(page)
        # Reading a workbook is CPU work (up to the reader's limits): off the event loop,
        # so one upload does not hold up every other request.
        report = await run_in_threadpool(_bulk, page, name, data, withdraw=withdraw)
    except ZhianError as error:
        return _render(page, status_code=error.status_code, form_error=error, report_kind=kind)
    if report.entry_ids:
        page.context.after_commit(page.node.refresh_directory)
    return _render(page, report=report, report_kind=kind)


@router.post("/watchlists/import", include_in_schema=False)
async def import_entries(page: PageDep) -> Response:
    """Bulk import; the answer lists every refused row with its column and reason."""
    return await _bulk_page(page, withdraw=False)


@router.post("/watchlists/withdrawals", include_in_schema=False)
async def withdraw_entries(page: PageDep) -> Response:
    """Bulk withdrawal (撤控); the answer lists every refused row with its column and reason."""
    return await _bulk_page(page, withdraw=True)
