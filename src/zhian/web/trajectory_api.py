"""Trajectory (轨迹) and co-traveller (同行) searches on a plate or a resident, and
co-travellers on a face (its feature): JSON routes.

POST, so that the subject and the purpose never sit in a URL (proxies and logs keep those).
Each needs `trajectories.search` (zhian.web.permissions), a case number of the user's
jurisdiction and a reason; each is audited by `zhian.trajectories.service`; plates and
residents' keys come back masked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, ConfigurationError
from zhian.governance.reveal import Purpose
from zhian.registry.models import Resident
from zhian.search.faces import MAX_FEATURE_CHARS
from zhian.store.passages import SealedFaceCapture
from zhian.trajectories.faces import DEFAULT_THRESHOLD
from zhian.trajectories.service import TrajectoryQuery, TrajectoryService
from zhian.web.auth import current_user
from zhian.web.cases_api import case_service
from zhian.web.deps import Context, RequestContext
from zhian.web.openapi_errors import error_responses

router = APIRouter(
    prefix="/api/v1",
    tags=["trajectories"],
    dependencies=[Depends(current_user)],
    responses=error_responses(400, 401, 403, 404),
)


class TrajectorySearch(BaseModel):
    """A subject (a plate, or a resident by their registry id), the period, and why: the
    case number (of your jurisdiction) and reason."""

    model_config = ConfigDict(extra="forbid")

    subject_kind: Literal["plate", "resident", "face"] = Field(
        default="plate",
        description="Whose passages: a plate's, a resident's or a face's.",
    )
    plate: str | None = Field(default=None, min_length=2, max_length=16)
    resident_id: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="The resident's registry id (with `subject_kind` resident).",
    )  # fmt: skip
    feature: str | None = Field(
        default=None, min_length=1, max_length=MAX_FEATURE_CHARS,
        description="The face's feature, base64 little-endian float32 (with `subject_kind` "
        "face).",
    )  # fmt: skip
    min_similarity: float = Field(
        default=DEFAULT_THRESHOLD,
        description="For a face: a capture is taken for a face at this cosine similarity or "
        "more (0.6 for the simulator's and common camera features, 0.93 for dlib-resnet-v1).",
    )
    case_number: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    since: datetime
    until: datetime


class CoTravellerSearch(TrajectorySearch):
    window_seconds: float = Field(default=60, description="Seen within this many seconds.")
    min_places: int = Field(default=3, description="At this many distinct places at least.")
    reveal: bool = Field(
        default=False,
        description="Also show the co-travellers' plates (or, for a resident, keys) in the "
        "clear (needs `personal_data.reveal`; audited as `trajectory.reveal_plates` or "
        "`trajectory.reveal_keys`).",
    )


def trajectory_service(context: RequestContext) -> TrajectoryService:
    """The service for the request's user: their cases, devices and audit trail."""
    node = context.node
    sealer = node.governance.sealer
    if sealer is None:
        raise ConfigurationError(
            "plates are stored as keyed tokens: run `zhian keys init` first", field="plate"
        )

    def resident_keys(resident_id: str) -> list[tuple[str, str]]:
        """The keys the store knows the resident by: their subject reference and, when
        registered, their card (whose token the registry holds). An unknown id still gives
        its subject reference, so a search does not tell whether the id is registered."""
        keys = [("resident", sealer.token("subject", resident_id))]
        resident = context.session.get(Resident, resident_id)
        if resident is not None and resident.card_ref_token:
            keys.append(("card", resident.card_ref_token))
        return keys

    def open_feature(capture: SealedFaceCapture) -> str:
        return node.vault.open_feature(capture.device_id, capture.event_id, capture.feature)

    return TrajectoryService(
        reads=node.event_reads,
        open_feature=open_feature,
        cases=case_service(context),
        devices=DeviceService(context.session).list_devices(scope=context.scope),
        plate_token=lambda plate: sealer.token("plate", plate),
        resident_keys=resident_keys,
        audit=node.governance.audit(context.session),
        user_id=context.user.id,
        ip=context.ip,
    )


def _query(body: TrajectorySearch) -> TrajectoryQuery:
    field = {"plate": "plate", "resident": "resident_id", "face": "feature"}[body.subject_kind]
    subject = getattr(body, field)
    if subject is None:
        raise BadRequestError(f"a {body.subject_kind} search needs `{field}`", field=field)
    return TrajectoryQuery(subject, body.case_number, body.reason, body.since, body.until,
                           body.subject_kind)  # fmt: skip


