"""Planted housing situations for the batch models (issue #6), and the noise around them.

Positive cases: someone living in a house without registration (now and then a resident
registered at another address: 人户分离), a resident or a whole
household moving out (the house then stands empty), an opted-in resident who comes home and
is not seen again (a welfare check is due). Noise that must raise nothing: relatives on a
declared visit for weeks, households away on a week's holiday.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from zhian.ingest.events import AccessMethod, Direction, Subject
from zhian.sim.activity import Routines
from zhian.sim.district import District
from zhian.sim.people import Person, Role
from zhian.sim.scenarios import HOUR, Scenario
from zhian.sim.tables import Site
from zhian.sim.timeline import DAY_SECONDS, Day, Sink

UNREGISTERED_RESIDENT = "unregistered_resident"
# The random stream of the registered-elsewhere lodgers, apart so the others keep theirs.
REGISTERED_ELSEWHERE = "registered_elsewhere"
RELATIVES_VISITING = "relatives_visiting"
MOVED_OUT = "moved_out"
VACANT_HOUSE = "vacant_house"
HOLIDAY_WEEK = "holiday_week"
WELFARE_OPTIN = "welfare_optin"
WELFARE_CHECK = "welfare_check"
# A block that outlasts any stream: the resident is gone for good.
FOREVER = 3650 * DAY_SECONDS


@dataclass(frozen=True, slots=True)
class Lodger:
    """Someone who sleeps at a unit without being a registered resident of it."""

    subject: Subject
    site: Site
    door: str
    entrance: int
    home_share: float  # nights spent here
    first: int  # second they move in
    last: int  # second they leave
    face: str  # whose face the entrance cameras capture (a resident's id, else the pass)


def _pass(sink: Sink, t: int, arg: tuple[Lodger, Direction]) -> None:
    lodger, direction = arg
    entrance = lodger.site.entrances[lodger.entrance]
    method: AccessMethod = "qr" if lodger.subject.kind == "qr" else "password"
    steps: list[str | None] = [entrance.door, lodger.door]
    if direction == "out":
        steps.reverse()
    for device in steps:
        if device is None:
            continue
        sink.access(t, device, lodger.subject, direction, method)
        if device == entrance.door and entrance.camera is not None:
            sink.face(t + 1, entrance.camera, lodger.face, None)
        t += 40 + int(sink.rng.random() * 100)


def _doored_sites(district: District) -> list[Site]:
    return [s for s in district.sites if s.unit_doors]


class _Lodgers(Scenario):
    """Common ground: lodgers chosen on the first day, a day out and an evening home."""

    share_per_scale: float = 2.0

    def __init__(self, routines: Routines) -> None:
        super().__init__(routines)
        self.lodgers: list[Lodger] = []

    def choose(self, district: District, rng: random.Random, day: Day) -> None:
        raise NotImplementedError

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if day.is_first:
            self.choose(district, rng, day)
        for lodger in self.lodgers:
            if not lodger.first <= day.start + 20 * HOUR < lodger.last:
                continue
            if rng.random() >= lodger.home_share:
                continue
            out = day.pick(rng, 7.0, 9.0)
            back = day.pick(rng, 18.0, 21.0)
            if out is not None and out >= lodger.first:
                day.at(out, _pass, (lodger, "out"))
            if back is not None:
                day.at(back, _pass, (lodger, "in"))


def _new_lodger(
    rng: random.Random,
    site: Site,
    kind: str,
    prefix: str,
    share: float,
    first: int,
    last: int,
    face: str | None = None,
) -> Lodger:
    ref = f"{prefix}-{rng.getrandbits(40):010x}"
    return Lodger(
        Subject(kind, ref),  # type: ignore[arg-type]
        site,
        site.unit_doors[int(rng.random() * len(site.unit_doors))],
        int(rng.random() * len(site.entrances)),
        share,
        first,
        last,
        face or ref,
    )


class UnregisteredResident(_Lodgers):
    """Someone living at a unit on a long-term QR pass, never registered: home most nights.

    Some are in the registry at another address (人户分离): a resident leaves their
    registered house on the first afternoon (planted as moved out too, which it is) and
    lodges at a unit elsewhere from that evening. Their truth names the registry entry
    (`registered_resident`), which the model's face candidates should find.
    """

    name = UNREGISTERED_RESIDENT
    elsewhere_per_scale: float = 4.0
    # Share of nights a lodger sleeps here; the hard simulator draws it from a range.
    home_share_range: tuple[float, float] = (0.9, 0.9)

    def home_share(self, rng: random.Random) -> float:
        low, high = self.home_share_range
        return low if low == high else low + (high - low) * rng.random()

    def choose(self, district: District, rng: random.Random, day: Day) -> None:
        sites = _doored_sites(district)
        for _ in range(max(1, round(self.share_per_scale * district.scale))):
            site = sites[int(rng.random() * len(sites))]
            lodger = _new_lodger(
                rng, site, "qr", "qr", self.home_share(rng), day.window[0], FOREVER
            )
            self.lodgers.append(lodger)
            day.record(
                self.name, f"qr:{lodger.subject.ref}", day.window[0], None, door=lodger.door,
                community_id=site.community_id,
            )  # fmt: skip
        self.choose_registered_elsewhere(district, day.rng(REGISTERED_ELSEWHERE), day)

    def choose_registered_elsewhere(self, district: District, rng: random.Random, day: Day) -> None:
        sites = _doored_sites(district)
        # Behind a unit door, so that their leaving is seen (moved out needs a sighting).
        households = [
            (house, people)
            for house, people in _households(district, min_adults=2)
            if _first_adult(people).unit_door is not None
        ]
        for _ in range(max(1, round(self.elsewhere_per_scale * district.scale))):
            house, people = households[int(rng.random() * len(households))]
            person = _first_adult(people)
            t = day.pick(rng, 13, 17)
            if t is None:
                return
            site = sites[int(rng.random() * len(sites))]
            share = self.home_share(rng)
            lodger = _new_lodger(rng, site, "qr", "qr", share, t, FOREVER, face=person.id)
            while lodger.door == person.unit_door:  # their own door is no separation
                site = sites[int(rng.random() * len(sites))]
                lodger = _new_lodger(rng, site, "qr", "qr", share, t, FOREVER, face=person.id)
            if not day.is_free(person.index, t - 2 * HOUR, t + FOREVER):
                continue
            day.block(person.index, t - 2 * HOUR, t + FOREVER)
            day.at(t, self.routines.household_leaves, ([person], -1))
            self.lodgers.append(lodger)
            day.record(MOVED_OUT, person.id, t, None, house_id=house)
            day.record(
                self.name, f"qr:{lodger.subject.ref}", t, None, door=lodger.door,
                community_id=site.community_id, registered_resident=person.id,
            )  # fmt: skip


class RelativesVisiting(_Lodgers):
    """Noise: grandparents staying three to four weeks on a declared visitor pass."""

    name = RELATIVES_VISITING

    def choose(self, district: District, rng: random.Random, day: Day) -> None:
        sites = _doored_sites(district)
        for _ in range(max(1, round(self.share_per_scale * district.scale))):
            site = sites[int(rng.random() * len(sites))]
            first = day.pick(rng, 10, 12)
            if first is None:
                continue
            last = first + (20 + int(rng.random() * 10)) * DAY_SECONDS
            lodger = _new_lodger(rng, site, "visitor", "visitor", 0.95, first, last)
            self.lodgers.append(lodger)
            day.at(first, _pass, (lodger, "in"))
            day.at(last, _pass, (lodger, "out"))
            day.record(self.name, f"visitor:{lodger.subject.ref}", first, last, door=lodger.door)


def _first_adult(people: list[Person]) -> Person:
    return next(p for p in people if p.role is not Role.CHILD)


def _households(district: District, *, min_adults: int) -> list[tuple[str, list[Person]]]:
    found = []
    for site in district.sites:
        for house, members in site.households:
            people = [district.people[i] for i in members]
            if sum(p.role is not Role.CHILD for p in people) >= min_adults:
                found.append((house, people))
    return found


def _seen_leaving(people: list[Person]) -> bool:
    """Every adult reads a door of their own unit: leaving, they are seen, and absence is
    measured from that sighting. In an open community (a camera at the gate that knows
    some faces, no doors) a household may leave unseen, and no model can tell it from one
    never seen at all: a truth the models cannot see would only make the demo miss it."""
    return all(p.unit_door is not None for p in people if p.role is not Role.CHILD)


class _Leaving(Scenario):
    """Residents who leave for good on the stream's first afternoon: they pass out once
    more, through their unit's door, then never again; the registry is unchanged."""

    per_scale = 1.0
    # Households tried per instance before giving up (others may be away that day).
    attempts = 20

    def leave(self, district: District, rng: random.Random, day: Day, whole: bool) -> None:
        households = [
            (house, people)
            for house, people in _households(district, min_adults=2)
            if _seen_leaving(people)
        ]
        for _ in range(max(1, round(self.per_scale * district.scale))):
            t = day.pick(rng, 13, 17)
            if t is None:
                return
            chosen = self._free_household(households, rng, day, t, whole)
            if chosen is None:
                continue
            house, people, leaving = chosen
            for p in leaving:
                day.block(p.index, t - 2 * HOUR, t + FOREVER)
            travellers = [p for p in leaving if p.role is not Role.CHILD]
            day.at(t, self.routines.household_leaves, (travellers, -1))
            if whole:
                # The house stands empty, and the registry of every member is stale.
                day.record(VACANT_HOUSE, house, t, None, residents=[p.id for p in people])
                day.record(MOVED_OUT, house, t, None, residents=[p.id for p in people])
            else:
                day.record(MOVED_OUT, leaving[0].id, t, None, house_id=house)

    def _free_household(
        self,
        households: list[tuple[str, list[Person]]],
        rng: random.Random,
        day: Day,
        t: int,
        whole: bool,
    ) -> tuple[str, list[Person], list[Person]] | None:
        """A household (and who of it leaves) with nobody already away around `t`."""
        for _attempt in range(self.attempts if households else 0):
            house, people = households[int(rng.random() * len(households))]
            leaving = people if whole else [p for p in people if p.role is not Role.CHILD][:1]
            if all(day.is_free(p.index, t - 2 * HOUR, t + FOREVER) for p in leaving):
                return house, people, leaving
        return None


