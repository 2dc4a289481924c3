"""Registry candidates by face: enrolled features (an audited read), captures linked by place
and time (their sealed features opened, an audited read too), and the residents most like
them (issue #6, unregistered-resident model)."""

from __future__ import annotations

import base64
import binascii
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.audit.service import Actor, AuditService
from zhian.devices.models import DeviceKind
from zhian.devices.service import DeviceService
from zhian.models.base import ModelRun
from zhian.registry.identity import SEALED_COLUMNS, IdentityProtector
from zhian.registry.models import Resident
from zhian.store.features import FeatureSealer
from zhian.store.queries import SealedCapture

Vector = npt.NDArray[np.float32]

# Where `prepare_run` leaves the enrolled features in `ModelRun.shared`.
FACES_KEY = "enrolled_faces"
FACE_READ_ACTION = "resident.face_features.read"
# Where a run keeps its `CaptureFeatureReader` in `ModelRun.shared`, and its audit action.
CAPTURES_KEY = "capture_features"
CAPTURE_READ_ACTION = "face_capture.features.read"
MODEL_ACTOR = Actor.system("models")
TOP_CANDIDATES = 3
# A face camera within this distance of a door in the same community watches that door
# (the builder and real gates put the camera over the gate it films).
DOOR_CAMERA_METRES = 15.0
# A capture this close in time to a passage at the camera's door is taken as the passer:
# a reader opens in under a second and the camera fires as the person steps through.
LINK_SECONDS = 5
# Captures of one person agree at about 0.94, of two people at 0 ± 0.1 (sim/faces.py, and
# the usual range of face embeddings): above this they are taken as one person, so the odd
# neighbour caught in the same seconds does not blur the average.
SAME_PERSON_SIMILARITY = 0.6
# The newest linked captures per subject that count; more add nothing but time.
MAX_CAPTURES = 40
_EARTH_RADIUS_M = 6_371_000.0
_COLUMN = SEALED_COLUMNS["face_feature"]


@dataclass(frozen=True)
class EnrolledFaces:
    """Registered residents' enrolled face features as unit vectors (one matrix per
    dimension), and which face camera watches which residential door."""

    by_dims: dict[int, tuple[tuple[str, ...], Vector]]
    door_cameras: pa.Table  # door_id, camera_id
    count: int = field(default=0)

    def candidates(self, feature: Vector, floor: float) -> list[tuple[str, float]]:
        """The (resident id, cosine similarity) of the `TOP_CANDIDATES` enrolled features
        most like `feature`, best first, each at least `floor`."""
        stored = self.by_dims.get(int(feature.shape[0]))
        if stored is None:
            return []
        ids, matrix = stored
        scores = matrix @ feature
        top = np.argsort(-scores, kind="stable")[:TOP_CANDIDATES]
        return [(ids[i], round(float(scores[i]), 3)) for i in top if scores[i] >= floor]


