"""Matching seen plates, subjects and face features against the active watchlist."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class WatchItem:
    entry_id: int
    label: str
    tier: str
    jurisdiction_id: str
    legal_basis_ref: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Match:
    item: WatchItem
    score: float  # 1.0 for an exact plate or subject; similarity otherwise


def decode_feature(text: str) -> npt.NDArray[np.float32]:
    """A unit-length float32 vector from base64 little-endian float32."""
    vector = np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


class WatchlistMatcher:
    """An immutable snapshot of active entries, indexed for the event hot path.

    Plates: an exact index and, with `plate_tolerance` 1, an index of every plate with one
    character replaced by '?', so a plate misread in one place is found in O(length).
    Faces: one matrix of unit vectors per dimension; a capture is scored by one product.
    """

    def __init__(
        self,
        plates: list[tuple[str, WatchItem]],
        subjects: list[tuple[str, WatchItem]],
        faces: list[tuple[str, WatchItem]],
        *,
        plate_tolerance: int,
        face_threshold: float,
    ) -> None:
        self.plate_tolerance = plate_tolerance
        self.face_threshold = face_threshold
        self._plates: dict[str, list[WatchItem]] = {}
        self._fuzzy: dict[str, list[tuple[str, WatchItem]]] = {}
        for plate, item in plates:
            self._plates.setdefault(plate, []).append(item)
            if plate_tolerance:
                for i in range(len(plate)):
                    pattern = plate[:i] + "?" + plate[i + 1 :]
                    self._fuzzy.setdefault(pattern, []).append((plate, item))
        self._subjects: dict[str, list[WatchItem]] = {}
        for ref, item in subjects:
            self._subjects.setdefault(ref, []).append(item)
        self._faces: dict[int, tuple[npt.NDArray[np.float32], list[WatchItem]]] = {}
        grouped: dict[int, list[tuple[npt.NDArray[np.float32], WatchItem]]] = {}
        for text, item in faces:
            vector = decode_feature(text)
            grouped.setdefault(vector.shape[0], []).append((vector, item))
        for dims, rows in grouped.items():
            self._faces[dims] = (np.stack([v for v, _ in rows]), [i for _, i in rows])

    @property
    def is_empty(self) -> bool:
        return not (self._plates or self._subjects or self._faces)

    def match_plate(self, plate: str, at: datetime) -> list[Match]:
        plate = plate.upper()
        exact = [Match(i, 1.0) for i in self._plates.get(plate, ()) if i.expires_at > at]
        if exact or not self.plate_tolerance:
            return exact
        seen: set[int] = set()
        out = []
        for i in range(len(plate)):
            for listed, item in self._fuzzy.get(plate[:i] + "?" + plate[i + 1 :], ()):
                if item.entry_id not in seen and item.expires_at > at:
                    seen.add(item.entry_id)
                    score = 1.0 - 1.0 / max(len(listed), 1)
                    out.append(Match(item, round(score, 3)))
        return out

    def match_subject(self, ref: str, at: datetime) -> list[Match]:
        return [Match(i, 1.0) for i in self._subjects.get(ref, ()) if i.expires_at > at]

    def match_face(self, feature: str, at: datetime, top: int = 3) -> tuple[list[Match], bool]:
        """The `top` most similar active entries, and whether the best passes the threshold."""
        if not self._faces:
            return [], False
        query = decode_feature(feature)
        stored = self._faces.get(query.shape[0])
        if stored is None:
            return [], False
        matrix, items = stored
        scores = matrix @ query
        order = np.argsort(-scores)
        out = []
        for index in order:
            item = items[int(index)]
            if item.expires_at > at:
                out.append(Match(item, round(float(scores[index]), 4)))
            if len(out) == top:
                break
        return out, bool(out) and out[0].score >= self.face_threshold


EMPTY = WatchlistMatcher([], [], [], plate_tolerance=0, face_threshold=1.0)
