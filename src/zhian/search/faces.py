"""Search by face (以图搜图): the captures most like a given face feature.

Zhian holds no face-recognition network, so the probe is a feature (base64 little-endian
float32, as cameras and GA/T 1400 platforms send them), not a photo. Capture features are
stored sealed to their row; each one compared is opened here, and the caller audits how
many were opened and why (a case number is required). Similarity is the cosine of the two
unit vectors; captures of another feature length are skipped.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from zhian.errors import BadRequestError
from zhian.store.passages import SealedFaceCapture

MIN_DIMENSIONS = 16
MAX_FEATURE_CHARS = 40_000  # base64 of 7,500 float32: far above any face feature


@dataclass(frozen=True)
class FaceMatch:
    device_id: str
    event_id: str
    time: datetime
    subject: str | None  # masked
    has_image: bool
    similarity: float


@dataclass(frozen=True)
class FaceSearchResult:
    matches: list[FaceMatch]
    compared: int  # capture features opened and compared


def probe_vector(text: str) -> npt.NDArray[np.float32]:
    """The probe as a unit vector, or BadRequestError naming the field `feature`."""
    cleaned = "".join(text.split())
    if not cleaned:
        raise BadRequestError("give the face feature (base64 float32)", field="feature")
    if len(cleaned) > MAX_FEATURE_CHARS:
        raise BadRequestError(
            f"the feature must be at most {MAX_FEATURE_CHARS} characters", field="feature"
        )
    try:
        raw = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequestError("the feature is not base64", field="feature") from None
    if len(raw) % 4 or len(raw) // 4 < MIN_DIMENSIONS:
        raise BadRequestError(
            f"the feature must be at least {MIN_DIMENSIONS} little-endian float32 values",
            field="feature",
        )
    vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0:
        raise BadRequestError("the feature is all zeros or not finite", field="feature")
    return vector / norm


def rank_captures(
    probe: npt.NDArray[np.float32],
    captures: Iterable[SealedFaceCapture],
    open_feature: Callable[[SealedFaceCapture], str],
    *,
    top_k: int,
    min_similarity: float,
) -> FaceSearchResult:
    """The `top_k` captures at or above `min_similarity`, most similar first."""
    scored: list[FaceMatch] = []
    compared = 0
    for capture in captures:
        compared += 1  # counted before opening: a failed open was still an attempt
        vector = np.frombuffer(base64.b64decode(open_feature(capture)), dtype="<f4")
        if vector.shape != probe.shape:
            continue
        norm = float(np.linalg.norm(vector))
        if norm == 0 or not np.isfinite(norm):
            continue
        similarity = float(np.dot(probe, vector.astype(np.float32) / norm))
        if similarity >= min_similarity:
            scored.append(
                FaceMatch(
                    capture.device_id,
                    capture.event_id,
                    capture.time,
                    capture.subject,
                    capture.has_image,
                    round(similarity, 4),
                )
            )
    scored.sort(key=lambda m: (-m.similarity, m.time), reverse=False)
    return FaceSearchResult(scored[:top_k], compared)
