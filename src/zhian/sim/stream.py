"""The event stream of a district: heartbeats, routines, background life and planted scenarios.

The stream is built one slice (an hour) at a time: every generator puts that hour's events
into second buckets, planted outages are cut out, and the hour is yielded in time order.
Only the current hour, the spill window after it and the current day's plan are held, so
a stream of any length runs in bounded memory.
"""

from __future__ import annotations

import dataclasses
import math
import random
import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime, time, timedelta

from zhian.ingest.events import Event, HeartbeatEvent
from zhian.sim.activity import Routines
from zhian.sim.background import Background
from zhian.sim.district import District
from zhian.sim.hard import DIFFICULTIES, Difficulty, hard_scenarios, with_device_faults
from zhian.sim.parking import parking_cameras, with_parked_reads
from zhian.sim.scenarios import SCENARIOS, Scenario
from zhian.sim.timeline import (
    DAY_SECONDS,
    HEARTBEAT_SECONDS,
    SLICE_SECONDS,
    TZ,
    Day,
    Sink,
    Timeline,
)
from zhian.sim.truth import TruthRecord

BEATS_PER_SLICE = SLICE_SECONDS // HEARTBEAT_SECONDS


def _seconds_after(epoch: datetime, moment: datetime) -> int:
    return math.ceil((moment - epoch).total_seconds())


class Simulation:
    """One stream of a district's events from `start` to `end` (None: without end).

    Iterate `events()` once; the ground truth of what was planted accumulates in `truth`
    as days are planned (`take_truth()` hands it over and forgets it, for endless streams).
    """

    def __init__(
        self,
        district: District,
        *,
        start: datetime,
        end: datetime | None,
        seed: int,
        scenarios: Sequence[type[Scenario]] | None = None,
        difficulty: Difficulty = "standard",
    ) -> None:
        if difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {', '.join(DIFFICULTIES)}")
        if start.tzinfo is None or (end is not None and end.tzinfo is None):
            raise ValueError("start and end must be timezone-aware")
        if difficulty == "hard":
            # Hard scenarios move residents (a family moving within the community): each
            # stream moves its own copies, so a district gives the same stream every time.
            district = dataclasses.replace(
                district, people=[dataclasses.replace(p) for p in district.people]
            )
        self.district = district
        self.seed = seed
        local = start.astimezone(TZ)
        self.epoch = datetime.combine(local.date(), time(0), tzinfo=TZ)
        start_t = _seconds_after(self.epoch, start)
        end_t = None if end is None else max(start_t, _seconds_after(self.epoch, end))
        self.timeline = Timeline(self.epoch, start_t, end_t)
        self.routines = Routines(district)
        self.background = Background(district, self.timeline)
        chosen = list(SCENARIOS if scenarios is None else scenarios)
        self.difficulty = difficulty
        if difficulty == "hard":  # the field's noise and faults (zhian.sim.hard)
            chosen = hard_scenarios(chosen)
        self.scenarios = [cls(self.routines) for cls in chosen]
        self._background_rng = random.Random(0)
        self._beats = [
            (device, zlib.crc32(device.encode()) % HEARTBEAT_SECONDS)
            for device in district.enabled_devices
        ]

    @property
    def truth(self) -> list[TruthRecord]:
        return self.timeline.truth

    def take_truth(self) -> list[TruthRecord]:
        records, self.timeline.truth = self.timeline.truth, []
        return records

    def events(self) -> Iterator[Event]:
        events = with_parked_reads(self._events(), self.district, self.seed)
        if self.difficulty == "hard":
            # Car-park cameras miss reads of their own (zhian.sim.parking).
            exempt = parking_cameras(self.district)
            return with_device_faults(events, self.seed, exempt=exempt)
        return events

    def _events(self) -> Iterator[Event]:
        timeline = self.timeline
        start_t, end_t = timeline.start_t, timeline.end_t
        hour = start_t // SLICE_SECONDS
        sink = Sink(self.epoch, hour * SLICE_SECONDS, self.district.seed)
        day: Day | None = None
        while end_t is None or hour * SLICE_SECONDS < end_t:
            base = hour * SLICE_SECONDS
            timeline.hour = hour
            if day is None or base >= day.start + DAY_SECONDS:
                day = self._plan_day(base // DAY_SECONDS, sink)
            self._heartbeats(sink, base)
            self.background.run_hour(sink, day.start, base, day.is_weekend, self._background_rng)
            while actions := timeline.pending.pop(hour, None):
                for t, action, arg in actions:
                    action(sink, t, arg)
            for scenario in self.scenarios:
                scenario.on_slice(sink, base)
            yield from self._flush(sink, base)
            sink.advance(self.epoch)
            hour += 1

    def _plan_day(self, index: int, sink: Sink) -> Day:
        timeline = self.timeline
        timeline.forget_before(index * DAY_SECONDS)
        day = Day(timeline, self.district, index, self.seed)
        for scenario in self.scenarios:
            scenario.plant(self.district, day.rng(scenario.name), day)
        self.routines.plan_day(day, day.rng("routines"))
        sink.rng = day.rng("events")
        self._background_rng = day.rng("background")
        self.background.crowds.start_day(day.rng("crowds"))
        return day

    def _heartbeats(self, sink: Sink, base: int) -> None:
        """Every enabled device beats every five minutes, at its own phase."""
        buckets, times, ids, prefixes = sink.buckets, sink.times, sink.ids, sink.prefixes
        faults = self.timeline.faults
        for device, phase in self._beats:
            n = ids.get(device, 0)
            ids[device] = n + BEATS_PER_SLICE
            device_faults = faults.get(device)
            for k in range(BEATS_PER_SLICE):
                i = phase + k * HEARTBEAT_SECONDS
                code = None
                if device_faults:
                    t = base + i
                    code = next((c for t0, t1, c in device_faults if t0 <= t < t1), None)
                buckets[i].append(
                    HeartbeatEvent(
                        id=prefixes[i] + str(n + k),
                        device_id=device,
                        time=times[i],
                        status="ok" if code is None else "fault",
                        fault_code=code,
                    )
                )

    def _flush(self, sink: Sink, base: int) -> Iterator[Event]:
        """The slice's events in time order, without those of silenced devices or outside
        the stream's interval."""
        timeline = self.timeline
        lo = max(timeline.start_t - base, 0)
        hi = SLICE_SECONDS if timeline.end_t is None else min(timeline.end_t - base, SLICE_SECONDS)
        buckets = sink.buckets
        for device, t0, t1 in timeline.silences:
            for i in range(max(t0 - base, lo), min(t1 - base, hi)):
                if buckets[i]:
                    buckets[i] = [e for e in buckets[i] if e.device_id != device]
        for bucket in buckets[lo:hi]:
            yield from bucket


def stream_events(
    district: District, *, start: datetime, end: datetime | None, seed: int
) -> Iterator[Event]:
    """The district's events from `start` until `end` (exclusive; None: endless), in time
    order (+08:00). The same arguments always give the same events."""
    return Simulation(district, start=start, end=end, seed=seed).events()


def default_start(now: datetime, days: float) -> datetime:
    """Midnight (+08:00) far enough back that `days` days end by today's midnight or later."""
    today = datetime.combine(now.astimezone(TZ).date(), time(0), tzinfo=TZ)
    return today - timedelta(days=math.ceil(days))
