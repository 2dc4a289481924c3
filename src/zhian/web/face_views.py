"""Search by face (以图搜图): top captures like a face feature, for a case.

A face search is an image search: it needs a case number and a reason (DESIGN.md), the
case one of the user's jurisdiction (as a trajectory search does), and is refused, and the
refusal audited, otherwise. It compares only captures within the
short retention of face captures (`governance.face_days`) at devices of the user's
jurisdiction, opens each compared feature and audits the search (`faces.search`: the case
number, the reason, how many captures were compared and which matched). Results show
masked subjects and link to each capture's page, whose image is read with its own audit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, NotFoundError, ZhianError
from zhian.governance.reveal import Purpose
from zhian.search.faces import FaceSearchResult, probe_vector, rank_captures
from zhian.store.passages import CaptureWindow, SealedFaceCapture
from zhian.web.auth import current_user
from zhian.web.cases_api import case_service
from zhian.web.deps import RequestContext
from zhian.web.i18n import TEXT
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

SEARCH_ACTION: Final = "faces.search"
MAX_TOP_K: Final = 50
MAX_COMPARED: Final = 20_000
DEFAULT_TOP_K: Final = 10
DEFAULT_MIN_SIMILARITY: Final = 0.6
FORM_FIELDS: Final = ("feature", "case_number", "reason", "top_k", "min_similarity")

FACE_TEXT: dict[str, tuple[str, str]] = {
    "nav_faces": ("以图搜图", "Face search"),
    "face_title": ("以图搜图（人脸特征）", "Search by face (feature)"),
    "face_feature": ("人脸特征（base64 float32）", "Face feature (base64 float32)"),
    "face_hint": (
        "本系统不做人脸识别建模：请粘贴抓拍设备或视图库给出的特征值。只比对短期保留期内"
        "（{days} 天）辖区设备的抓拍；须填写案件编号与用途，查询留痕审计。",
        "Zhian runs no face-recognition network: paste the feature a camera or GA/T 1400 "
        "platform gave. Only captures within the short retention ({days} days) at devices "
        "of your jurisdiction are compared; a case number and a reason are required, and "
        "the search is audited.",
    ),
    "face_top_k": ("返回条数", "Top"),
    "face_min": ("最低相似度", "Minimum similarity"),
    "face_go": ("搜索", "Search"),
    "face_similarity": ("相似度", "Similarity"),
    "face_compared": ("已比对抓拍数", "Captures compared"),
    "face_none": ("没有达到相似度的抓拍", "No capture reaches the similarity"),
}
for _key, (_zh, _en) in FACE_TEXT.items():
    TEXT["zh"].setdefault(_key, _zh)
    TEXT["en"].setdefault(_key, _en)


def _number(value: str, name: str, default: float, low: float, high: float) -> float:
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise BadRequestError(f"'{value[:20]}' is not a number", field=name) from None
    if not low <= number <= high:
        raise BadRequestError(f"must be from {low:g} to {high:g}", field=name)
    return number


def _search(page: Page, form: dict[str, str], purpose: Purpose) -> FaceSearchResult:
    probe = probe_vector(form["feature"])
    top_k = int(_number(form["top_k"], "top_k", DEFAULT_TOP_K, 1, MAX_TOP_K))
    minimum = _number(form["min_similarity"], "min_similarity", DEFAULT_MIN_SIMILARITY, -1.0, 1.0)
    return search_faces(page.context, probe, purpose, top_k=top_k, min_similarity=minimum,
                        now=page.now)  # fmt: skip


def search_faces(
    context: RequestContext,
    probe: npt.NDArray[np.float32],
    purpose: Purpose,
    *,
    top_k: int,
    min_similarity: float,
    now: datetime,
) -> FaceSearchResult:
    """The page's and the API's search: the captures of the user's jurisdiction within the
    face retention, each compared feature opened, the search audited (`faces.search`) with
    the checked purpose, the captures matched and how many were compared."""
    node = context.node
    sealer = node.vault
    devices = DeviceService(context.session).list_devices(scope=context.scope)
    window = CaptureWindow(
        since=now - timedelta(days=node.settings.governance.face_days),
        until=now,
        device_ids=None if context.scope.is_unscoped else tuple(d.id for d in devices),
        limit=MAX_COMPARED,
    )
    captures = node.event_reads.sealed_captures(window)

    def open_feature(capture: SealedFaceCapture) -> str:
        return sealer.open_feature(capture.device_id, capture.event_id, capture.feature)

    result = rank_captures(
        probe, captures, open_feature, top_k=top_k, min_similarity=min_similarity
    )
    context.reveal.record_read(
        context.user,
        context.read(
            SEARCH_ACTION,
            "face_event",
            *(f"{m.device_id}/{m.event_id}" for m in result.matches),
            compared=result.compared,
            top_k=top_k,
            min_similarity=min_similarity,
            since=window.since.isoformat(),
        ),
        purpose=purpose,
    )
    return result


def checked_purpose(
    context: RequestContext, case_number: str | None, reason: str | None
) -> Purpose:
    """The purpose of a face search, as a trajectory search checks it: BadRequestError
    naming `case_number` (both the case number and a reason are required) or the field the
    purpose check names; NotFoundError naming `case_number` when no case of that number is
    in the user's jurisdiction."""
    purpose = Purpose(case_number or None, reason or None)
    if not purpose.case_number or not (purpose.reason or "").strip():
        raise BadRequestError("a face search needs a case number and a reason", field="case_number")
    checked = purpose.checked()
    number = (checked.case_number or "").strip()
    try:
        case_service(context).get(number)
    except NotFoundError:
        raise NotFoundError(f"no case '{number[:64]}' in your jurisdiction",
                            field="case_number") from None  # fmt: skip
    return checked


def refuse_search(context: RequestContext, purpose: Purpose, error: ZhianError) -> None:
    """Audit a refused face search (`faces.search.refused`)."""
    context.reveal.refuse(context.user, purpose, context.read(SEARCH_ACTION, "face_event"), error)


def _render(
    page: Page,
    form: dict[str, str],
    result: FaceSearchResult | None = None,
    *,
    error: ZhianError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    days = page.node.settings.governance.face_days
    response = page.render(
        "face_search.html",
        {
            "form": form,
            "result": result,
            "error": error,
            "hint": page.t["face_hint"].replace("{days}", f"{days:g}"),
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/face-search", response_class=HTMLResponse, include_in_schema=False)
def face_search_page(page: PageDep) -> HTMLResponse:
    return _render(page, {name: "" for name in FORM_FIELDS})


@router.post("/face-search", response_class=HTMLResponse, include_in_schema=False)
async def face_search(page: PageDep) -> HTMLResponse:
    raw = await page.request.form()
    form = {name: str(raw.get(name) or "").strip() for name in FORM_FIELDS}
    purpose = Purpose(form["case_number"] or None, form["reason"] or None)
    try:
        checked = checked_purpose(page.context, form["case_number"], form["reason"])
        result = _search(page, form, checked)
    except (BadRequestError, NotFoundError) as error:
        refuse_search(page.context, purpose, error)
        return _render(page, form, error=error, status_code=error.status_code)
    return _render(page, form, result)
