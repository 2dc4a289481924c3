"""What a trajectory (轨迹) and its co-travellers (同行) are, computed from passages.

Pure functions of passages already read (within a case reference and the reader's scope:
issue #16; `zhian.trajectories.service` reads them for the API and the page). A subject is
a token (a plate's or a resident's key, never the value); the output carries tokens only, for
the caller to mask or, after a permitted reveal, open.

- A trajectory is the subject's passages in time order, each step flagged when the gap
  since the previous passage is long (the subject went unseen) or when covering the
  distance in that time would need an implausible speed (a misread plate, a cloned plate,
  or devices with wrong clocks or places).
- A co-traveller is another subject seen within Δt of the subject at at least k distinct
  places. It is a fact about shared passages, not a score of a person: the list is ordered
  by the number of shared places and carries the passages that make it.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Passage:
    """A subject seen at a device at a moment."""

    subject: str  # a token
    device_id: str
    time: datetime
    source: str = ""  # what saw it: "vehicle", "access" (a door) or "face" (a camera match)


@dataclass(frozen=True)
class TrajectoryStep:
    """One passage of a trajectory with what the step from the previous one looks like."""

    passage: Passage
    place: Place | None
    seconds_since_previous: float | None
    metres_from_previous: float | None
    speed_kmh: float | None
    is_gap: bool
    is_implausible_speed: bool


@dataclass(frozen=True)
class TrajectoryLimits:
    """When a step is flagged: unseen longer than `gap_hours`, or faster than
    `max_speed_kmh` (over at least `min_metres`, so two cameras at one gate never are)."""

    gap_hours: float = 6.0
    max_speed_kmh: float = 150.0
    min_metres: float = 300.0


def distance_m(a: Place, b: Place) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(a.latitude), math.radians(b.latitude)
    d_lat = p2 - p1
    d_lon = math.radians(b.longitude - a.longitude)
    h = math.sin(d_lat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(d_lon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(h, 1.0)))


def trajectory(
    passages: Iterable[Passage], places: Mapping[str, Place], limits: TrajectoryLimits
) -> list[TrajectoryStep]:
    """The passages in time order, each step flagged (a device without a known place
    gives no distance and no speed)."""
    ordered = sorted(passages, key=lambda p: (p.time, p.device_id))
    steps: list[TrajectoryStep] = []
    previous: Passage | None = None
    for passage in ordered:
        place = places.get(passage.device_id)
        seconds = metres = speed = None
        is_gap = is_fast = False
        if previous is not None:
            seconds = (passage.time - previous.time).total_seconds()
            is_gap = seconds > limits.gap_hours * 3600
            before = places.get(previous.device_id)
            if place is not None and before is not None:
                metres = distance_m(before, place)
                if metres >= limits.min_metres:
                    speed = math.inf if seconds <= 0 else metres / seconds * 3.6
                    is_fast = speed > limits.max_speed_kmh
        steps.append(TrajectoryStep(passage, place, seconds, metres,
                                    None if speed is None else round(speed, 1), is_gap,
                                    is_fast))  # fmt: skip
        previous = passage
    return steps


@dataclass(frozen=True)
class CoTraveller:
    """Another subject seen with the subject at `places` distinct devices, each within
    the window; `pairs` are (subject's passage, other's passage)."""

    subject: str
    places: int
    pairs: tuple[tuple[Passage, Passage], ...] = field(default=())


def co_travellers(
    subject_passages: Sequence[Passage],
    others: Iterable[Passage],
    *,
    window_seconds: float,
    min_places: int,
) -> list[CoTraveller]:
    """Subjects seen within `window_seconds` of the subject at ≥ `min_places` distinct
    devices, most shared places first. `others` are the passages at the subject's devices
    around its times (the store's query narrows them); the subject's own are ignored."""
    if min_places < 1 or window_seconds <= 0:
        raise ValueError("min_places must be at least 1 and the window positive")
    mine = {p.subject for p in subject_passages}
    by_device: dict[str, list[float]] = defaultdict(list)
    passage_at: dict[tuple[str, float], Passage] = {}
    for passage in subject_passages:
        moment = passage.time.timestamp()
        by_device[passage.device_id].append(moment)
        passage_at[passage.device_id, moment] = passage
    for device_times in by_device.values():
        device_times.sort()
    shared: dict[str, dict[str, tuple[Passage, Passage]]] = defaultdict(dict)
    for other in others:
        times = by_device.get(other.device_id, [])
        if other.subject in mine or not times:
            continue
        moment = other.time.timestamp()
        i = bisect.bisect_left(times, moment - window_seconds)
        if i < len(times) and times[i] <= moment + window_seconds:
            shared[other.subject].setdefault(
                other.device_id, (passage_at[other.device_id, times[i]], other)
            )
    found = [
        CoTraveller(subject, len(devices), tuple(sorted(devices.values(),
                                                        key=lambda pair: pair[0].time)))
        for subject, devices in shared.items()
        if len(devices) >= min_places
    ]  # fmt: skip
    return sorted(found, key=lambda c: (-c.places, c.subject))
