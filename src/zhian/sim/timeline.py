"""The simulator's clockwork: event buckets per slice, scheduled actions, the day being planned.

Times inside the simulator are whole seconds since the epoch, midnight (+08:00) of the day
the stream starts. Generators put events into a `Sink` at such seconds; the stream yields
one slice (an hour) at a time, so memory stays bounded however long it runs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from zhian.ingest.events import (
    AccessEvent,
    AccessMethod,
    AccessResult,
    AlarmEvent,
    AlarmKind,
    CrowdEvent,
    Direction,
    Event,
    FaceEvent,
    Subject,
    VehicleEvent,
)
from zhian.sim.faces import FaceFeatures
from zhian.sim.truth import TruthRecord

if TYPE_CHECKING:
    from zhian.sim.district import District
    from zhian.sim.people import Car

TZ = timezone(timedelta(hours=8))
SLICE_SECONDS = 3600
# How far past its own second an action may place events (the walk from a unit to the gate).
SPILL_SECONDS = 1800
WINDOW_SECONDS = SLICE_SECONDS + SPILL_SECONDS
DAY_SECONDS = 86_400
HEARTBEAT_SECONDS = 300
# Share of face captures that carry a feature vector, and that recognise a resident.
FEATURE_SHARE = 0.3
RECOGNISED_SHARE = 0.6

K = TypeVar("K")
Action = Callable[["Sink", int, Any], None]
_DELTAS = [timedelta(seconds=s) for s in range(SLICE_SECONDS)]


class SimulationError(RuntimeError):
    """A generator tried to place an event outside the slice being built (a simulator bug)."""


def id_prefix(unix_seconds: int) -> str:
    """Event ids are this prefix (the second, in hex) plus the device's event counter.

    Unique per device: the counter within one stream, the time between streams over
    different periods (a replayed history and the live stream after it).
    """
    return f"{unix_seconds:08x}-"


class Sink:
    """The events of the slice being built, bucketed by second, plus the spill window."""

    __slots__ = ("base", "buckets", "faces", "ids", "prefixes", "rng", "times", "unix_epoch")

    def __init__(self, epoch: datetime, base: int, district_seed: int) -> None:
        self.unix_epoch = int(epoch.timestamp())
        self.faces = FaceFeatures(district_seed)
        self.base = base
        self.ids: dict[str, int] = {}
        self.rng = random.Random(0)
        self.buckets: list[list[Event]] = [[] for _ in range(WINDOW_SECONDS)]
        self.times: list[datetime] = [
            epoch + timedelta(seconds=base + i) for i in range(WINDOW_SECONDS)
        ]
        first = self.unix_epoch + base
        self.prefixes = [id_prefix(first + i) for i in range(WINDOW_SECONDS)]

    def advance(self, epoch: datetime) -> None:
        """Move to the next slice; the spill window becomes its head."""
        self.base += SLICE_SECONDS
        first_new = epoch + timedelta(seconds=self.base + SPILL_SECONDS)
        self.buckets = self.buckets[SLICE_SECONDS:] + [[] for _ in range(SLICE_SECONDS)]
        self.times = self.times[SLICE_SECONDS:] + [first_new + d for d in _DELTAS]
        first = self.unix_epoch + self.base + SPILL_SECONDS
        self.prefixes = self.prefixes[SLICE_SECONDS:] + [
            id_prefix(first + i) for i in range(SLICE_SECONDS)
        ]

    def slot(self, t: int) -> int:
        i = t - self.base
        if not 0 <= i < WINDOW_SECONDS:
            raise SimulationError(f"second {t} is outside the slice starting at {self.base}")
        return i

    def next_id(self, device: str, i: int) -> str:
        """The next id of `device` for an event at slot `i`."""
        n = self.ids.get(device, 0)
        self.ids[device] = n + 1
        return self.prefixes[i] + str(n)

    def access(
        self,
        t: int,
        device: str,
        subject: Subject,
        direction: Direction,
        method: AccessMethod,
        result: AccessResult = "granted",
    ) -> None:
        i = self.slot(t)
        self.buckets[i].append(
            AccessEvent(
                id=self.next_id(device, i),
                device_id=device,
                time=self.times[i],
                subject=subject,
                direction=direction,
                method=method,
                result=result,
            )
        )

    def face(
        self,
        t: int,
        camera: str,
        person: str,
        subject: Subject | None,
        *,
        with_feature: bool | None = None,
    ) -> None:
        """A capture of `person` (the key of their face embedding); `subject` if recognised."""
        i = self.slot(t)
        rng = self.rng
        if with_feature is None:
            with_feature = rng.random() < FEATURE_SHARE
        feature = self.faces.capture(person, rng) if with_feature else None
        self.buckets[i].append(
            FaceEvent(
                id=self.next_id(camera, i),
                device_id=camera,
                time=self.times[i],
                quality=round(0.55 + 0.44 * rng.random(), 2),
                subject=subject,
                feature=feature,
            )
        )

    def vehicle(self, t: int, gate: str, car: Car, direction: Direction) -> None:
        i = self.slot(t)
        self.buckets[i].append(
            VehicleEvent(
                id=self.next_id(gate, i),
                device_id=gate,
                time=self.times[i],
                plate=car.plate,
                plate_color=car.plate_color,
                vehicle_class=car.vehicle_class,
                direction=direction,
            )
        )

    def alarm(self, t: int, device: str, kind: AlarmKind, level: int, detail: str = "") -> None:
        i = self.slot(t)
        self.buckets[i].append(
            AlarmEvent(
                id=self.next_id(device, i),
                device_id=device,
                time=self.times[i],
                kind=kind,
                level=level,
                detail=detail,
            )
        )

    def occupancy(self, t: int, device: str, zone: str, people: int) -> None:
        i = self.slot(t)
        self.buckets[i].append(
            CrowdEvent(
                id=self.next_id(device, i),
                device_id=device,
                time=self.times[i],
                zone_id=zone,
                occupancy=people,
            )
        )

    def line_count(
        self, t: int, device: str, zone: str, count_in: int, count_out: int, seconds: int
    ) -> None:
        i = self.slot(t)
        self.buckets[i].append(
            CrowdEvent(
                id=self.next_id(device, i),
                device_id=device,
                time=self.times[i],
                zone_id=zone,
                count_in=count_in,
                count_out=count_out,
                interval_seconds=seconds,
            )
        )


@dataclass(frozen=True, slots=True)
class Surge:
    """Extra people in a zone over [t0, t1) (a temple fair, a concert), peaking midway."""

    zone: str
    t0: int
    t1: int
    peak: float

    def people_at(self, t: int) -> float:
        if not self.t0 <= t < self.t1:
            return 0.0
        return self.peak * math.sin(math.pi * (t - self.t0) / (self.t1 - self.t0))


def _overlaps(intervals: list[tuple[int, int]] | None, t0: int, t1: int) -> bool:
    return bool(intervals) and any(a < t1 and t0 < b for a, b in intervals or ())


def _prune(table: dict[K, list[tuple[int, int]]], t: int) -> None:
    for key in list(table):
        if not (kept := [iv for iv in table[key] if iv[1] > t]):
            del table[key]
        else:
            table[key] = kept


class Timeline:
    """State shared across days: scheduled actions, silences, faults, reservations, truth."""

    def __init__(self, epoch: datetime, start_t: int, end_t: int | None) -> None:
        self.epoch = epoch
        self.start_t = start_t
        self.end_t = end_t
        self.hour = start_t // SLICE_SECONDS  # the slice being built; earlier ones are gone
        self.pending: dict[int, list[tuple[int, Action, Any]]] = {}
        self.silences: list[tuple[str, int, int]] = []
        self.faults: dict[str, list[tuple[int, int, str]]] = {}
        self.reserved: dict[str, list[tuple[int, int]]] = {}
        self.blocked: dict[int, list[tuple[int, int]]] = {}
        self.surges: list[Surge] = []
        self.truth: list[TruthRecord] = []

    def at(self, t: int, action: Action, arg: Any = None) -> None:
        """Run `action(sink, t, arg)` when the slice holding second `t` is built."""
        if self.end_t is not None and t >= self.end_t:
            return
        hour = t // SLICE_SECONDS
        if hour < self.hour:
            return  # before the stream starts
        self.pending.setdefault(hour, []).append((t, action, arg))

    def time(self, t: int) -> datetime:
        return self.epoch + timedelta(seconds=t)

    def forget_before(self, t: int) -> None:
        """Drop intervals that ended before `t`, so state stays bounded in endless mode."""
        self.silences = [s for s in self.silences if s[2] > t]
        for device in list(self.faults):
            if not (faults := [f for f in self.faults[device] if f[1] > t]):
                del self.faults[device]
            else:
                self.faults[device] = faults
        _prune(self.reserved, t)
        _prune(self.blocked, t)
        self.surges[:] = [s for s in self.surges if s.t1 > t]


class Day:
    """One simulated day being planned: its times, and the hooks scenarios plant through."""

    def __init__(self, timeline: Timeline, district: District, index: int, seed: int) -> None:
        self.timeline = timeline
        self.district = district
        self.index = index
        self.start = index * DAY_SECONDS
        self.date: date = (timeline.epoch + timedelta(days=index)).date()
        self.weekday = self.date.weekday()
        self.is_weekend = self.weekday >= 5
        self.is_first = index == timeline.start_t // DAY_SECONDS
        end = self.start + DAY_SECONDS
        if timeline.end_t is not None:
            end = min(end, timeline.end_t)
        # The part of the day the stream shows; scenarios are planted inside it.
        self.window = (max(self.start, timeline.start_t), end)
        self._seed = seed

    def rng(self, name: str) -> random.Random:
        """A generator of its own per (seed, day, name): components never disturb each other."""
        return random.Random(f"zhian-sim:{self._seed}:{self.date.isoformat()}:{name}")

    def at(self, t: int, action: Action, arg: Any = None) -> None:
        self.timeline.at(t, action, arg)

    def time(self, t: int) -> datetime:
        return self.timeline.time(t)

    def pick(
        self, rng: random.Random, from_hour: float, to_hour: float, duration: int = 0
    ) -> int | None:
        """A second between the two hours of this day such that [t, t + duration) lies in
        the visible window; None if there is none."""
        lo = max(self.start + int(from_hour * 3600), self.window[0])
        hi = min(self.start + int(to_hour * 3600), self.window[1] - duration)
        if hi <= lo:
            return None
        return lo + int(rng.random() * (hi - lo))

    def silence(self, device: str, t0: int, t1: int) -> None:
        """No event at all from `device` in [t0, t1): it is offline."""
        self.timeline.silences.append((device, t0, t1))

    def fault(self, device: str, t0: int, t1: int, code: str) -> None:
        """Heartbeats of `device` report `fault` with `code` in [t0, t1)."""
        self.timeline.faults.setdefault(device, []).append((t0, t1, code))

    def surge(self, zone: str, t0: int, t1: int, peak: float) -> None:
        """Up to `peak` extra people in `zone` over [t0, t1); its counters report them."""
        self.timeline.surges.append(Surge(zone, t0, t1, peak))

    def reserve(self, device: str, t0: int, t1: int) -> bool:
        """Claim a device for a scenario in [t0, t1); False if another scenario holds it."""
        held = self.timeline.reserved.get(device)
        if _overlaps(held, t0, t1):
            return False
        self.timeline.reserved.setdefault(device, []).append((t0, t1))
        return True

    def is_free(self, person: int, t0: int, t1: int) -> bool:
        return not _overlaps(self.timeline.blocked.get(person), t0, t1)

    def block(self, person: int, t0: int, t1: int) -> None:
        """The resident is away in [t0, t1): no routine trip may overlap it."""
        self.timeline.blocked.setdefault(person, []).append((t0, t1))

    def record(self, scenario: str, subject: str, t0: int, t1: int | None, **detail: Any) -> None:
        """Add a truth record; the interval is cut to what the stream shows."""
        timeline = self.timeline
        if timeline.end_t is not None and t0 >= timeline.end_t:
            return
        if t1 is not None and t1 <= timeline.start_t:
            return
        t0 = max(t0, timeline.start_t)
        if t1 is not None and timeline.end_t is not None and t1 > timeline.end_t:
            t1 = None
        end = None if t1 is None else self.time(t1)
        timeline.truth.append(TruthRecord(scenario, subject, self.time(t0), end, detail))
