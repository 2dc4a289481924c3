"""The incident list (合并事件): the incidents of the user's jurisdiction with their alerts,
each incident's own tier (the highest of its alerts), state (open while any alert is) and
summary; filters by state, tier and the period it opened in (`alerts.view`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from zhian.alerts.drafts import TIER_ORDER
from zhian.alerts.incidents import INCIDENT_STATES, IncidentRead, IncidentReadService
from zhian.errors import BadRequestError, ZhianError
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

_PAIRS: dict[str, tuple[str, str]] = {
    "nav_incidents": ("合并事件", "Incidents"),
    "incidents_title": ("合并事件", "Incidents"),
    "incidents_note": (
        "同一地点、相近时间的多条预警（设备告警、群众举报、110 警情、巡逻上报）合并为一个事件；"
        "事件等级取其预警中的最高等级。",
        "Alerts at one place close in time (device alarms, tips, 110 calls, patrol reports) "
        "form one incident; its tier is the highest of its alerts.",
    ),
    "incidents_state": ("状态", "State"),
    "incidents_state_open": ("处置中", "open"),
    "incidents_state_closed": ("已结项", "closed"),
    "incidents_tier": ("等级", "Tier"),
    "incidents_all": ("全部", "All"),
    "incidents_from": ("发生时间起", "From"),
    "incidents_to": ("发生时间止", "To"),
    "incidents_filter": ("筛选", "Filter"),
    "incidents_empty": ("没有符合条件的事件", "No incident matches"),
    "incidents_place": ("地点", "Place"),
    "incidents_opened": ("开始", "Opened"),
    "incidents_last": ("最近预警", "Last alert"),
    "incidents_summary": ("概况", "Summary"),
    "incidents_alerts": ("预警", "Alerts"),
    "incidents_reports": ("报告数", "Reports"),
    "incidents_write_up": ("写入案例库", "Write up in the case library"),
}
add_texts(_PAIRS)


@router.get("/incidents", response_class=HTMLResponse, include_in_schema=False)
def incidents_page(page: PageDep) -> HTMLResponse:
    params = page.request.query_params
    fields = {key: (params.get(key) or "").strip() for key in ("state", "tier", "from", "to", "id")}
    incidents: list[IncidentRead] = []
    error: ZhianError | None = None
    try:
        if fields["state"] and fields["state"] not in INCIDENT_STATES:
            raise BadRequestError(
                f"state must be one of {', '.join(INCIDENT_STATES)}", field="state"
            )
        if fields["tier"] and fields["tier"] not in TIER_ORDER:
            raise BadRequestError(f"tier must be one of {', '.join(TIER_ORDER)}", field="tier")
        ids = None
        if fields["id"]:
            if not fields["id"].isdigit() or len(fields["id"]) > 10:
                raise BadRequestError("id must be an incident number", field="id")
            ids = [int(fields["id"])]
        reads = IncidentReadService(page.context.session, scope=page.context.scope)
        incidents = reads.list_incidents(
            state=fields["state"] or None,
            tier=fields["tier"] or None,
            opened_from=page.form_time(fields["from"], "from"),
            opened_to=page.form_time(fields["to"], "to"),
            ids=ids,
        )
    except ZhianError as exc:
        error = exc
    return page.render(
        "incidents.html",
        {
            "incidents": incidents,
            "filters": fields,
            "error": error,
            "states": INCIDENT_STATES,
            "tiers": tuple(TIER_ORDER),
            "may_write_up": page.user.can("library.manage"),
        },
        status_code=200 if error is None else error.status_code,
    )