def decode_feature(text: str) -> Vector | None:
    """A unit vector from base64 little-endian float32; None for anything unusable."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw or len(raw) % 4:
        return None
    vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    norm = float(np.linalg.norm(vector))
    if not math.isfinite(norm) or norm == 0:
        return None
    return vector / np.float32(norm)


def subject_face(features: Iterable[str]) -> tuple[Vector | None, int]:
    """One face for a subject from the captures linked to its passages, and how many agreed.

    The capture most like the others (the medoid) anchors the person; the captures that
    agree with it (≥ `SAME_PERSON_SIMILARITY`) are averaged. Strangers caught in the same
    seconds disagree with the anchor and are left out.
    """
    vectors = [v for v in map(decode_feature, features) if v is not None]
    if not vectors:
        return None, 0
    dims, _ = Counter(int(v.shape[0]) for v in vectors).most_common(1)[0]
    matrix = np.stack([v for v in vectors if v.shape[0] == dims])
    similarity = matrix @ matrix.T
    anchor = int(np.argmax(similarity.sum(axis=1)))
    agreeing = matrix[similarity[anchor] >= SAME_PERSON_SIMILARITY]
    mean = agreeing.mean(axis=0)
    return mean / np.float32(np.linalg.norm(mean)), int(agreeing.shape[0])


def load_enrolled_faces(
    session: Session, protector: IdentityProtector, audit: AuditService
) -> EnrolledFaces:
    """Open every resident's enrolled face feature for one model run.

    Opening them is a read of personal data by the node itself: it is audited (action
    `resident.face_features.read`, actor `system:models`) in the caller's transaction,
    with how many were read; nothing is read where no resident has one enrolled.
    """
    rows = session.execute(
        select(Resident.id, Resident.face_feature_enc).where(Resident.face_feature_enc.is_not(None))
    ).all()
    grouped: dict[int, list[tuple[str, Vector]]] = {}
    if rows:
        audit.record(
            MODEL_ACTOR,
            FACE_READ_ACTION,
            record_type="resident",
            purpose="registration task candidates (model.unregistered_resident)",
            details={"residents": len(rows), "model": "model.unregistered_resident"},
        )
    for resident_id, sealed in rows:
        if sealed is None:
            continue
        vector = decode_feature(protector.open("residents", _COLUMN, resident_id, sealed))
        if vector is not None:
            grouped.setdefault(int(vector.shape[0]), []).append((resident_id, vector))
    by_dims = {
        dims: (tuple(i for i, _ in pairs), np.stack([v for _, v in pairs]))
        for dims, pairs in grouped.items()
    }
    return EnrolledFaces(
        by_dims=by_dims,
        door_cameras=door_cameras(session),
        count=sum(len(pairs) for pairs in grouped.values()),
    )


class CaptureFeatureReader:
    """Opens the sealed features of the face captures a model links to passages, and only
    those, counting them so that the run's caller audits the read once per run."""

    def __init__(self, sealer: FeatureSealer) -> None:
        self._sealer = sealer
        self.opened = 0

    def open(self, captures: Iterable[SealedCapture]) -> list[str]:
        """The base64 features of captures as the store lists them."""
        features = []
        for capture in captures:
            self.opened += 1  # counted before opening: a failed open was still an attempt
            features.append(
                self._sealer.open_feature(capture.device_id, capture.event_id, capture.feature)
            )
        return features


def capture_reader(run: ModelRun) -> CaptureFeatureReader:
    """The run's one reader of capture features (made on first use)."""
    reader = run.shared.get(CAPTURES_KEY)
    if not isinstance(reader, CaptureFeatureReader):
        reader = run.shared[CAPTURES_KEY] = CaptureFeatureReader(run.sealer)
    return reader


def audit_capture_reads(run: ModelRun, audit: AuditService) -> None:
    """Record the capture features a model run opened: one entry per run (action
    `face_capture.features.read`, actor `system:models`) with their count, in the caller's
    transaction; nothing when the run opened none."""
    reader = run.shared.get(CAPTURES_KEY)
    if not isinstance(reader, CaptureFeatureReader) or reader.opened == 0:
        return
    audit.record(
        MODEL_ACTOR,
        CAPTURE_READ_ACTION,
        record_type="face_event",
        purpose="registration task candidates (model.unregistered_resident)",
        details={"captures": reader.opened, "model": "model.unregistered_resident"},
    )


def door_cameras(session: Session) -> pa.Table:
    """(door_id, camera_id) of every face camera within `DOOR_CAMERA_METRES` of a door of
    the same community; a door that captures faces itself is paired with itself."""
    devices = [
        d
        for d in DeviceService(session).list_devices(scope=JurisdictionScope.unscoped())
        if d.kind in (DeviceKind.DOOR, DeviceKind.FACE_CAMERA) and d.community_id is not None
    ]
    doors = [d for d in devices if d.kind == DeviceKind.DOOR]
    cameras: dict[str | None, list[tuple[str, float, float]]] = {}
    for d in devices:
        if d.kind == DeviceKind.FACE_CAMERA:
            cameras.setdefault(d.community_id, []).append((d.id, d.latitude, d.longitude))
    pairs = [(door.id, door.id) for door in doors]
    for door in doors:
        for camera, lat, lon in cameras.get(door.community_id, ()):
            if _metres(door.latitude, door.longitude, lat, lon) <= DOOR_CAMERA_METRES:
                pairs.append((door.id, camera))
    return pa.table(
        {
            "door_id": pa.array([d for d, _ in pairs], type=pa.string()),
            "camera_id": pa.array([c for _, c in pairs], type=pa.string()),
        }
    )


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # Equirectangular: exact enough over a few hundred metres.
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return _EARTH_RADIUS_M * math.hypot(x, y)