class MemberMovesOut(_Leaving):
    """One adult of a household moves away; the others stay."""

    name = MOVED_OUT

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if day.is_first:
            self.leave(district, rng, day, whole=False)


class HouseholdLeaves(_Leaving):
    """A whole household leaves: the house stands empty."""

    name = VACANT_HOUSE

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if day.is_first:
            self.leave(district, rng, day, whole=True)


class HolidayWeek(Scenario):
    """Noise: a household away for six to eight days, then back."""

    name = HOLIDAY_WEEK
    per_scale = 2.0

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if not day.is_first:
            return
        households = _households(district, min_adults=1)
        for _ in range(max(1, round(self.per_scale * district.scale))):
            house, people = households[int(rng.random() * len(households))]
            t0 = day.pick(rng, 9, 11)
            if t0 is None:
                return
            t1 = t0 + (6 + int(rng.random() * 3)) * DAY_SECONDS + int(8 * HOUR)
            if not all(day.is_free(p.index, t0 - HOUR, t1 + HOUR) for p in people):
                continue
            for p in people:
                day.block(p.index, t0 - HOUR, t1 + HOUR)
            travellers = [p for p in people if p.role is not Role.CHILD]
            day.at(t0, self.routines.household_leaves, (travellers, -1))
            day.at(t1, self.routines.household_returns, (travellers, -1))
            day.record(self.name, house, t0, t1, residents=[p.id for p in people])


