"""Search (综合查询): the page and its JSON API, one box across the jurisdiction.

The text travels in a POST body, never in the address: a plate or an ID-card number typed
into the box would otherwise sit in the browser's history and every access log. Each
kind of result needs the permission of the page it links to (a device needs
`devices.view`, a case `cases.view` …), so the search shows no kind the user could not
open. People are found by keyed token of the exact ID-card number or name; every such
look-up is audited (`search.person`) with the token, never the value, and the hits show
masked names.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from zhian.access.service import UserRead
from zhian.cases.service import CaseService
from zhian.errors import BadRequestError
from zhian.search.service import SearchHit, SearchKind, SearchResults, SearchService
from zhian.web.auth import current_user
from zhian.web.deps import Context, RequestContext
from zhian.web.i18n import add_texts
from zhian.web.layout import PageDep
from zhian.web.openapi_errors import error_responses

router = APIRouter(tags=["search"], dependencies=[Depends(current_user)])

PERSON_ACTION = "search.person"

# The permission each kind of hit needs: that of the page it links to.
KIND_PERMISSIONS: dict[SearchKind, str] = {
    SearchKind.PLATE: "residents.view",
    SearchKind.PERSON: "residents.view",
    SearchKind.COMMUNITY: "residents.view",
    SearchKind.ADDRESS: "residents.view",
    SearchKind.HOUSE: "residents.view",
    SearchKind.DEVICE: "devices.view",
    SearchKind.ALERT: "alerts.view",
    SearchKind.CASE: "cases.view",
}

SEARCH_TEXT: dict[str, tuple[str, str]] = {
    "nav_search": ("综合查询", "Search"),
    "search_title": ("综合查询", "Search"),
    "search_placeholder": (
        "车牌、身份证号、姓名、社区、地址、房号、设备、预警编号、案件编号",
        "Plate, ID number, name, community, address, house, device, alert or case number",
    ),
    "search_go": ("查询", "Search"),
    "search_none": ("辖区内未找到匹配结果", "Nothing in your jurisdiction matches"),
    "search_near": ("疑似误识（差一个字符）", "Possible misread (one character differs)"),
    "search_person_hint": (
        "按身份证号或姓名精确查询人员，查询留痕审计；结果已脱敏",
        "People are found by exact ID number or name; the look-up is audited and results "
        "are masked",
    ),
    "search_passages": ("查询通行记录", "Passage records"),
    "search_kind_plate": ("车辆", "Vehicles"),
    "search_kind_person": ("人员", "People"),
    "search_kind_community": ("社区", "Communities"),
    "search_kind_address": ("地址（楼栋）", "Addresses (buildings)"),
    "search_kind_house": ("房屋", "Houses"),
    "search_kind_device": ("设备", "Devices"),
    "search_kind_alert": ("预警", "Alerts"),
    "search_kind_case": ("案件", "Cases"),
}
add_texts(SEARCH_TEXT)


class SearchRequest(BaseModel):
    """The search box's text."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=1, max_length=100, description="what to look for")


class SearchHitRead(BaseModel):
    kind: SearchKind
    id: str
    label: str = Field(description="identities and plates masked")
    detail: str
    href: str
    is_exact: bool = Field(description="false: a plate one character away from the one typed")


class SearchResultsRead(BaseModel):
    query: str
    total: int
    groups: dict[SearchKind, list[SearchHitRead]]


def allowed_kinds(user: UserRead) -> set[SearchKind]:
    return {kind for kind, needed in KIND_PERMISSIONS.items() if user.can(needed)}


def run_search(context: RequestContext, text: str) -> SearchResults:
    """Search as `context.user`, mask the people found and audit the look-up of people."""
    sealer = context.node.governance.sealer
    tokeniser = sealer.tokeniser if sealer is not None else None
    service = SearchService(
        context.session,
        scope=context.scope,
        kinds=allowed_kinds(context.user),
        tokeniser=tokeniser,
        alerts=context.alerts,
        cases=CaseService(
            context.session,
            clock=context.node.clock,
            settings=context.node.settings.cases,
            scope=context.scope,
            tokeniser=tokeniser,
        ),
    )
    results = service.search(text)
    lookup = results.person_lookup
    if lookup is not None:
        context.reveal.record_read(
            context.user,
            context.read(
                PERSON_ACTION,
                "resident",
                *lookup.resident_ids,
                by=lookup.by,
                query_token=lookup.token,
                matches=len(lookup.resident_ids),
            ),
        )
        people = results.groups.get(SearchKind.PERSON, [])
        results.groups[SearchKind.PERSON] = [_masked(context, hit) for hit in people]
    return results


def _masked(context: RequestContext, hit: SearchHit) -> SearchHit:
    masked = context.reveal.masked(hit.id, scope=context.scope)
    name = masked.name if masked is not None and masked.name else hit.id
    return SearchHit(hit.kind, hit.id, name, hit.detail, hit.href, hit.is_exact)


def _read(results: SearchResults) -> SearchResultsRead:
    return SearchResultsRead(
        query=results.query,
        total=results.total,
        groups={
            kind: [SearchHitRead(**asdict(hit)) for hit in hits]
            for kind, hits in results.groups.items()
        },
    )


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_page(page: PageDep) -> HTMLResponse:
    return _render(page, None, "")


@router.post("/search", response_class=HTMLResponse, include_in_schema=False)
async def search_submit(page: PageDep) -> HTMLResponse:
    form = await page.request.form()
    text = str(form.get("q") or "")
    try:
        results = run_search(page.context, text)
    except BadRequestError as error:
        return _render(page, None, text, error=error, status_code=400)
    return _render(page, results, text)


def _render(
    page: PageDep,
    results: SearchResults | None,
    text: str,
    *,
    error: BadRequestError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    response = page.render(
        "search.html",
        {
            "results": results,
            "text": text,
            "error": error,
            "kinds": list(SearchKind),
            "may_passages": page.user.can("passages.view"),
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(
    "/api/v1/search",
    response_model=SearchResultsRead,
    responses=error_responses(400, 401, 403),
    summary="Search plates, people, places, devices, alerts and cases in your jurisdiction",
)
def search_api(body: SearchRequest, context: Context) -> JSONResponse:
    """One text across the kinds of record the caller may open, grouped by kind. A plate
    also finds plates one character away (a camera's misread, `is_exact` false); people
    are found by exact ID-card number or name only, masked, and the look-up is audited."""
    results = run_search(context, body.q)
    response = JSONResponse(_read(results).model_dump(mode="json"))
    response.headers["Cache-Control"] = "no-store"
    return response
