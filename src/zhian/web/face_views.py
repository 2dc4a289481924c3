"""Search by face (以图搜图): top captures like a face feature or a photo, for a case.

A face search is an image search: it needs a case number and a reason (DESIGN.md), the
case one of the user's jurisdiction (as a trajectory search does), and is refused, and the
refusal audited, otherwise. It compares only captures within the
short retention of face captures (`governance.face_days`) at devices of the user's
jurisdiction, opens each compared feature and audits the search (`faces.search`: the case
number, the reason, how many captures were compared and which matched). Results show
masked subjects and link to each capture's page, whose image is read with its own audit.

A photo (JPEG or PNG, at most `images.max_bytes`) is searched by its embedding, computed in
the node (`zhian.search.photo`) and compared only when the cameras' features are of the same
model (`faces.capture_feature_model`); the photo is decoded in memory and not kept, and the
audit entry says a photo was searched by (`probe`), with the model and the faces found, not
the photo.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

import anyio
import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from zhian.devices.service import DeviceService
from zhian.errors import (
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    PayloadTooLargeError,
    ZhianError,
)
from zhian.governance.reveal import Purpose
from zhian.node import Node
from zhian.search.faces import FaceSearchResult, probe_vector, rank_captures
from zhian.search.photo import (
    SAME_PERSON_SIMILARITY,
    PhotoProbe,
    check_comparable,
    decode_photo,
    embedder,
)
from zhian.store.passages import CaptureWindow, SealedFaceCapture
from zhian.web.auth import current_user
from zhian.web.cases_api import case_service
from zhian.web.deps import RequestContext
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

SEARCH_ACTION: Final = "faces.search"
MAX_TOP_K: Final = 50
MAX_COMPARED: Final = 20_000
DEFAULT_TOP_K: Final = 10
DEFAULT_MIN_SIMILARITY: Final = 0.6
FORM_FIELDS: Final = ("feature", "case_number", "reason", "top_k", "min_similarity", "face")
# What a search may be refused for, the refusal audited: the purpose, the probe, the photo.
REFUSALS: Final = (BadRequestError, NotFoundError, PayloadTooLargeError, ConfigurationError)
MAX_FACES: Final = 50

FACE_TEXT: dict[str, tuple[str, str]] = {
    "nav_faces": ("以图搜图", "Face search"),
    "face_title": ("以图搜图（照片或人脸特征）", "Search by face (photo or feature)"),
    "face_feature": ("人脸特征（base64 float32）", "Face feature (base64 float32)"),
    "face_photo": ("人脸照片（JPEG/PNG）", "Face photo (JPEG/PNG)"),
    "face_pick": ("人脸序号（多张人脸时）", "Face number (when several)"),
    "face_hint": (
        "上传照片或粘贴抓拍设备、视图库给出的特征值（二选一）。照片在本节点内计算特征"
        "（模型 {model}），只与同一模型的抓拍特征比对，照片本身不保存。只比对短期保留期内"
        "（{days} 天）辖区设备的抓拍；须填写案件编号与用途，查询留痕审计。"
        "最低相似度留空时：特征 0.6，照片 {photo_min}。",
        "Upload a photo or paste the feature a camera or GA/T 1400 platform gave (one of "
        "the two). A photo's embedding is computed in this node (model {model}) and compared "
        "only with capture features of the same model; the photo itself is not kept. Only "
        "captures within the short retention ({days} days) at devices of your jurisdiction "
        "are compared; a case number and a reason are required, and the search is audited. "
        "Minimum similarity left empty: 0.6 for a feature, {photo_min} for a photo.",
    ),
    "face_found": (
        "照片中找到 {n} 张人脸（按大小排列），本次使用第 {k} 张。",
        "{n} face(s) found in the photo (largest first); face {k} was used.",
    ),
    "face_largest": (
        "未选择时使用最大的一张；如需其他人脸，请填写人脸序号并重新上传照片。",
        "With none chosen the largest is used; to use another, give its number and upload "
        "the photo again.",
    ),
    "face_box": ("位置（左, 上）与宽高", "Position (left, top) and size"),
    "face_top_k": ("返回条数", "Top"),
    "face_min": ("最低相似度", "Minimum similarity"),
    "face_go": ("搜索", "Search"),
    "face_similarity": ("相似度", "Similarity"),
    "face_compared": ("已比对抓拍数", "Captures compared"),
    "face_none": ("没有达到相似度的抓拍", "No capture reaches the similarity"),
}
add_texts(FACE_TEXT)


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


def photo_probe(node: Node, photo: bytes, face: int | None) -> PhotoProbe:
    """A photo's embedding for a search: refused first when the cameras' features are of
    another model, then checked (JPEG/PNG within `images.max_bytes`), then its faces found
    and one embedded; every refusal names `photo` (or `face`). The photo is not kept."""
    settings = node.settings
    check_comparable(settings.faces.capture_feature_model)
    pixels = decode_photo(photo, max_bytes=settings.images.max_bytes,
                          max_side=settings.faces.photo_max_side)  # fmt: skip
    return embedder().probe(pixels, face=face)


def photo_details(probe: PhotoProbe) -> dict[str, object]:
    """What the audit entry keeps of a search by photo: never the photo or its embedding."""
    return {"probe": "photo", "model": probe.model, "faces_found": len(probe.faces),
            "face_used": probe.chosen}  # fmt: skip


async def uploaded(upload: object, max_bytes: int) -> bytes:
    """The bytes of an uploaded file (empty when none was chosen), read up to one byte past
    `max_bytes` so that a larger file is refused without reading all of it."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return b""
    return await upload.read(max_bytes + 1)


