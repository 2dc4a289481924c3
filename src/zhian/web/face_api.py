"""Search by face (以图搜图) as JSON: the top captures like a face feature, for a case.

The same search as the page `/face-search` (`zhian.web.face_views`): a POST, so the
feature and the purpose stay out of URLs; a case number and a reason are required and a
search without them is refused (400 naming `case_number`), as is one whose case is not
in the user's jurisdiction (404 naming `case_number`), and the refusal audited
(`faces.search.refused`); an allowed one is audited (`faces.search`) with the captures
matched and how many were compared. Subjects come back masked. Needs `faces.search`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, NotFoundError
from zhian.governance.reveal import Purpose
from zhian.search.faces import MAX_FEATURE_CHARS, probe_vector
from zhian.web.auth import current_user
from zhian.web.deps import Context
from zhian.web.face_views import (
    DEFAULT_MIN_SIMILARITY,
    DEFAULT_TOP_K,
    MAX_TOP_K,
    checked_purpose,
    refuse_search,
    search_faces,
)
from zhian.web.openapi_errors import error_responses

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
    except (BadRequestError, NotFoundError) as error:
        refuse_search(context, purpose, error)
        raise
    now = context.node.clock.now()
    result = search_faces(context, probe, checked, top_k=body.top_k,
                          min_similarity=body.min_similarity, now=now)  # fmt: skip
    names = {d.id: d.name for d in DeviceService(context.session).list_devices(scope=context.scope)}
    return {
        "case_number": checked.case_number,
        "compared": result.compared,
        "top_k": body.top_k,
        "min_similarity": body.min_similarity,
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
