"""Case library pages (案例库): search the entries of the user's jurisdiction (words, tag,
category, period), read one, write or edit one (`library.manage`). Entries shared by child
nodes appear under their jurisdiction, read-only. Every write is audited.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from zhian.access.scope import JurisdictionScope
from zhian.alerts.incidents import IncidentReadService
from zhian.audit.service import Actor
from zhian.case_library.schemas import CATEGORIES, CaseStudyFilter, CaseStudyRead, CaseStudyWrite
from zhian.case_library.service import CaseLibraryService
from zhian.cases.service import CaseService
from zhian.errors import BadRequestError, ForbiddenError, NotFoundError, ZhianError
from zhian.governance.tokens import Tokeniser
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

StudyId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
FIELDS = ("title", "category", "summary", "what_happened", "what_worked", "lessons", "tags",
          "occurred_at", "jurisdiction_id", "incident_id", "alert_ids", "case_ids",
          "is_shared")  # fmt: skip
_SPLIT = re.compile(r"[\s,，、;；]+")

_PAIRS: dict[str, tuple[str, str]] = {
    "nav_library": ("案例库", "Case library"),
    "library_title": ("案例库", "Case library"),
    "library_new": ("撰写案例", "Write an entry"),
    "library_edit": ("修改案例", "Edit the entry"),
    "library_save": ("保存", "Save"),
    "library_search": ("检索", "Search"),
    "library_text": ("关键词", "Words"),
    "library_tag": ("标签", "Tag"),
    "library_tags": ("标签（以空格或逗号分隔）", "Tags (separated by spaces or commas)"),
    "library_category": ("类别", "Category"),
    "library_all": ("全部", "All"),
    "library_from": ("发生时间起", "From"),
    "library_to": ("发生时间止", "To"),
    "library_empty": ("没有符合条件的案例", "No entry matches"),
    "library_f_title": ("标题", "Title"),
    "library_f_summary": ("摘要", "Summary"),
    "library_f_what_happened": ("事件经过", "What happened"),
    "library_f_what_worked": ("有效做法", "What worked"),
    "library_f_lessons": ("经验教训", "Lessons"),
    "library_f_occurred_at": ("发生时间", "When it happened"),
    "library_f_jurisdiction": ("所属辖区", "Jurisdiction"),
    "library_f_incident": ("关联合并事件编号", "Incident"),
    "library_f_alerts": ("关联预警编号（逗号分隔）", "Alerts (numbers, comma-separated)"),
    "library_f_cases": ("关联案件编号（逗号分隔）", "Cases (numbers, comma-separated)"),
    "library_f_shared": ("向上级共享", "Share upward"),
    "library_shared": ("已向上级共享", "shared upward"),
    "library_from_node": ("来自下级平台", "from child node"),
    "library_no_personal": (
        "案例不得包含个人信息：身份证号、手机号、车牌号会被拒绝。",
        "An entry holds no personal data: ID, phone and plate numbers are refused.",
    ),
    "library_links": ("关联", "Links"),
    "library_updated": ("更新于", "Updated"),
}
add_texts(_PAIRS)


def category_names(lang: str) -> dict[str, str]:
    return {code: zh if lang == "zh" else en for code, (zh, en) in CATEGORIES.items()}


class PageLinks:
    """The records an entry may link to, looked up in the author's scope."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def has_alert(self, alert_id: int) -> bool:
        try:
            self.page.context.alerts.get_alert(alert_id, scope=self.page.context.scope)
        except NotFoundError:
            return False
        return True

    def has_incident(self, incident_id: int) -> bool:
        reads = IncidentReadService(self.page.context.session, scope=self.page.context.scope)
        return reads.exists(incident_id)

    def has_case(self, case_id: str) -> bool:
        ring = self.page.node.governance.ring
        cases = CaseService(
            self.page.context.session,
            clock=self.page.node.clock,
            settings=self.page.node.settings.cases,
            scope=self.page.context.scope,
            tokeniser=Tokeniser(ring.token_key) if ring is not None else None,
        )
        try:
            cases.get(case_id)
        except NotFoundError:
            return False
        return True


def _service(page: Page) -> CaseLibraryService:
    return CaseLibraryService(page.context.session, clock=page.node.clock,
                              scope=page.context.scope)  # fmt: skip


def _numbers(value: str, field: str) -> list[int]:
    numbers = []
    for part in _SPLIT.split(value.strip()):
        if not part:
            continue
        if not part.lstrip("#").isdigit() or len(part) > 10:
            raise BadRequestError(f"'{part[:20]}' is not a number", field=field)
        numbers.append(int(part.lstrip("#")))
    return numbers


def entry_from_form(fields: dict[str, str], page: Page) -> CaseStudyWrite:
    """The form's fields as an entry; a malformed one is a 400 naming it."""
    incident = _numbers(fields.get("incident_id", ""), "incident_id")
    if len(incident) > 1:
        raise BadRequestError("name one incident", field="incident_id")
    values: dict[str, Any] = {
        "title": fields.get("title", ""),
        "category": fields.get("category", ""),
        "summary": fields.get("summary", ""),
        "what_happened": fields.get("what_happened", ""),
        "what_worked": fields.get("what_worked", ""),
        "lessons": fields.get("lessons", ""),
        "tags": [tag for tag in _SPLIT.split(fields.get("tags", "")) if tag],
        "occurred_at": page.form_time(fields.get("occurred_at", ""), "occurred_at"),
        "jurisdiction_id": fields.get("jurisdiction_id") or None,
        "incident_id": incident[0] if incident else None,
        "alert_ids": _numbers(fields.get("alert_ids", ""), "alert_ids"),
        "case_ids": [case for case in _SPLIT.split(fields.get("case_ids", "")) if case],
        "is_shared": fields.get("is_shared") == "1",
    }
    if values["occurred_at"] is None:
        raise BadRequestError("occurred_at is required", field="occurred_at")
    try:
        return CaseStudyWrite.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise BadRequestError(
            str(error["msg"]).removeprefix("Value error, "), field=str(error["loc"][0])
        ) from None


