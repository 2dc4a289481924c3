"""Trajectory (轨迹) and co-traveller (同行) searches on a plate, a resident or a face,
under their safeguards.

A plate's passages are its vehicle passages; a resident's are the access passages of their
keys (their card and their subject reference) and the face captures matched to them.
Each search needs a case of the reader's jurisdiction (its case number) and a stated
reason; it reads only passages at devices of the reader's jurisdiction; it is audited
(who, which subject as its token, which case, why, what was found); and it answers with
masked identifiers only. A face's co-travellers are the faces seen near the captures matched
to its feature (`zhian.trajectories.faces`); each capture feature compared is opened, and
the audit entry counts them and names the captures taken for the subject. Nothing here
scores a person: co-travellers are listed by the number
of places shared, the fact that defines them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from zhian.audit.service import Actor, AuditService
from zhian.cases.service import CaseService
from zhian.devices.schemas import DeviceRead
from zhian.errors import BadRequestError, NotFoundError
from zhian.governance.masking import mask_plate, mask_ref
from zhian.governance.reveal import Purpose
from zhian.models.faces import decode_feature
from zhian.search.faces import probe_vector
from zhian.store.passages import CaptureWindow, SealedFaceCapture
from zhian.store.queries import PlatePassage, SubjectPassage
from zhian.store.remote import EventReads
from zhian.trajectories.analysis import (
    CoTraveller,
    Passage,
    Place,
    TrajectoryLimits,
    TrajectoryStep,
    co_travellers,
    trajectory,
)
from zhian.trajectories.faces import (
    DEFAULT_THRESHOLD,
    SUBJECT_TOKEN,
    FaceCapture,
    face_passages,
)

# A search reads at most this many passages (a trajectory) or candidate passages (the
# co-travellers' range join): a bound, so one request cannot read the whole store.
MAX_PASSAGES = 5000
MAX_NEAR_PASSAGES = 200_000
MAX_DAYS = 92

SUBJECT_KINDS = ("plate", "resident", "face")
# A face's co-travellers compare at most this many captures of the period (newest first).
MAX_FACE_CAPTURES = 200_000

_P = TypeVar("_P", PlatePassage, SubjectPassage)


@dataclass(frozen=True)
class TrajectoryQuery:
    """What a search asks: the subject (a plate in the clear, as the officer has it, or a
    resident's registry id), the period and the purpose."""

    subject: str
    case_number: str
    reason: str
    since: datetime
    until: datetime
    subject_kind: str = "plate"  # one of SUBJECT_KINDS


@dataclass(frozen=True)
class TrajectoryResult:
    subject_kind: str
    subject_masked: str
    case_number: str
    steps: list[TrajectoryStep]
    masks: dict[str, str]  # token -> masked plate or key
    device_names: dict[str, str]


@dataclass(frozen=True)
class CoTravellerResult:
    subject_kind: str
    subject_masked: str
    case_number: str
    subject_passages: int
    found: list[CoTraveller]
    masks: dict[str, str]
    device_names: dict[str, str]


class TrajectoryService:
    """Reads a plate's or a resident's trajectory and co-travellers for one reader, within
    their scope. `resident_keys` gives a resident id's keys as the store holds them:
    (subject_kind, token) pairs, their subject reference first."""

    def __init__(
        self,
        *,
        reads: EventReads,
        cases: CaseService,
        devices: Sequence[DeviceRead],
        plate_token: Callable[[str], str],
        resident_keys: Callable[[str], list[tuple[str, str]]],
        audit: AuditService,
        open_feature: Callable[[SealedFaceCapture], str] | None = None,
        user_id: int,
        ip: str | None = None,
        limits: TrajectoryLimits | None = None,
    ) -> None:
        self.reads = reads
        self.cases = cases
        self.devices = {d.id: d for d in devices}
        self.plate_token = plate_token
        self.resident_keys = resident_keys
        self.audit = audit
        self.open_feature = open_feature
        self.user_id = user_id
        self.ip = ip
        self.limits = limits or TrajectoryLimits()

    def _checked(self, query: TrajectoryQuery) -> Purpose:
        subject = query.subject.strip()
        if query.subject_kind not in SUBJECT_KINDS:
            raise BadRequestError("the subject kind is 'plate', 'resident' or 'face'",
                                  field="subject_kind")  # fmt: skip
        if query.subject_kind == "face":
            probe_vector(subject)  # BadRequestError naming `feature`
        if query.subject_kind == "plate" and not 2 <= len(subject) <= 16:
            raise BadRequestError("give the plate (2-16 characters)", field="plate")
        if query.subject_kind == "resident" and not 1 <= len(subject) <= 64:
            raise BadRequestError("give the resident's id (1-64 characters)", field="resident_id")
        if not query.case_number.strip():
            raise BadRequestError("a trajectory search needs a case number", field="case_number")
        if not query.reason.strip():
            raise BadRequestError("state the purpose of the search", field="reason")
        purpose = Purpose(query.case_number, query.reason).checked()
        try:
            self.cases.get(query.case_number.strip())
        except NotFoundError:
            raise NotFoundError(f"no case '{query.case_number[:64]}' in your jurisdiction",
                                field="case_number") from None  # fmt: skip
        if query.until <= query.since:
            raise BadRequestError("the period must end after it starts", field="until")
        if query.until - query.since > timedelta(days=MAX_DAYS):
            raise BadRequestError(f"search at most {MAX_DAYS} days at a time", field="until")
        return purpose

    def _visible(self, passages: list[_P]) -> list[_P]:
        """Only passages at devices of the reader's jurisdiction."""
        return [p for p in passages if p.device_id in self.devices]

    def _places(self) -> dict[str, Place]:
        return {d.id: Place(d.latitude, d.longitude) for d in self.devices.values()}

    def _record(
        self, action: str, token: str, purpose: Purpose, record_type: str = "plate",
        **details: object,
    ) -> None:  # fmt: skip
        self.audit.record(
            Actor.user(self.user_id), action, record_type=record_type, record_ids=[token],
            ip=self.ip, purpose=purpose.reason, case_number=purpose.case_number,
            details=details,
        )  # fmt: skip

    def trajectory(
        self, query: TrajectoryQuery, *, min_similarity: float = DEFAULT_THRESHOLD
    ) -> TrajectoryResult:
        """The subject's passages in time order with gaps and implausible speeds flagged
        (for a face, the captures at `min_similarity` or more to its feature)."""
        _check_similarity(min_similarity)
        purpose = self._checked(query)
        if query.subject_kind == "resident":
            return self._resident_trajectory(query, purpose)
        if query.subject_kind == "face":
            return self._face_trajectory(query, purpose, min_similarity)
        token = self.plate_token(query.subject.strip())
        passages = self._visible(
            self.reads.plate_passages(token, query.since, query.until, MAX_PASSAGES)
        )
        self._record("trajectory.read", token, purpose, passages=len(passages),
                     since=query.since.isoformat(), until=query.until.isoformat())  # fmt: skip
        steps = trajectory(
            (Passage(p.plate_token, p.device_id, p.time, "vehicle") for p in passages),
            self._places(),
            self.limits,
        )
        masks = {p.plate_token: p.plate_masked for p in passages}
        shown = masks.get(token, mask_plate(query.subject.strip()))
        return TrajectoryResult("plate", shown, purpose.case_number or "", steps, masks,
                                self._names(passages))  # fmt: skip

    def _resident_trajectory(self, query: TrajectoryQuery, purpose: Purpose) -> TrajectoryResult:
        """A resident's door passages by any of their keys and the face captures matched to
        them; audited under the token of their subject reference."""
        resident_id = query.subject.strip()
        keys = self.resident_keys(resident_id)
        passages = self._visible(
            self.reads.subject_passages(keys, query.since, query.until, MAX_PASSAGES)
        )
        token = keys[0][1]  # their subject reference's token: who the audit names
        self._record("trajectory.read", token, purpose, "resident", passages=len(passages),
                     since=query.since.isoformat(), until=query.until.isoformat())  # fmt: skip
        steps = trajectory(
            (Passage(p.subject_token, p.device_id, p.time, p.type) for p in passages),
            self._places(),
            self.limits,
        )
        masks = {p.subject_token: f"{p.subject_kind} {p.subject_masked}" for p in passages}
        return TrajectoryResult("resident", mask_ref(resident_id), purpose.case_number or "",
                                steps, masks, self._names(passages))  # fmt: skip

    def co_travellers(
        self,
        query: TrajectoryQuery,
        *,
        window_seconds: float,
        min_places: int,
        min_similarity: float = DEFAULT_THRESHOLD,
    ) -> CoTravellerResult:
        """Other subjects seen within `window_seconds` of the subject at ≥ `min_places`
        places: for a plate, plates; for a resident, the cards and subject references of
        door passages; for a face (its feature), the faces of captures, a capture taken
        for a face at `min_similarity` or more. Listed by places shared, never scored."""
        if query.subject_kind not in SUBJECT_KINDS:
            raise BadRequestError("the subject kind is 'plate', 'resident' or 'face'",
                                  field="subject_kind")  # fmt: skip
        if not 1 <= window_seconds <= 3600:
            raise BadRequestError("the window is 1 to 3600 seconds", field="window_seconds")
        if not 2 <= min_places <= 50:
            raise BadRequestError("min_places is 2 to 50", field="min_places")
        _check_similarity(min_similarity)
        purpose = self._checked(query)
        if query.subject_kind == "resident":
            return self._resident_co_travellers(query, purpose, window_seconds, min_places)
        if query.subject_kind == "face":
            return self._face_co_travellers(query, purpose, window_seconds, min_places,
                                            min_similarity)  # fmt: skip
        token = self.plate_token(query.subject.strip())
        mine = self._visible(
            self.reads.plate_passages(token, query.since, query.until, MAX_PASSAGES)
        )
        near = self._visible(self.reads.plate_passages_near(
            [(p.device_id, p.time) for p in mine], window_seconds, MAX_NEAR_PASSAGES
        ))  # fmt: skip
        found = co_travellers(
            [Passage(p.plate_token, p.device_id, p.time) for p in mine],
            (Passage(p.plate_token, p.device_id, p.time) for p in near),
            window_seconds=window_seconds,
            min_places=min_places,
        )
        self._record("trajectory.co_travellers", token, purpose, found=len(found),
                     window_seconds=window_seconds, min_places=min_places,
                     since=query.since.isoformat(), until=query.until.isoformat())  # fmt: skip
        masks = {p.plate_token: p.plate_masked for p in [*mine, *near]}
        return CoTravellerResult("plate", masks.get(token, mask_plate(query.subject.strip())),
                                 purpose.case_number or "", len(mine), found, masks,
                                 self._names([*mine, *near]))  # fmt: skip

    def _resident_co_travellers(
        self, query: TrajectoryQuery, purpose: Purpose, window_seconds: float, min_places: int
    ) -> CoTravellerResult:
        """The keys (a card or a subject reference) of door passages within the window of
        the resident's passages at ≥ `min_places` distinct devices; the resident's own keys
        are not listed. Audited under the token of their subject reference."""
        resident_id = query.subject.strip()
        keys = self.resident_keys(resident_id)
        mine = self._visible(
            self.reads.subject_passages(keys, query.since, query.until, MAX_PASSAGES)
        )
        near = self._visible(self.reads.subject_passages_near(
            [(p.device_id, p.time) for p in mine], window_seconds, MAX_NEAR_PASSAGES
        ))  # fmt: skip
        own = {token for _, token in keys}
        found = co_travellers(
            [Passage(p.subject_token, p.device_id, p.time, p.type) for p in mine],
            (Passage(p.subject_token, p.device_id, p.time, p.type) for p in near
             if p.subject_token not in own),
            window_seconds=window_seconds,
            min_places=min_places,
        )  # fmt: skip
        token = keys[0][1]
        self._record("trajectory.co_travellers", token, purpose, "resident", found=len(found),
                     window_seconds=window_seconds, min_places=min_places,
                     since=query.since.isoformat(), until=query.until.isoformat())  # fmt: skip
        masks = {p.subject_token: f"{p.subject_kind} {p.subject_masked}" for p in [*mine, *near]}
        return CoTravellerResult("resident", mask_ref(resident_id), purpose.case_number or "",
                                 len(mine), found, masks,
                                 self._names([*mine, *near]))  # fmt: skip

    def _face_captures(self, query: TrajectoryQuery) -> tuple[int, list[FaceCapture]]:
        """Every capture of the period at the reader's devices with its feature opened (at
        most `MAX_FACE_CAPTURES`, newest first), and how many were read."""
        if self.open_feature is None:
            raise BadRequestError("face features cannot be opened on this node", field="feature")
        sealed = self.reads.sealed_captures(CaptureWindow(
            since=query.since, until=query.until, device_ids=tuple(self.devices),
            limit=MAX_FACE_CAPTURES,
        ))  # fmt: skip
        captures = []
        for capture in sealed:
            vector = decode_feature(self.open_feature(capture))
            if vector is not None:
                captures.append(FaceCapture(capture.device_id, capture.event_id, capture.time,
                                            vector, capture.subject))  # fmt: skip
        return len(sealed), captures

    def _record_face(
        self, action: str, purpose: Purpose, query: TrajectoryQuery, matched: list[FaceCapture],
        **details: object,
    ) -> None:  # fmt: skip
        """Audit a face search (record type `face_event`): the captures taken for the
        subject as the record ids, never the feature."""
        self.audit.record(
            Actor.user(self.user_id), action, record_type="face_event",
            record_ids=[c.ref for c in matched], ip=self.ip, purpose=purpose.reason,
            case_number=purpose.case_number,
            details={"probe": "feature", "matched": len(matched), **details,
                     "since": query.since.isoformat(), "until": query.until.isoformat()},
        )  # fmt: skip

    def _face_trajectory(
        self, query: TrajectoryQuery, purpose: Purpose, min_similarity: float = DEFAULT_THRESHOLD
    ) -> TrajectoryResult:
        """The captures matched to the subject's feature, in time order, flagged as any
        trajectory; audited as `trajectory.read` with those captures."""
        compared, captures = self._face_captures(query)
        passages = face_passages(_probe(query), captures, threshold=min_similarity,
                                 window_seconds=1)  # fmt: skip
        self._record_face("trajectory.read", purpose, query, passages.matched,
                          compared=compared, min_similarity=min_similarity)  # fmt: skip
        steps = trajectory(passages.mine, self._places(), self.limits)
        names = {c.device_id: self.devices[c.device_id].name for c in passages.matched}
        masks = {SUBJECT_TOKEN: "-"}  # a face has no key to show
        return TrajectoryResult("face", "face", purpose.case_number or "", steps, masks, names)

    def _face_co_travellers(
        self, query: TrajectoryQuery, purpose: Purpose, window_seconds: float, min_places: int,
        min_similarity: float,
    ) -> CoTravellerResult:  # fmt: skip
        """The faces of captures within the window of the captures matched to the subject's
        feature, at ≥ `min_places` distinct devices. Every capture of the period at the
        reader's devices is compared (its feature opened); the audit entry (record type
        `face_event`) names the captures taken for the subject and counts those compared."""
        compared, captures = self._face_captures(query)
        passages = face_passages(_probe(query), captures, threshold=min_similarity,
                                 window_seconds=window_seconds)  # fmt: skip
        found = co_travellers(passages.mine, passages.others, window_seconds=window_seconds,
                              min_places=min_places)  # fmt: skip
        self._record_face("trajectory.co_travellers", purpose, query, passages.matched,
                          compared=compared, found=len(found), window_seconds=window_seconds,
                          min_places=min_places, min_similarity=min_similarity)  # fmt: skip
        masks = {token: _face_label(members) for token, members in passages.faces.items()}
        names = {c.device_id: self.devices[c.device_id].name for c in captures}
        return CoTravellerResult("face", "face", purpose.case_number or "",
                                 len(passages.mine), found, masks, names)  # fmt: skip

    def _names(self, passages: Sequence[PlatePassage | SubjectPassage]) -> dict[str, str]:
        return {p.device_id: self.devices[p.device_id].name for p in passages}


def _check_similarity(min_similarity: float) -> None:
    if not 0.0 < min_similarity <= 1.0:
        raise BadRequestError("min_similarity is above 0 and at most 1", field="min_similarity")


def _probe(query: TrajectoryQuery) -> npt.NDArray[np.float32]:
    return probe_vector(query.subject)


def _face_label(members: list[FaceCapture]) -> str:
    """How a face found is shown: the masked subject a capture of it was matched to (a
    resident's masked reference), else its first capture (`face CAM1/ev-1`)."""
    named = next((c.subject_masked for c in members if c.subject_masked), None)
    return named or f"face {members[0].ref}"
