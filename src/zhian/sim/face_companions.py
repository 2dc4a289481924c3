"""A small planted scenario of face co-travellers (同行 on a face) with its ground truth.

The district simulator plants no one who travels with another, so this scenario does, at
face cameras only (features from `zhian.sim.faces`: one person's captures agree at about
0.94, two people's at 0 ± 0.1):

- the subject is caught at `visits` distinct cameras over `days`;
- each companion (the truth) is caught within `lag_seconds` of the subject at `shared`
  of those visits (at least the `min_places` a search asks for);
- each decoy is caught within the window of the subject at `min_places - 1` visits: seen
  together, but not often enough;
- each trailer is caught at every visit, but 3 to 20 minutes after the subject: the same
  places, not together;
- `background` people pass random cameras at random times.

`zhian.evaluation.face_co_travellers` measures a search's precision and recall against it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from zhian.sim.faces import FaceFeatures

START = datetime(2026, 3, 2, tzinfo=UTC)


@dataclass(frozen=True)
class SimFaceCapture:
    device_id: str
    event_id: str
    time: datetime
    feature: str  # base64 little-endian float32, as a camera sends it
    person: str  # the truth: who it is


@dataclass(frozen=True)
class FaceCompanionScenario:
    captures: list[SimFaceCapture]
    cameras: tuple[str, ...]
    subject_feature: str  # the probe an officer has: the subject's enrolled feature
    companions: frozenset[str]  # the truth: seen with the subject at ≥ min_places
    decoys: frozenset[str]
    trailers: frozenset[str]
    window_seconds: float
    min_places: int
    since: datetime
    until: datetime


def face_companions(
    seed: int,
    *,
    cameras: tuple[str, ...] | None = None,
    days: int = 14,
    visits: int = 8,
    companions: int = 3,
    shared: int = 4,
    decoys: int = 4,
    trailers: int = 2,
    background: int = 1500,
    lag_seconds: int = 40,
    window_seconds: float = 60,
    min_places: int = 3,
) -> FaceCompanionScenario:
    """The scenario for `seed` (the same seed, the same captures)."""
    if not min_places <= shared <= visits:
        raise ValueError("shared must be from min_places to visits")
    rng = random.Random(seed)
    faces = FaceFeatures(seed)
    cams = cameras or tuple(f"FC{i:02d}" for i in range(40))
    if len(cams) < visits:
        raise ValueError("the subject needs a camera per visit")
    captures: list[SimFaceCapture] = []

    def caught(person: str, device_id: str, at: datetime) -> None:
        captures.append(SimFaceCapture(device_id, f"sf-{seed}-{len(captures)}", at,
                                       faces.capture(person, rng), person))  # fmt: skip

    span = days * 86_400
    places = rng.sample(cams, visits)
    moments = sorted(START + timedelta(seconds=rng.randrange(span)) for _ in range(visits))
    subject_visits = list(zip(places, moments, strict=True))
    for device_id, at in subject_visits:
        caught("subject", device_id, at)
    for i in range(companions):
        for device_id, at in rng.sample(subject_visits, shared):
            caught(f"companion-{i}", device_id, at + timedelta(seconds=rng.randint(1, lag_seconds)))
    for i in range(decoys):
        for device_id, at in rng.sample(subject_visits, min_places - 1):
            lag = rng.randint(-lag_seconds, lag_seconds) or 1
            caught(f"decoy-{i}", device_id, at + timedelta(seconds=lag))
    for i in range(trailers):
        for device_id, at in subject_visits:
            caught(f"trailer-{i}", device_id, at + timedelta(seconds=rng.randint(180, 1200)))
    for i in range(background):
        for _ in range(rng.randint(1, 6)):
            at = START + timedelta(seconds=rng.randrange(span))
            caught(f"passer-{i}", rng.choice(cams), at)
    captures.sort(key=lambda c: c.time)
    return FaceCompanionScenario(
        captures=captures,
        cameras=cams,
        subject_feature=faces.enrolled("subject"),
        companions=frozenset(f"companion-{i}" for i in range(companions)),
        decoys=frozenset(f"decoy-{i}" for i in range(decoys)),
        trailers=frozenset(f"trailer-{i}" for i in range(trailers)),
        window_seconds=window_seconds,
        min_places=min_places,
        since=START,
        until=START + timedelta(days=days + 1),
    )