def _audit(page: Page, action: str, entry: CaseStudyRead) -> None:
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id),
        action,
        record_type="case_study",
        record_ids=[str(entry.id)],
        ip=page.context.ip,
        details={"is_shared": entry.is_shared, "via": "page"},
    )


async def _fields(page: Page) -> dict[str, str]:
    form = await page.request.form(max_files=0)
    return {name: str(value).strip() for name, value in form.items() if isinstance(value, str)}


def _form_values(entry: CaseStudyRead, page: Page) -> dict[str, str]:
    return {
        "title": entry.title,
        "category": entry.category,
        "summary": entry.summary,
        "what_happened": entry.what_happened,
        "what_worked": entry.what_worked,
        "lessons": entry.lessons,
        "tags": " ".join(entry.tags),
        "occurred_at": entry.occurred_at.astimezone(page.zone).strftime("%Y-%m-%dT%H:%M"),
        "jurisdiction_id": entry.jurisdiction_id,
        "incident_id": str(entry.incident_id or ""),
        "alert_ids": ", ".join(str(a) for a in entry.alert_ids),
        "case_ids": ", ".join(entry.case_ids),
        "is_shared": "1" if entry.is_shared else "",
    }


def _render_form(
    page: Page,
    *,
    entry_id: int | None,
    form: dict[str, str],
    error: ZhianError | None = None,
) -> HTMLResponse:
    scope: JurisdictionScope = page.context.scope
    return page.render(
        "library/entry_form.html",
        {
            "entry_id": entry_id,
            "form": form,
            "form_error": error,
            "categories": category_names(page.lang),
            "jurisdictions": sorted(scope.jurisdiction_ids) if scope.jurisdiction_ids else [],
        },
        status_code=200 if error is None else error.status_code,
    )


@router.get("/library", response_class=HTMLResponse, include_in_schema=False)
def library_page(page: PageDep) -> HTMLResponse:
    params = page.request.query_params
    fields = {
        key: (params.get(key) or "").strip() for key in ("q", "tag", "category", "from", "to")
    }
    error: ZhianError | None = None
    entries: list[CaseStudyRead] = []
    service = _service(page)
    try:
        filters = CaseStudyFilter(
            text=fields["q"][:100],
            tag=fields["tag"].lower()[:32],
            category=fields["category"],
            occurred_from=page.form_time(fields["from"], "from"),
            occurred_to=page.form_time(fields["to"], "to"),
        )
        entries = service.search(filters)
    except ZhianError as exc:
        error = exc
    return page.render(
        "library/library.html",
        {
            "entries": entries,
            "filters": fields,
            "error": error,
            "tags": service.tags(),
            "categories": category_names(page.lang),
            "may_manage": page.user.can("library.manage"),
        },
        status_code=200 if error is None else error.status_code,
    )


@router.get("/library/new", response_class=HTMLResponse, include_in_schema=False)
def new_entry_page(page: PageDep) -> HTMLResponse:
    now = page.now.astimezone(page.zone).strftime("%Y-%m-%dT%H:%M")
    form = {"occurred_at": now, "jurisdiction_id": page.context.scope.root or ""}
    for name in ("incident_id", "alert_ids", "case_ids"):  # "write up" from an alert or case
        form[name] = (page.request.query_params.get(name) or "")[:200]
    return _render_form(page, entry_id=None, form=form)


@router.post("/library", include_in_schema=False)
async def add_entry(page: PageDep) -> Response:
    fields = await _fields(page)
    try:
        data = entry_from_form(fields, page)
        created = _service(page).create(data, user_id=page.user.id, links=PageLinks(page))
        _audit(page, "case_study.create", created)
    except ZhianError as error:
        return _render_form(page, entry_id=None, form=fields, error=error)
    return RedirectResponse(f"/library/{created.id}?lang={page.lang}", status_code=303)


@router.get("/library/{study_id}", response_class=HTMLResponse, include_in_schema=False)
def entry_page(page: PageDep, study_id: StudyId) -> HTMLResponse:
    entry = _service(page).get(study_id)
    return page.render(
        "library/entry.html",
        {
            "entry": entry,
            "categories": category_names(page.lang),
            "may_edit": page.user.can("library.manage") and not entry.is_received,
        },
    )


@router.get("/library/{study_id}/edit", response_class=HTMLResponse, include_in_schema=False)
def edit_entry_page(page: PageDep, study_id: StudyId) -> HTMLResponse:
    entry = _service(page).get(study_id)
    if entry.is_received:
        raise ForbiddenError(
            f"this entry was written at node '{entry.origin_node}': change it there",
            field="study_id",
        )
    return _render_form(page, entry_id=study_id, form=_form_values(entry, page))


@router.post("/library/{study_id}", include_in_schema=False)
async def edit_entry(page: PageDep, study_id: StudyId) -> Response:
    fields = await _fields(page)
    try:
        data = entry_from_form(fields, page)
        changed = _service(page).update(study_id, data, user_id=page.user.id, links=PageLinks(page))
        _audit(page, "case_study.update", changed)
    except ZhianError as error:
        if error.status_code in (403, 404):
            raise
        return _render_form(page, entry_id=study_id, form=fields, error=error)
    return RedirectResponse(f"/library/{study_id}?lang={page.lang}", status_code=303)