@router.post("/trajectories", summary="A plate's, a resident's or a face's passages in time order")
def search_trajectory(context: Context, body: TrajectorySearch) -> dict[str, Any]:
    """The subject's passages at devices of your jurisdiction in the period, in time order:
    a plate's vehicle passages, or a resident's door passages (by their card or subject
    reference) and face captures matched to them, or a face's captures (`subject_kind` face:
    those at `min_similarity` or more to its `feature`). Each step has its gap and speed, the
    flags `is_gap` (unseen longer than 6 h) and `is_implausible_speed` (faster than
    150 km/h over 300 m or more), its `source` (vehicle, access, face) and the masked key."""
    result = trajectory_service(context).trajectory(
        _query(body), min_similarity=body.min_similarity
    )
    plate = {"plate_masked": result.subject_masked} if result.subject_kind == "plate" else {}
    return {
        "subject_kind": result.subject_kind,
        "subject_masked": result.subject_masked,
        **plate,
        "case_number": result.case_number,
        "steps": [
            {
                "time": step.passage.time.isoformat(),
                "source": step.passage.source,
                "subject_masked": result.masks.get(step.passage.subject, "***"),
                "device_id": step.passage.device_id,
                "device_name": result.device_names.get(step.passage.device_id),
                "latitude": step.place.latitude if step.place else None,
                "longitude": step.place.longitude if step.place else None,
                "seconds_since_previous": step.seconds_since_previous,
                "metres_from_previous": None if step.metres_from_previous is None
                else round(step.metres_from_previous),
                "speed_kmh": step.speed_kmh,
                "is_gap": step.is_gap,
                "is_implausible_speed": step.is_implausible_speed,
            }
            for step in result.steps
        ],
    }  # fmt: skip


@router.post(
    "/trajectories/co-travellers",
    summary="Who was seen with a plate or a resident at several places",
)
def search_co_travellers(context: Context, body: CoTravellerSearch) -> dict[str, Any]:
    """Others seen within `window_seconds` of the subject at `min_places` or more distinct
    devices of your jurisdiction in the period, most shared places first; masked. For a
    plate, plates; for a resident (`subject_kind` resident), the keys of door passages (a
    card or a subject reference), the resident's own keys excepted; for a face
    (`subject_kind` face, its `feature`), the faces of the captures near the captures
    matched to it at `min_similarity`, each shown as the masked subject a capture of it was
    matched to or as its first capture (`face CAM1/ev-1`, whose page shows it)."""
    if body.reveal and body.subject_kind == "face":
        raise BadRequestError("a face's co-travellers have no key to reveal: open a capture's "
                              "page instead", field="reveal")  # fmt: skip
    result = trajectory_service(context).co_travellers(
        _query(body), window_seconds=body.window_seconds, min_places=body.min_places,
        min_similarity=body.min_similarity,
    )  # fmt: skip
    tokens = [found.subject for found in result.found]
    clear = (
        revealed_keys(context, result.subject_kind, body.case_number, body.reason, tokens)
        if body.reveal
        else {}
    )
    is_plate = result.subject_kind == "plate"
    return {
        "subject_kind": result.subject_kind,
        "subject_masked": result.subject_masked,
        **({"plate_masked": result.subject_masked} if is_plate else {}),
        "case_number": result.case_number,
        "subject_passages": result.subject_passages,
        "co_travellers": [
            {
                "subject_masked": result.masks.get(found.subject, "***"),
                **({"plate_masked": result.masks.get(found.subject, "***")} if is_plate else {}),
                **({("plate" if is_plate else "key"): clear[found.subject]}
                   if found.subject in clear else {}),
                "places": found.places,
                "pairs": [
                    {"device_id": mine.device_id,
                     "device_name": result.device_names.get(mine.device_id),
                     "subject_time": mine.time.isoformat(), "other_time": other.time.isoformat()}
                    for mine, other in found.pairs
                ],
            }
            for found in result.found
        ],
    }  # fmt: skip


def revealed_keys(
    context: RequestContext, subject_kind: str, case_number: str, reason: str, tokens: list[str]
) -> dict[str, str]:
    """token -> the co-travellers' plates (`trajectory.reveal_plates`) or, for a resident's
    co-travellers, their card or subject reference (`trajectory.reveal_keys`) in the clear."""
    if subject_kind == "plate":
        return revealed_plates(context, case_number, reason, tokens)
    return _revealed(context, "trajectory.reveal_keys", "subject", case_number, reason, tokens)


def revealed_plates(
    context: RequestContext, case_number: str, reason: str, tokens: list[str]
) -> dict[str, str]:
    """token -> plate in the clear, for a search that asked for it (the API's `reveal`,
    the page's box): the reveal service checks the permission and the purpose (the same
    case and reason) and audits it, or refuses (403, 400) and records the refusal."""
    return _revealed(context, "trajectory.reveal_plates", "plate", case_number, reason, tokens)


def _revealed(
    context: RequestContext, action: str, record_type: str, case_number: str, reason: str,
    tokens: list[str],
) -> dict[str, str]:  # fmt: skip
    if not tokens:
        return {}
    read = context.read(action, record_type, *tokens, case_number=case_number)
    stated = context.reveal.authorise(context.user, Purpose(case_number, reason), read)
    opened = context.reveal.opened(tokens, user=context.user, purpose=stated, read=read)
    return {token: item.value for token, item in opened.items()}
