"""Access-control scenarios: forced-entry attempts (a denied burst at one door) and the
noise that looks like one but is not (a resident whose card fails twice, then opens).

A burst is what the denied-access rule is for: one card or face tried again and again at
one door within minutes. The noise must not fire it: two misreads stay below the rule's
count, and the same resident's granted read right after is no tailgater either.
"""

from __future__ import annotations

import random

from zhian.ingest.events import AccessMethod, Subject
from zhian.sim.district import District
from zhian.sim.people import Person, Role
from zhian.sim.scenarios import Scenario, instances
from zhian.sim.tables import Site
from zhian.sim.timeline import Day, Sink

# Scenario names, as they appear in truth records.
DENIED_BURST = "denied_burst"
CARD_MISREAD = "card_misread"  # noise

# A burst: at least the rule's default count (3) within its default window (5 min).
BURST_MIN_ATTEMPTS = 3
BURST_MAX_ATTEMPTS = 7
BURST_GAP_SECONDS = (10, 40)  # between two tries: 7 tries take at most 4 min
# The door is kept free of other scenarios this long around a burst or a misread.
QUIET_SECONDS = 600


def _doors(site: Site) -> list[tuple[str, bool]]:
    """(door, is an entrance gate) of every access-controlled door of a site."""
    gates = [(e.door, True) for e in site.entrances if e.door is not None]
    return gates + [(door, False) for door in site.unit_doors]


class DeniedBurst(Scenario):
    """Someone tries an unknown card, or shows a face the door does not know, at one door
    `attempts` times within minutes: a forced-entry attempt (mostly at night)."""

    name = DENIED_BURST
    per_day = 3.0

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        doors = [door for site in district.sites for door in _doors(site)]
        if not doors:
            return
        for _ in range(instances(rng, day, self.per_day)):
            hours = (0.5, 5.0) if rng.random() < 0.7 else (22.0, 23.8)
            t = day.pick(rng, *hours, 600)
            if t is None:
                continue
            door, is_gate = doors[int(rng.random() * len(doors))]
            if not day.reserve(door, t - QUIET_SECONDS, t + QUIET_SECONDS):
                continue
            attempts = BURST_MIN_ATTEMPTS + int(
                rng.random() * (BURST_MAX_ATTEMPTS - BURST_MIN_ATTEMPTS + 1)
            )
            uses_face = is_gate and rng.random() < 0.5
            method: AccessMethod = "face" if uses_face else "card"
            if uses_face:
                subject = Subject("face_cluster", f"fc-{rng.getrandbits(40):010x}")
            else:
                subject = Subject("card", f"{rng.getrandbits(48):012X}")  # never registered
            times = [t]
            for _try in range(attempts - 1):
                low, high = BURST_GAP_SECONDS
                times.append(times[-1] + low + int(rng.random() * (high - low)))
            day.at(t, self._emit, (door, subject, method, times))
            day.record(
                self.name, door, t, times[-1] + 1,
                attempts=attempts, method=method, who=subject.ref,
            )  # fmt: skip

    @staticmethod
    def _emit(sink: Sink, _t: int, arg: tuple[str, Subject, AccessMethod, list[int]]) -> None:
        door, subject, method, times = arg
        for moment in times:
            sink.access(moment, door, subject, "in", method, "denied")


class CardMisread(Scenario):
    """Noise: a resident's card (or face) is refused twice at their own unit door, and the
    third read lets them in. Two refusals stay below the rule; no alert is wanted."""

    name = CARD_MISREAD
    per_day = 3.0

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        residents = [
            person
            for person in district.people
            if person.unit_door is not None and person.role is not Role.CHILD
        ]
        if not residents:
            return
        for _ in range(instances(rng, day, self.per_day)):
            t = day.pick(rng, 7.0, 22.0, 120)
            if t is None:
                continue
            person = residents[int(rng.random() * len(residents))]
            door = person.unit_door
            if not day.is_free(person.index, t, t + 120):
                continue  # away (a holiday, moved out): not at the door
            if door is None or not day.reserve(door, t - QUIET_SECONDS, t + QUIET_SECONDS):
                continue
            times = [t, t + 3 + int(rng.random() * 5)]
            times.append(times[-1] + 3 + int(rng.random() * 5))
            day.at(t, self._emit, (door, person, times))
            day.record(self.name, person.id, t, times[-1] + 1, door=door, refused=2)

    @staticmethod
    def _emit(sink: Sink, _t: int, arg: tuple[str, Person, list[int]]) -> None:
        door, person, times = arg
        for moment in times[:-1]:
            sink.access(moment, door, person.access_subject, "in", person.method, "denied")
        sink.access(times[-1], door, person.access_subject, "in", person.method)


ACCESS_SCENARIOS: list[type[Scenario]] = [DeniedBurst, CardMisread]