def welfare_optins(district: District, day: Day) -> list[tuple[Person, str]]:
    """Elderly residents living alone who asked, or whose guardian asked, for welfare
    checks (the simulator's choice; the models only ever read the opt-in table)."""
    rng = day.rng(WELFARE_OPTIN)
    alone = [
        people[0]
        for _, people in _households(district, min_adults=1)
        if len(people) == 1 and people[0].unit_door is not None and people[0].role is Role.RETIREE
    ]
    rng.shuffle(alone)
    chosen = alone[: max(2, round(WelfareOptins.per_scale * district.scale))]
    return [(p, "self" if rng.random() < 0.6 else "guardian") for p in chosen]


class WelfareOptins(Scenario):
    """Noise: the opted-in residents, living their ordinary days (recorded once)."""

    name = WELFARE_OPTIN
    per_scale = 4.0

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if day.is_first:
            for person, asked in welfare_optins(district, day):
                day.record(self.name, person.id, day.window[0], None, requested_by=asked)


class WelfareChecks(Scenario):
    """An opted-in resident comes home on the first afternoon and is then not seen for
    four days (taken ill at home): a visit is due."""

    name = WELFARE_CHECK

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if not day.is_first:
            return
        chosen = welfare_optins(district, day)
        for person, _ in chosen[: max(1, len(chosen) // 4)]:
            t = day.pick(rng, 15, 17)
            if t is None or not day.is_free(person.index, t - 4 * HOUR, t + 4 * DAY_SECONDS):
                continue
            day.block(person.index, t - 4 * HOUR, t + 4 * DAY_SECONDS)
            day.at(t - 2 * HOUR, self.routines.household_leaves, ([person], -1))
            day.at(t, self.routines.household_returns, ([person], -1))
            day.record(self.name, person.id, t, t + 4 * DAY_SECONDS, house_id=person.house_id)


GROUP_RENTAL = "group_rental"
CROWDED_HOUSE_NOISE = "crowded_house_noise"
# Floor area per person below which a house counts as crowded (the models' default).
_M2_PER_PERSON = 5.0


@dataclass(frozen=True, slots=True)
class Occupant:
    """Someone who passes a house's own smart lock (and the doors before it)."""

    subject: Subject
    site: Site
    entrance: int
    doors: tuple[str, ...]  # outermost first: unit door (if any), then the house lock
    home_share: float
    first: int
    last: int


def _pass_house(sink: Sink, t: int, arg: tuple[Occupant, Direction]) -> None:
    occupant, direction = arg
    entrance = occupant.site.entrances[occupant.entrance]
    steps: list[str | None] = [entrance.door, *occupant.doors]
    if direction == "out":
        steps.reverse()
    for device in steps:
        if device is None:
            continue
        sink.access(t, device, occupant.subject, direction, "qr")
        if device == entrance.door and entrance.camera is not None:
            sink.face(t + 1, entrance.camera, occupant.subject.ref, None)
        t += 40 + int(sink.rng.random() * 100)


def locked_houses(district: District) -> list[tuple[Site, str, str, float]]:
    """Houses with their own smart door lock: (site, house, lock, area m²)."""
    area = {str(r["id"]): float(str(r["area_m2"])) for r in district.tables["houses"]}
    return [
        (site, house, lock, area[house])
        for site in district.sites
        for house, lock in sorted(site.house_locks.items())
    ]


def _doors_of(district: District, house: str, lock: str) -> tuple[str, ...]:
    unit_door = house.rsplit("-", 1)[0] + "-DOOR"
    return (unit_door, lock) if unit_door in district.device_rows else (lock,)


class _HouseOccupants(Scenario):
    """Common ground: people who come home through a house's own lock most evenings."""

    def __init__(self, routines: Routines) -> None:
        super().__init__(routines)
        self.occupants: list[Occupant] = []

    def choose(self, district: District, rng: random.Random, day: Day) -> None:
        raise NotImplementedError

    def move_in(
        self,
        district: District,
        rng: random.Random,
        day: Day,
        place: tuple[Site, str, str, float],
        count: int,
        *,
        kind: str = "qr",
        share: float = 0.9,
        first: int | None = None,
        last: int = FOREVER,
    ) -> list[Occupant]:
        site, house, lock, _ = place
        doors = _doors_of(district, house, lock)
        moved = [
            Occupant(
                Subject(kind, f"{kind}-{rng.getrandbits(40):010x}"),  # type: ignore[arg-type]
                site,
                int(rng.random() * len(site.entrances)),
                doors,
                share,
                day.window[0] if first is None else first,
                last,
            )
            for _ in range(count)
        ]
        self.occupants += moved
        return moved

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        if day.is_first:
            self.choose(district, rng, day)
        for occupant in self.occupants:
            if not occupant.first <= day.start + 20 * HOUR < occupant.last:
                continue
            if rng.random() >= occupant.home_share:
                continue
            out = day.pick(rng, 7.0, 9.0)
            back = day.pick(rng, 18.0, 22.0)
            if out is not None and out >= occupant.first:
                day.at(out, _pass_house, (occupant, "out"))
            if back is not None:
                day.at(back, _pass_house, (occupant, "in"))


def _unregistered(day: Day, occupants: list[Occupant], house: str) -> None:
    # Living at a house without registration is what the unregistered model is for.
    for o in occupants:
        day.record(
            UNREGISTERED_RESIDENT, f"qr:{o.subject.ref}", o.first, None,
            door=o.doors[0], house_id=house, community_id=o.site.community_id,
        )  # fmt: skip


class GroupRental(_HouseOccupants):
    """A small rental house behind a smart lock let to far more tenants than its floor
    area allows (疑似群租, a fire risk): every one of them comes home most evenings."""

    name = GROUP_RENTAL

    def choose(self, district: District, rng: random.Random, day: Day) -> None:
        houses = [h for h in locked_houses(district) if h[3] < 30]
        if not houses:
            return
        place = houses[int(rng.random() * len(houses))]
        count = max(6, int(place[3] / _M2_PER_PERSON) + 2 + int(rng.random() * 4))
        tenants = self.move_in(district, rng, day, place, count)
        day.record(self.name, place[1], day.window[0], None, occupants=count, area_m2=place[3])
        _unregistered(day, tenants, place[1])


class CrowdedHouseNoise(_HouseOccupants):
    """Noise that must not raise a group-rental task: a large family in a big house (room
    enough for each), a party one evening, and a grandparent on a declared visitor pass
    staying a month with a family of four in a small house."""

    name = CROWDED_HOUSE_NOISE

    def choose(self, district: District, rng: random.Random, day: Day) -> None:
        houses = locked_houses(district)
        if len(houses) < 4:
            return
        by_area = sorted(houses, key=lambda h: h[3])
        big = by_area[-1]
        family = int(big[3] // _M2_PER_PERSON)
        if family >= 5:
            _unregistered(day, self.move_in(district, rng, day, big, family), big[1])
            day.record(self.name, big[1], day.window[0], None, case="large_family")
        # A family of four, joined by a grandparent for a month, in the smallest house
        # where five would be crowded.
        small = [h for h in by_area[:-1] if 4 * _M2_PER_PERSON <= h[3] < 5 * _M2_PER_PERSON]
        if small:
            place = small[0]
            _unregistered(day, self.move_in(district, rng, day, place, 4), place[1])
            first = day.pick(rng, 10, 12)
            if first is not None:
                last = first + (26 + int(rng.random() * 6)) * DAY_SECONDS
                self.move_in(
                    district, rng, day, place, 1, kind="visitor", share=0.95,
                    first=first, last=last,
                )  # fmt: skip
                day.record(self.name, place[1], first, last, case="grandparent_visit")
        # A party: ten guests one evening at a small house, and never again.
        place = by_area[1]
        t = day.pick(rng, 18.0, 19.0)
        if t is not None:
            for guest in self.move_in(
                district, rng, day, place, 10, share=0.0, first=t, last=t + 5 * HOUR
            ):
                day.at(t + int(rng.random() * 1800), _pass_house, (guest, "in"))
                day.at(t + 4 * HOUR + int(rng.random() * 1800), _pass_house, (guest, "out"))
            day.record(self.name, place[1], t, t + 5 * HOUR, case="party")


HOUSING_SCENARIOS: list[type[Scenario]] = [
    UnregisteredResident,
    RelativesVisiting,
    MemberMovesOut,
    HouseholdLeaves,
    HolidayWeek,
    WelfareOptins,
    WelfareChecks,
    GroupRental,
    CrowdedHouseNoise,
]
