"""Search by face (以图搜图) as JSON: the top captures like a face feature, for a case.

The same search as the page `/face-search` (`zhian.web.face_views`): a POST, so the
feature and the purpose stay out of URLs; a case number and a reason are required and a
search without them is refused (400 naming `case_number`), as is one whose case is not
in the user's jurisdiction (404 naming `case_number`), and the refusal audited
(`faces.search.refused`); an allowed one is audited (`faces.search`) with the captures
matched and how many were compared. Subjects come back masked. Needs `faces.search`.

`/faces/search-by-photo` takes a photo instead (`photo`: base64 of a JPEG or PNG file, at
most `images.max_bytes` decoded), computes its embedding in the node and runs the same
search, refused and audited in the same way; the photo is not kept (docs/search.md).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError
from zhian.governance.reveal import Purpose
from zhian.search.faces import MAX_FEATURE_CHARS, FaceSearchResult, probe_vector
from zhian.search.photo import SAME_PERSON_SIMILARITY
from zhian.web.auth import current_user
from zhian.web.deps import Context, RequestContext
from zhian.web.face_views import (
    DEFAULT_MIN_SIMILARITY,
    DEFAULT_TOP_K,
    MAX_FACES,
    MAX_TOP_K,
    REFUSALS,
    checked_purpose,
    photo_details,
    photo_probe,
    refuse_search,
    search_faces,
)
from zhian.web.openapi_errors import error_responses

# Base64 of a 20 MiB file: above any `images.max_bytes` worth setting for a photo; the
# decoded size is checked against the setting (413 naming `photo`).
MAX_PHOTO_CHARS: Final = 28_000_000

router = APIRouter(
    prefix="/api/v1",
    tags=["search"],
    dependencies=[Depends(current_user)],
    responses=error_responses(400, 401, 403, 404),
)


class FaceSearch(BaseModel):
    """A face feature and why: a case number and a reason (both required; a search
    without them is refused with 400 and audited)."""

    model_config = ConfigDict(extra="forbid")

    feature: str = Field(
        max_length=MAX_FEATURE_CHARS,
        description="Base64 of little-endian float32 values (at least 16), as cameras and "
        "GA/T 1400 platforms send them.",
    )
    case_number: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    top_k: int = Field(default=DEFAULT_TOP_K, ge=1, le=MAX_TOP_K)
    min_similarity: float = Field(default=DEFAULT_MIN_SIMILARITY, ge=-1.0, le=1.0)


@router.post("/faces/search", summary="Captures most like a face feature, for a case")
def face_search(context: Context, body: FaceSearch) -> dict[str, Any]:
    """The `top_k` face captures at devices of your jurisdiction within the face retention
    (`governance.face_days`) whose cosine similarity to the feature is at least
    `min_similarity`, most similar first, with masked subjects and each capture's page."""
    purpose = Purpose(body.case_number or None, body.reason or None)
    try:
        checked = checked_purpose(context, body.case_number, body.reason)
        probe = probe_vector(body.feature)
    except REFUSALS as error:
        refuse_search(context, purpose, error)
        raise
    now = context.node.clock.now()
    result = search_faces(context, probe, checked, top_k=body.top_k,
                          min_similarity=body.min_similarity, now=now,
                          details={"probe": "feature"})  # fmt: skip
    return _answer(context, checked, result, body.top_k, body.min_similarity)


class FacePhotoSearch(BaseModel):
    """A photo (base64 of a JPEG or PNG file) and why: a case number and a reason (both
    required; a search without them is refused with 400 and audited)."""

    model_config = ConfigDict(extra="forbid")

    photo: str = Field(
        max_length=MAX_PHOTO_CHARS,
        description="Base64 of the photo file, JPEG or PNG, at most `images.max_bytes` once "
        "decoded.",
    )
    case_number: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    top_k: int = Field(default=DEFAULT_TOP_K, ge=1, le=MAX_TOP_K)
    min_similarity: float = Field(default=SAME_PERSON_SIMILARITY, ge=-1.0, le=1.0)
    face: int | None = Field(
        default=None, ge=1, le=MAX_FACES, description="Which face (largest first) to use."
    )


@router.post(
    "/faces/search-by-photo",
    summary="Captures most like the face in a photo, for a case",
    responses=error_responses(413, described={413: "The photo is larger than `images.max_bytes`."}),
)
def face_search_by_photo(context: Context, body: FacePhotoSearch) -> dict[str, Any]:
    """The same search as `/faces/search` with the embedding of a face in the photo,
    computed in the node (dlib's ResNet model, `dlib-resnet-v1`; only when
    `faces.capture_feature_model` says the cameras' features are of that model). A photo
    with no face is refused (400 naming `photo`); with several, the largest is used unless
    `face` picks another, and `photo.faces` lists them all. The photo is not kept."""
    purpose = Purpose(body.case_number or None, body.reason or None)
    node = context.node
    try:
        checked = checked_purpose(context, body.case_number, body.reason)
        found = photo_probe(node, _decoded(body.photo), body.face)
    except REFUSALS as error:
        refuse_search(context, purpose, error)
        raise
    result = search_faces(context, found.vector, checked, top_k=body.top_k,
                          min_similarity=body.min_similarity, now=node.clock.now(),
                          details=photo_details(found))  # fmt: skip
    return {
        **_answer(context, checked, result, body.top_k, body.min_similarity),
        "photo": {
            "model": found.model,
            "faces": [vars(f) for f in found.faces],
            "face_used": found.chosen,
            "largest_used": found.picked_largest,
        },
    }


def _decoded(photo: str) -> bytes:
    try:
        return base64.b64decode("".join(photo.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestError("the photo is not base64", field="photo") from None


def _answer(
    context: RequestContext,
    checked: Purpose,
    result: FaceSearchResult,
    top_k: int,
    min_similarity: float,
) -> dict[str, Any]:
    names = {d.id: d.name for d in DeviceService(context.session).list_devices(scope=context.scope)}
    return {
        "case_number": checked.case_number,
        "compared": result.compared,
        "top_k": top_k,
        "min_similarity": min_similarity,
        "matches": [
            {
                "device_id": match.device_id,
                "device_name": names.get(match.device_id),
                "event_id": match.event_id,
                "time": match.time.isoformat(),
                "subject_masked": match.subject,
                "has_image": match.has_image,
                "similarity": match.similarity,
                "page": f"/events/{match.device_id}/{match.event_id}",
            }
            for match in result.matches
        ],
    }