async def _photo(page: Page, form: dict[str, str], photo: bytes) -> PhotoProbe | None:
    """The photo's embedding (in a worker thread: about a second of CPU), or None when the
    search is by feature."""
    if not photo:
        return None
    if form["feature"]:
        raise BadRequestError("give a photo or a feature, not both", field="photo")
    face = int(_number(form["face"], "face", 1, 1, MAX_FACES)) if form["face"] else None
    return await anyio.to_thread.run_sync(photo_probe, page.node, photo, face)


def _search(
    page: Page, form: dict[str, str], found: PhotoProbe | None, purpose: Purpose
) -> FaceSearchResult:
    if found is not None:
        probe, details = found.vector, photo_details(found)
    elif form["feature"]:
        probe, details = probe_vector(form["feature"]), {"probe": "feature"}
    else:
        raise BadRequestError("give a face photo or a face feature", field="photo")
    top_k = int(_number(form["top_k"], "top_k", DEFAULT_TOP_K, 1, MAX_TOP_K))
    default = DEFAULT_MIN_SIMILARITY if found is None else SAME_PERSON_SIMILARITY
    minimum = _number(form["min_similarity"], "min_similarity", default, -1.0, 1.0)
    return search_faces(page.context, probe, purpose, top_k=top_k, min_similarity=minimum,
                        now=page.now, details=details)  # fmt: skip


def search_faces(
    context: RequestContext,
    probe: npt.NDArray[np.float32],
    purpose: Purpose,
    *,
    top_k: int,
    min_similarity: float,
    now: datetime,
    details: Mapping[str, object] | None = None,
) -> FaceSearchResult:
    """The page's and the API's search: the captures of the user's jurisdiction within the
    face retention, each compared feature opened, the search audited (`faces.search`) with
    the checked purpose, the captures matched, how many were compared and `details` (what
    the probe was: a feature, or a photo with its model and faces found)."""
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
            **(details or {}),
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
    photo: PhotoProbe | None = None,
    error: ZhianError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    days = page.node.settings.governance.face_days
    hint = page.t["face_hint"].replace("{days}", f"{days:g}").replace("{model}", "dlib-resnet-v1")
    found = "" if photo is None else page.t["face_found"].replace(
        "{n}", str(len(photo.faces))).replace("{k}", str(photo.chosen))  # fmt: skip
    response = page.render(
        "face_search.html",
        {
            "form": form,
            "result": result,
            "photo": photo,
            "found": found,
            "error": error,
            "hint": hint.replace("{photo_min}", f"{SAME_PERSON_SIMILARITY:g}"),
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
    form = {name: _field(raw.get(name)) for name in FORM_FIELDS}
    purpose = Purpose(form["case_number"] or None, form["reason"] or None)
    try:
        try:
            photo = await uploaded(raw.get("photo"), page.node.settings.images.max_bytes)
        finally:
            await raw.close()  # the upload's spooled file, at once rather than at collection
        checked = checked_purpose(page.context, form["case_number"], form["reason"])
        found = await _photo(page, form, photo)
        result = _search(page, form, found, checked)
    except REFUSALS as error:
        refuse_search(page.context, purpose, error)
        return _render(page, form, error=error, status_code=error.status_code)
    return _render(page, form, result, photo=found)


def _field(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
