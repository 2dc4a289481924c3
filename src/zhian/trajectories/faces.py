"""Passages of a face: the captures matched to a face feature, and the faces seen near them.

A face has no key the store can look up: its passages are the captures whose feature is at
least `threshold` alike (cosine of unit vectors) to the subject's feature. The others seen
with it are the captures within the window of one of those at the same device, grouped
into faces the same way: each joins the face whose first capture it is most alike at or
above the threshold, or starts a new one (captures in time order). A face found so is
named by its first capture (`face:<device_id>/<event_id>`), a token with no identity in
it. `zhian.trajectories.analysis.co_travellers` then counts the distinct places shared, as
for plates and residents.

The threshold is that of the model that made the features: 0.6 for the simulator's and
the usual camera features (same person about 0.94, two people 0 ± 0.1: `zhian.sim.faces`),
0.93 for dlib's (`zhian.search.photo.SAME_PERSON_SIMILARITY`).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from zhian.trajectories.analysis import Passage

Vector = npt.NDArray[np.float32]
SUBJECT_TOKEN = "face:subject"  # noqa: S105 (a token name, not a secret)
# The threshold the API uses unless asked otherwise: the simulator's and common camera
# features' (zhian.models.faces.SAME_PERSON_SIMILARITY).
DEFAULT_THRESHOLD = 0.6


@dataclass(frozen=True)
class FaceCapture:
    """A capture with its feature opened (a unit vector) and its masked subject, if any."""

    device_id: str
    event_id: str
    time: datetime
    vector: Vector
    subject_masked: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.device_id}/{self.event_id}"


@dataclass(frozen=True)
class FacePassages:
    """The subject's passages, the passages of the faces seen near them, and for each of
    those faces its captures (token -> captures, first one first)."""

    mine: list[Passage]
    matched: list[FaceCapture]
    others: list[Passage]
    faces: dict[str, list[FaceCapture]]


def face_passages(
    probe: Vector,
    captures: Iterable[FaceCapture],
    *,
    threshold: float,
    window_seconds: float,
) -> FacePassages:
    """The subject's captures (alike to `probe` at or above `threshold`; other feature
    lengths skipped) and the other captures within `window_seconds` of one of them at the
    same device, grouped into faces."""
    dims = probe.shape[0]
    usable = [c for c in captures if c.vector.shape[0] == dims]
    matched = [c for c in usable if float(c.vector @ probe) >= threshold]
    times: dict[str, list[float]] = defaultdict(list)
    for capture in matched:
        times[capture.device_id].append(capture.time.timestamp())
    for moments in times.values():
        moments.sort()
    mine_refs = {c.ref for c in matched}
    near = sorted(
        (c for c in usable if c.ref not in mine_refs and _near(times, c, window_seconds)),
        key=lambda c: (c.time, c.device_id, c.event_id),
    )
    faces = group_faces(near, threshold)
    return FacePassages(
        mine=[Passage(SUBJECT_TOKEN, c.device_id, c.time, "face") for c in matched],
        matched=matched,
        others=[
            Passage(token, c.device_id, c.time, "face")
            for token, members in faces.items()
            for c in members
        ],
        faces=faces,
    )


def _near(times: dict[str, list[float]], capture: FaceCapture, window_seconds: float) -> bool:
    moments = times.get(capture.device_id)
    if not moments:
        return False
    moment = capture.time.timestamp()
    i = bisect.bisect_left(moments, moment - window_seconds)
    return i < len(moments) and moments[i] <= moment + window_seconds


def group_faces(captures: Sequence[FaceCapture], threshold: float) -> dict[str, list[FaceCapture]]:
    """Captures grouped into faces: each joins the face whose first capture it is most
    alike at or above `threshold`, or starts one; tokens `face:<device_id>/<event_id>`."""
    tokens: list[str] = []
    anchors: list[Vector] = []
    faces: dict[str, list[FaceCapture]] = {}
    for capture in captures:
        best = -1
        if anchors:
            scores = np.stack(anchors) @ capture.vector
            best = int(np.argmax(scores))
            if float(scores[best]) < threshold:
                best = -1
        if best < 0:
            tokens.append(f"face:{capture.ref}")
            anchors.append(capture.vector)
            faces[tokens[-1]] = [capture]
        else:
            faces[tokens[best]].append(capture)
    return faces
