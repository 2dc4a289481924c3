"""The patrol check-ins page (巡逻打卡记录): who checked in at which patrol point and when,
in the user's jurisdiction, by patrol member, point and period (`alerts.dispatch`: those
who send patrols). Reading it is audited: a check-in is where a staff member stood.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from zhian.access.service import AccessService
from zhian.audit.service import Actor
from zhian.errors import BadRequestError, ZhianError
from zhian.patrol.service import CheckinRead, PatrolService
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

_PAIRS: dict[str, tuple[str, str]] = {
    "nav_checkins": ("巡逻打卡", "Check-ins"),
    "checkins_title": ("巡逻打卡记录", "Patrol check-ins"),
    "checkins_member": ("巡逻人员", "Patrol member"),
    "checkins_point": ("巡逻点", "Patrol point"),
    "checkins_all": ("全部", "All"),
    "checkins_from": ("时间起", "From"),
    "checkins_to": ("时间止", "To"),
    "checkins_filter": ("筛选", "Filter"),
    "checkins_time": ("打卡时间", "Checked in at"),
    "checkins_distance": ("距巡逻点", "From the point"),
    "checkins_empty": ("没有符合条件的打卡记录", "No check-in matches"),
    "checkins_count": ("条记录", "check-ins"),
}
add_texts(_PAIRS)


@router.get("/patrol/checkins", response_class=HTMLResponse, include_in_schema=False)
def checkins_page(page: PageDep) -> HTMLResponse:
    params = page.request.query_params
    fields = {key: (params.get(key) or "").strip() for key in ("user", "point", "from", "to")}
    session = page.context.session
    scope = page.context.scope
    buildings = RegistryService(session).buildings(scope=scope)
    checkins: list[CheckinRead] = []
    error: ZhianError | None = None
    try:
        user_id = None
        if fields["user"]:
            if not fields["user"].isdigit() or len(fields["user"]) > 10:
                raise BadRequestError("user must be a user number", field="user")
            user_id = int(fields["user"])
        service = PatrolService(session, buildings=buildings, scope=scope, user_id=page.user.id)
        checkins = service.checkins(
            user_id=user_id,
            building_id=fields["point"][:64] or None,
            since=page.form_time(fields["from"], "from"),
            until=page.form_time(fields["to"], "to"),
        )
    except ZhianError as exc:
        error = exc
    access = AccessService(session)
    users = {user.id: user for user in access.list_users()}
    # The members shown in the filter: those who checked in within the scope.
    everyone = PatrolService(session, buildings=buildings, scope=scope, user_id=page.user.id)
    members = sorted(
        {c.user_id for c in everyone.checkins(limit=5000)},
        key=lambda uid: users[uid].display_name if uid in users else str(uid),
    )
    page.node.governance.audit(session).record(
        Actor.user(page.user.id),
        "patrol.checkins_view",
        record_type="patrol_checkin",
        record_ids=[str(c.id) for c in checkins[:100]],
        ip=page.context.ip,
        details={key: value for key, value in fields.items() if value},
    )
    return page.render(
        "patrol_checkins.html",
        {
            "checkins": checkins,
            "filters": fields,
            "error": error,
            "users": users,
            "members": members,
            "buildings": {b.id: b for b in buildings},
        },
        status_code=200 if error is None else error.status_code,
    )
