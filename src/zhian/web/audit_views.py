"""The auditor's page: search the audit log by person, record and time, export it, and see
whether the hash chain verifies.

The audit log is node-wide (it has no jurisdiction): an auditor checks everyone's reads.
Searches naming a case and every export are themselves audited.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from zhian.access.service import AccessService, UserRead
from zhian.audit.service import Actor, AuditEntryRead
from zhian.errors import BadRequestError
from zhian.kit.exports import safe_cell
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep
from zhian.web.time_input import parse_local_time

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

PER_PAGE = 50
EXPORT_MAX_ROWS = 10_000
FILTERS = ("actor", "action", "record_type", "record", "case_number", "since", "until")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
EXPORT_COLUMNS = (
    "id",
    "at",
    "actor_type",
    "actor_id",
    "actor_name",
    "action",
    "record_type",
    "record_ids",
    "ip",
    "purpose",
    "case_number",
    "details",
    "hash",
)

# The page's own texts (zh, en), the menu label included, registered with the page texts.
_PAIRS: dict[str, tuple[str, str]] = {
    "nav_audit": ("审计日志", "Audit"),
    "audit_title": ("审计日志", "Audit log"),
    "audit_actor": ("人员（用户名或编号）", "Person (username or id)"),
    "audit_action": ("操作", "Action"),
    "audit_record_type": ("记录类型", "Record type"),
    "audit_record": ("记录编号", "Record id"),
    "audit_case": ("案件编号", "Case number"),
    "audit_at": ("时间", "Time"),
    "audit_ip": ("来源地址", "From"),
    "audit_purpose": ("用途", "Purpose"),
    "audit_details": ("详情", "Details"),
    "audit_export": ("导出 CSV", "Export CSV"),
    "audit_chain_ok": ("哈希链校验通过", "Hash chain verified"),
    "audit_chain_bad": ("哈希链校验失败", "Hash chain broken"),
    "audit_checked": ("已校验条目", "Entries checked"),
    "audit_sealed": ("链头已签名", "Head sealed"),
    "audit_unsealed": ("链头未签名（尚无密钥）", "Head not sealed (no key ring yet)"),
    "audit_empty": ("没有符合条件的审计记录", "No audit entries match"),
    "audit_more": ("下一页", "Next page"),
    "audit_prev": ("上一页", "Previous page"),
}
add_texts(_PAIRS)


def _moment(value: str, field: str, zone: timezone) -> datetime:
    return parse_local_time(value, field, zone)


def _page_number(value: str | None) -> int:
    if not value:
        return 1
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise BadRequestError("page is a whole number from 1", field="page")
    return int(value)


class AuditQuery:
    """The page's filters, read from the query string; 400 names a bad field."""

    def __init__(self, params: Mapping[str, str], zone: timezone, users: list[UserRead]) -> None:
        self.form = {name: (params.get(name) or "").strip()[:200] for name in FILTERS}
        self.page = _page_number(params.get("page"))
        actor = self.form["actor"]
        by_name = {user.username: str(user.id) for user in users}
        # A username, else taken as an id (a user id, a device id or a system actor's name).
        self.actor_id = by_name.get(actor, actor) or None
        self.since = _moment(self.form["since"], "since", zone) if self.form["since"] else None
        self.until = _moment(self.form["until"], "until", zone) if self.form["until"] else None
        if self.since and self.until and self.since >= self.until:
            raise BadRequestError("since must lie before until", field="since")

    def search_args(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor_id,
            "action": self.form["action"] or None,
            "record_type": self.form["record_type"] or None,
            "record_id": self.form["record"] or None,
            "case_number": self.form["case_number"] or None,
            "since": self.since,
            "until": self.until,
        }

    def query_string(self) -> str:
        return urlencode({name: value for name, value in self.form.items() if value})


def _users(page: Page) -> list[UserRead]:
    return AccessService(page.context.session).list_users()


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(page: PageDep) -> HTMLResponse:
    users = _users(page)
    names = {str(user.id): user.username for user in users}
    try:
        query = AuditQuery(page.request.query_params, page.zone, users)
    except BadRequestError as error:
        return page.render(
            "audit.html",
            {
                "error": error,
                "entries": [],
                "form": {},
                "report": None,
                "names": names,
                "query": "",
                "page_no": 1,
                "has_more": False,
            },
            status_code=400,
        )
    audit = page.node.governance.audit(page.context.session)
    found = audit.search(
        **query.search_args(), limit=PER_PAGE + 1, offset=(query.page - 1) * PER_PAGE
    )
    report = audit.verify()
    if query.form["case_number"]:
        # A search with a case reference is itself a trace worth keeping (issue #4).
        audit.record(
            Actor.user(page.user.id),
            "audit.search",
            record_type="audit_entry",
            record_ids=[str(entry.id) for entry in found[:PER_PAGE]],
            ip=page.context.ip,
            case_number=query.form["case_number"],
            details={"filters": {k: v for k, v in query.form.items() if v}},
        )
    return page.render(
        "audit.html",
        {
            "error": None,
            "entries": found[:PER_PAGE],
            "has_more": len(found) > PER_PAGE,
            "page_no": query.page,
            "form": query.form,
            "query": query.query_string(),
            "report": report,
            "names": names,
        },
    )


def export_csv(entries: list[AuditEntryRead], names: Mapping[str, str]) -> str:
    """The entries as CSV, every cell neutralised against formula injection."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for entry in entries:
        row = [
            str(entry.id),
            entry.at.isoformat(),
            entry.actor_type,
            entry.actor_id,
            names.get(entry.actor_id, "") if entry.actor_type == "user" else "",
            entry.action,
            entry.record_type or "",
            " ".join(entry.record_ids),
            entry.ip or "",
            entry.purpose or "",
            entry.case_number or "",
            _details(entry.details),
            entry.hash,
        ]
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def _details(details: Mapping[str, Any]) -> str:
    return json.dumps(details, ensure_ascii=False, sort_keys=True) if details else ""


@router.get("/audit/export.csv", include_in_schema=False)
def export_audit(page: PageDep) -> Response:
    users = _users(page)
    names = {str(user.id): user.username for user in users}
    query = AuditQuery(page.request.query_params, page.zone, users)
    audit = page.node.governance.audit(page.context.session)
    entries = audit.search(**query.search_args(), limit=EXPORT_MAX_ROWS)
    body = export_csv(entries, names)
    # The export is audited in the same transaction: no export without its trace.
    audit.record(
        Actor.user(page.user.id),
        "audit.export",
        record_type="audit_entry",
        record_ids=[str(entry.id) for entry in entries],
        ip=page.context.ip,
        case_number=query.form["case_number"] or None,
        details={
            "rows": len(entries),
            "filters": {k: v for k, v in query.form.items() if v},
        },
    )
    stamp = page.now.strftime("%Y%m%d-%H%M%S")
    return Response(
        # A byte-order mark: spreadsheets then read the Chinese text as UTF-8.
        "\ufeff" + body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )
