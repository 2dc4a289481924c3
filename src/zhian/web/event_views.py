"""An event's own page (事件详情): a door, vehicle or face passage with its image, or an
alarm, heartbeat or crowd count with its details.

The page shows a passage as the list does (identifiers masked) and, when the event
carries one, its image: a face capture, a vehicle snapshot or a GA/T 1400 sub-image, all
stored sealed (`zhian.ingest.images`). The image is served only for the event that refers
to it (no browsing of the image store by reference), only to a user whose jurisdiction
holds the device, and each read, thumbnail or full, is audited (`event_image.read`).
Viewing the page is audited too (`event.view`): it is a read of a person's passage.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response

from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, NotFoundError
from zhian.kit.thumbnails import thumbnail
from zhian.store.passages import PASSAGE_TYPES, PassageDetail
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

Identifier = Annotated[str, PathParam(min_length=1, max_length=64)]

EVENT_TEXT: dict[str, tuple[str, str]] = {
    "evt_title": ("通行详情", "Passage"),
    "evt_image": ("抓拍图片（查看留痕审计）", "Capture (each view is audited)"),
    "evt_no_image": ("该事件没有图片", "This event has no image"),
    "evt_full": ("查看原图", "Full image"),
    "evt_event_id": ("事件编号", "Event id"),
    "evt_title_event": ("事件详情", "Event"),
    "pas_type_alarm": ("报警", "Alarm"),
    "pas_type_heartbeat": ("心跳", "Heartbeat"),
    "pas_type_crowd": ("客流", "Crowd count"),
}
add_texts(EVENT_TEXT)


def visible_passage(page: Page, device_id: str, event_id: str) -> PassageDetail:
    """The passage at a device of the user's jurisdiction; 404 otherwise, as for one that
    does not exist."""
    context = page.context
    in_scope = {d.id for d in DeviceService(context.session).list_devices(scope=context.scope)}
    detail = page.node.event_reads.passage(device_id, event_id) if device_id in in_scope else None
    if detail is None:
        where = "" if context.scope.is_unscoped else " in your jurisdiction"
        raise NotFoundError(
            f"no passage '{event_id[:64]}' at device '{device_id[:64]}'{where}", field="event_id"
        )
    return detail


@router.get("/events/{device_id}/{event_id}", response_class=HTMLResponse, include_in_schema=False)
def event_page(page: PageDep, device_id: Identifier, event_id: Identifier) -> HTMLResponse:
    detail = visible_passage(page, device_id, event_id)
    context = page.context
    context.reveal.record_read(
        context.user,
        context.read("event.view", "event", event_id, device_id=device_id, masked=True),
    )
    response = page.render(
        "event.html",
        {
            "passage": detail.record,
            "has_image": bool(detail.image),
            "is_passage": detail.record.type in PASSAGE_TYPES,
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/events/{device_id}/{event_id}/image", include_in_schema=False)
def event_image(
    page: PageDep,
    device_id: Identifier,
    event_id: Identifier,
    size: Annotated[Literal["full", "thumb"], Query()] = "full",
) -> Response:
    detail = visible_passage(page, device_id, event_id)
    if detail.image is None:
        # As for an alert's image it does not hold: 400, never a read of the image store.
        raise BadRequestError(f"passage '{event_id[:64]}' has no image", field="event_id")
    context = page.context
    context.reveal.record_read(
        context.user,
        context.read(
            "event_image.read",
            "image",
            detail.image,
            event_id=event_id,
            device_id=device_id,
            size=size,
        ),
    )
    data = page.node.images.read(detail.image)
    headers = {"Cache-Control": "private, no-store"}
    if size == "thumb":
        try:
            return Response(thumbnail(data), media_type="image/jpeg", headers=headers)
        except ValueError as error:
            raise BadRequestError(
                f"image of '{event_id[:64]}': {error}", field="event_id"
            ) from None
    media_type = "image/png" if detail.image.endswith(".png") else "image/jpeg"
    return Response(data, media_type=media_type, headers=headers)
