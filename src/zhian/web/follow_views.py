"""The follow list (辖区关注): follow or stop following a person, vehicle or house from its
archive page; the workbench shows what happened to each since it was followed.

Following a person needs a stated reason; every follow and unfollow is audited with it.
What the workbench shows per subject: for a house, the alerts and the passages at its own
doors (devices placed at the house) since it was followed; for a person or a vehicle,
their passages at devices of the user's jurisdiction since it was followed (found by
keyed token, masked: `zhian.store.passages`), and the link to the archive.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from zhian.alerts.schemas import AlertFilter
from zhian.audit.service import Actor
from zhian.devices.schemas import DeviceRead
from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError
from zhian.follows.models import FollowKind
from zhian.follows.service import FollowRead, FollowService
from zhian.registry.search import RegistrySearch
from zhian.store.passages import PassageFilter
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

FollowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]  # an INTEGER column in PostgreSQL
RECENT_SHOWN = 5
ARCHIVE_PATHS = {
    FollowKind.PERSON: "/residents/",
    FollowKind.VEHICLE: "/archives/vehicles/",
    FollowKind.HOUSE: "/archives/houses/",
}

FOLLOW_TEXT: dict[str, tuple[str, str]] = {
    "fol_title": ("我的关注", "Following"),
    "fol_follow": ("关注", "Follow"),
    "fol_unfollow": ("取消关注", "Unfollow"),
    "fol_following": ("已关注", "Following"),
    "fol_reason": ("关注理由", "Reason"),
    "fol_reason_hint": (
        "关注人员须说明理由（案件编号或原因），留痕审计",
        "Following a person needs a reason (case number or why); audited",
    ),
    "fol_none": ("尚未关注任何人员、车辆或房屋", "You follow no person, vehicle or house"),
    "fol_kind_person": ("人员", "Person"),
    "fol_kind_vehicle": ("车辆", "Vehicle"),
    "fol_kind_house": ("房屋", "House"),
    "fol_new_alerts": ("新预警", "New alerts"),
    "fol_new_passages": ("新通行", "New passages"),
}
add_texts(FOLLOW_TEXT)


def _audit(page: Page, action: str, follow: FollowRead, reason: str | None) -> None:
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id),
        action,
        record_type=follow.kind.value,
        record_ids=[follow.subject_id],
        ip=page.context.ip,
        purpose=reason,
        details={"follow_id": follow.id},
    )


def archive_url(follow: FollowRead, lang: str) -> str:
    return f"{ARCHIVE_PATHS[follow.kind]}{follow.subject_id}?lang={lang}"


def follow_state(page: Page, kind: FollowKind, subject_id: str) -> FollowRead | None:
    """The user's follow of a subject, for the archive pages' follow button."""
    return FollowService(page.context.session).find(page.user.id, kind, subject_id)


def workbench_follows(page: Page) -> list[dict[str, Any]]:
    """The user's follows with what happened since each was followed (see the module)."""
    context = page.context
    follows = FollowService(context.session).follows_of(page.user.id)
    if not follows:
        return []
    devices = DeviceService(context.session).list_devices(scope=context.scope)
    rows = []
    for follow in follows:
        alerts: list[Any] = []
        passages: list[Any] = []
        if follow.kind is FollowKind.HOUSE:
            doors = [d.id for d in devices if d.house_id == follow.subject_id]
            for door in doors:
                alerts += context.alerts.list_alerts(
                    AlertFilter(place=door, since=follow.created_at),
                    scope=context.scope,
                    per_page=RECENT_SHOWN,
                ).items
                passages += [
                    event
                    for event in page.node.event_reads.recent_events(
                        limit=RECENT_SHOWN, device_id=door
                    )
                    if event.time >= follow.created_at
                ]
        else:
            passages = _subject_passages(page, follow, devices)
        rows.append(
            {
                "follow": follow,
                "url": archive_url(follow, page.lang),
                "alerts": alerts[:RECENT_SHOWN],
                "passages": sorted(passages, key=lambda e: e.time, reverse=True)[:RECENT_SHOWN],
            }
        )
    return rows


def _subject_passages(page: Page, follow: FollowRead, devices: list[DeviceRead]) -> list[Any]:
    """A followed person's or vehicle's passages since the follow, at devices in scope,
    looked up by keyed token (no key ring: none)."""
    sealer = page.node.governance.sealer
    if sealer is None:
        return []
    token = sealer.tokeniser.token
    registry = RegistrySearch(page.context.session)
    if follow.created_at >= page.now:
        return []
    search = PassageFilter(
        since=follow.created_at,
        until=page.now,
        device_ids=None if page.context.scope.is_unscoped else tuple(d.id for d in devices),
        limit=RECENT_SHOWN,
    )
    if follow.kind is FollowKind.VEHICLE:
        plate = registry.plate_token_of(follow.subject_id)
        if plate is None:
            return []
        search = msgspec.structs.replace(search, plate_tokens=(plate,))
    else:
        tokens = [token("subject", follow.subject_id)]
        card = registry.card_token_of(follow.subject_id)
        tokens += [card] if card is not None else []
        search = msgspec.structs.replace(search, subject_tokens=tuple(tokens))
    return list(page.node.event_reads.passages(search))


def _back(page: Page, fallback: str) -> str:
    """Where the form came from (a local archive page), else `fallback`."""
    back = page.request.headers.get("referer", "")
    origin = f"{page.request.url.scheme}://{page.request.url.netloc}"
    path = back.removeprefix(origin)
    if path.startswith(("/archives/", "/residents/", "/workbench")) and "//" not in path:
        return path
    return fallback


@router.post("/follows", include_in_schema=False)
async def follow_subject(page: PageDep) -> Response:
    form = await page.request.form()
    fields = {
        name: str(form.get(name) or "").strip()[:600] for name in ("kind", "subject_id", "reason")
    }
    if not fields["subject_id"]:
        raise BadRequestError("name what to follow", field="subject_id")
    follow = FollowService(page.context.session).follow(
        page.user.id,
        fields["kind"],
        fields["subject_id"][:64],
        reason=fields["reason"],
        scope=page.context.scope,
        now=page.now,
    )
    _audit(page, "follow.add", follow, follow.reason)
    return RedirectResponse(_back(page, archive_url(follow, page.lang)), status_code=303)


@router.post("/follows/{follow_id}/remove", include_in_schema=False)
def unfollow_subject(page: PageDep, follow_id: FollowId) -> Response:
    service = FollowService(page.context.session)
    mine = {f.id: f for f in service.follows_of(page.user.id)}
    service.unfollow(page.user.id, follow_id)
    _audit(page, "follow.remove", mine[follow_id], None)
    return RedirectResponse(_back(page, f"/workbench?lang={page.lang}"), status_code=303)
