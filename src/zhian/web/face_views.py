"""Search by face (以图搜图): top captures like a face feature, for a case.

A face search is an image search: it needs a case number and a reason (DESIGN.md) and is
refused, and the refusal audited, without them. It compares only captures within the
short retention of face captures (`governance.face_days`) at devices of the user's
jurisdiction, opens each compared feature and audits the search (`faces.search`: the case
number, the reason, how many captures were compared and which matched). Results show
masked subjects and link to each capture's page, whose image is read with its own audit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, ZhianError
from zhian.governance.reveal import Purpose
from zhian.search.faces import FaceSearchResult, probe_vector, rank_captures
from zhian.store.passages import CaptureWindow, SealedFaceCapture
from zhian.web.auth import current_user
from zhian.web.i18n import TEXT
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

SEARCH_ACTION: Final = "faces.search"
MAX_TOP_K: Final = 50
MAX_COMPARED: Final = 20_000
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


def _purpose(form: dict[str, str]) -> Purpose:
    purpose = Purpose(form["case_number"] or None, form["reason"] or None)
    if not purpose.case_number or not (purpose.reason or "").strip():
        raise BadRequestError("a face search needs a case number and a reason", field="case_number")
    return purpose.checked()


def _search(page: Page, form: dict[str, str], purpose: Purpose) -> FaceSearchResult:
    context = page.context
    probe = probe_vector(form["feature"])
    top_k = int(_number(form["top_k"], "top_k", 10, 1, MAX_TOP_K))
    minimum = _number(form["min_similarity"], "min_similarity", 0.6, -1.0, 1.0)
    sealer = page.node.vault
    now = page.now
    devices = DeviceService(context.session).list_devices(scope=context.scope)
    window = CaptureWindow(
        since=now - timedelta(days=page.node.settings.governance.face_days),
        until=now,
        device_ids=None if context.scope.is_unscoped else tuple(d.id for d in devices),
        limit=MAX_COMPARED,
    )
    captures = page.node.event_reads.sealed_captures(window)

    def open_feature(capture: SealedFaceCapture) -> str:
        return sealer.open_feature(capture.device_id, capture.event_id, capture.feature)

    result = rank_captures(probe, captures, open_feature, top_k=top_k, min_similarity=minimum)
    context.reveal.record_read(
        context.user,
        context.read(
            SEARCH_ACTION,
            "face_event",
            *(f"{m.device_id}/{m.event_id}" for m in result.matches),
            compared=result.compared,
            top_k=top_k,
            min_similarity=minimum,
            since=window.since.isoformat(),
        ),
        purpose=purpose,
    )
    return result


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
        checked = _purpose(form)
        result = _search(page, form, checked)
    except BadRequestError as error:
        read = page.context.read(SEARCH_ACTION, "face_event")
        page.context.reveal.refuse(page.user, purpose, read, error)
        return _render(page, form, error=error, status_code=400)
    return _render(page, form, result)
