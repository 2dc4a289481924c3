"""Precision and recall of co-travellers on a face against a planted scenario's truth.

Runs what the API runs for `subject_kind` face (`zhian.trajectories.faces.face_passages`,
then `zhian.trajectories.analysis.co_travellers`) on `zhian.sim.face_companions`, and
counts: a face found is right when most of its captures are of a planted companion;
precision is right faces ÷ faces found; recall is companions found ÷ companions planted.
A companion split into two faces counts once for recall and is reported as a split.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from zhian.models.faces import decode_feature
from zhian.sim.face_companions import FaceCompanionScenario, face_companions
from zhian.trajectories.analysis import co_travellers
from zhian.trajectories.faces import DEFAULT_THRESHOLD, FaceCapture, face_passages


@dataclass(frozen=True)
class FaceCoTravellerScore:
    seeds: int
    planted: int  # companions planted over all seeds
    found: int  # faces listed
    right: int  # faces listed that are a planted companion
    companions_found: int
    splits: int  # faces beyond the first of one companion
    subject_recall: float  # the subject's captures matched ÷ its captures

    @property
    def precision(self) -> float:
        return self.right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.companions_found / self.planted if self.planted else 1.0


def score_scenario(
    scenario: FaceCompanionScenario, threshold: float = DEFAULT_THRESHOLD
) -> tuple[int, int, int, int, float]:
    """(found, right, companions found, splits, subject recall) for one scenario."""
    probe = decode_feature(scenario.subject_feature)
    assert probe is not None
    truth: dict[str, str] = {}
    captures = []
    for c in scenario.captures:
        vector = decode_feature(c.feature)
        assert vector is not None
        captures.append(FaceCapture(c.device_id, c.event_id, c.time, vector.astype(np.float32)))
        truth[f"{c.device_id}/{c.event_id}"] = c.person
    passages = face_passages(probe, captures, threshold=threshold,
                             window_seconds=scenario.window_seconds)  # fmt: skip
    found = co_travellers(passages.mine, passages.others,
                          window_seconds=scenario.window_seconds,
                          min_places=scenario.min_places)  # fmt: skip
    who = [
        Counter(truth[c.ref] for c in passages.faces[f.subject]).most_common(1)[0][0] for f in found
    ]
    right = [person for person in who if person in scenario.companions]
    subject_total = sum(1 for c in scenario.captures if c.person == "subject")
    subject_matched = sum(1 for c in passages.matched if truth[c.ref] == "subject")
    return (len(found), len(right), len(set(right)), len(right) - len(set(right)),
            subject_matched / subject_total)  # fmt: skip


def evaluate(seeds: range, threshold: float = DEFAULT_THRESHOLD) -> FaceCoTravellerScore:
    """Precision and recall over one scenario per seed."""
    found = right = companions = splits = planted = 0
    recalls = []
    for seed in seeds:
        scenario = face_companions(seed)
        f, r, c, s, subject = score_scenario(scenario, threshold)
        found, right, companions, splits = found + f, right + r, companions + c, splits + s
        planted += len(scenario.companions)
        recalls.append(subject)
    return FaceCoTravellerScore(len(seeds), planted, found, right, companions, splits,
                                sum(recalls) / len(recalls))  # fmt: skip
