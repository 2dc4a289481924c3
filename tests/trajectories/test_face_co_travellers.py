"""Co-travellers on a face, measured against a planted scenario's truth
(zhian.sim.face_companions): the companions found, no decoy (seen together too rarely), no
trailer (same places, minutes later), no passer-by; and the grouping of captures into faces."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import numpy as np

from zhian.evaluation.face_co_travellers import evaluate, score_scenario
from zhian.models.faces import decode_feature
from zhian.sim.face_companions import face_companions
from zhian.sim.faces import FaceFeatures
from zhian.trajectories.faces import FaceCapture, face_passages, group_faces


def test_precision_and_recall_on_the_planted_scenarios() -> None:
    score = evaluate(range(1, 6))
    assert score.planted == 15
    assert score.precision >= 0.95 and score.recall >= 0.95, score
    assert score.subject_recall >= 0.95 and score.splits == 0, score


def test_a_threshold_too_strict_finds_neither_the_subject_nor_its_companions() -> None:
    """The threshold does the matching: at 0.999 not even the subject's own captures match,
    so nothing is found; the measure can fail."""
    found, right, companions, _, subject_recall = score_scenario(face_companions(3), 0.999)
    assert (found, right, companions, subject_recall) == (0, 0, 0, 0.0)


def test_fewer_shared_places_than_asked_is_not_a_co_traveller() -> None:
    scenario = face_companions(4, shared=3, min_places=3, decoys=0)
    found, right, companions, _, _ = score_scenario(scenario)
    assert (found, right, companions) == (3, 3, 3)
    # Asked for four places, the same captures give no one.
    assert score_scenario(dataclasses.replace(scenario, min_places=4))[:3] == (0, 0, 0)


def _vector(text: str) -> np.ndarray:  # type: ignore[type-arg]
    vector = decode_feature(text)
    assert vector is not None
    return vector


def test_captures_are_grouped_into_faces_by_similarity() -> None:
    faces, rng = FaceFeatures(11), random.Random(5)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    captures = [
        FaceCapture("CAM1", f"e{i}", start + timedelta(seconds=i),
                    _vector(faces.capture(person, rng)))
        for i, person in enumerate(["a", "b", "a", "c", "b", "a"])
    ]  # fmt: skip
    grouped = group_faces(captures, 0.6)
    assert [[c.event_id for c in members] for members in grouped.values()] == [
        ["e0", "e2", "e5"],
        ["e1", "e4"],
        ["e3"],
    ]
    assert list(grouped) == ["face:CAM1/e0", "face:CAM1/e1", "face:CAM1/e3"]


def test_features_of_another_length_are_skipped() -> None:
    faces, rng = FaceFeatures(11), random.Random(5)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    probe = _vector(faces.enrolled("a"))
    short = np.ones(64, dtype=np.float32) / 8
    captures = [
        FaceCapture("CAM1", "e0", start, _vector(faces.capture("a", rng))),
        FaceCapture("CAM1", "e1", start, short),
    ]
    passages = face_passages(probe, captures, threshold=0.6, window_seconds=60)
    assert [c.event_id for c in passages.matched] == ["e0"] and passages.others == []
