"""Watchlist entries the demo plants so that plate and face hits show within minutes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Protocol

from zhian.kit.clock import Clock
from zhian.watchlists.schemas import LegalBasisKind, WatchlistEntryCreate, WatchTarget
from zhian.watchlists.service import WatchlistService

DEMO_PLATES = 3


class DemoCar(Protocol):
    """A simulated vehicle (zhian.sim.Car): its plate, its owner's index or -1, and the
    index of its owner's community (site) or -1."""

    @property
    def plate(self) -> str: ...

    @property
    def owner(self) -> int: ...

    @property
    def site(self) -> int: ...


class DemoSubject(Protocol):
    @property
    def ref(self) -> str: ...


class DemoPerson(Protocol):
    """A simulated resident (zhian.sim.Person): their community and what cameras report."""

    @property
    def site(self) -> int: ...

    @property
    def face_subject(self) -> DemoSubject: ...


class DemoSite(Protocol):
    @property
    def community_id(self) -> str: ...


class DemoDistrict(Protocol):
    """What the demo reads of a simulated district (zhian.sim.District); the watchlists
    domain does not import the simulator."""

    @property
    def tables(self) -> Mapping[str, Sequence[Mapping[str, object]]]: ...

    @property
    def cars(self) -> Sequence[DemoCar]: ...

    @property
    def people(self) -> Sequence[DemoPerson]: ...

    @property
    def sites(self) -> Sequence[DemoSite]: ...


class WatchlistHost(Protocol):
    """What the demo needs of a node (zhian.node.Node)."""

    clock: Clock

    def watchlists(self) -> AbstractContextManager[WatchlistService]: ...


def _local_sites(district: DemoDistrict, jurisdiction_id: str) -> set[int]:
    communities = {
        str(row["id"])
        for row in district.tables["communities"]
        if row["jurisdiction_id"] == jurisdiction_id
    }
    return {k for k, site in enumerate(district.sites) if site.community_id in communities}


def watched_cars(district: DemoDistrict, jurisdiction_id: str) -> list[DemoCar]:
    """The residents' cars the demo puts on the watchlist of `jurisdiction_id`."""
    sites = _local_sites(district, jurisdiction_id)
    return [car for car in district.cars if car.owner >= 0 and car.site in sites][:DEMO_PLATES]


def seed_demo_watchlist(
    node: WatchlistHost, district: DemoDistrict, *, user_id: int, jurisdiction_id: str
) -> list[int]:
    """Put a few residents' cars on the watchlist as stolen-vehicle reports, and one
    resident as a missing-person report, for 30 days, in `jurisdiction_id`: the residents
    live there, so their hits happen there and the officers who see the hits see the
    entries. Labels name no plate or person (the entry holds the identifier, masked on
    pages). Returns the entry ids."""
    sites = _local_sites(district, jurisdiction_id)
    person = next((p for p in district.people if p.site in sites), None)
    expires = node.clock.now() + timedelta(days=30)
    entries = [
        WatchlistEntryCreate(
            target=WatchTarget.PLATE,
            plate=car.plate,
            label=f"演示：被盗车辆报案 {n + 1}",
            legal_basis_kind=LegalBasisKind.STOLEN_VEHICLE,
            legal_basis_ref=f"DEMO-2026-{n + 1:04d}",
            jurisdiction_id=jurisdiction_id,
            expires_at=expires,
        )
        for n, car in enumerate(watched_cars(district, jurisdiction_id))
    ]
    if person is not None:
        entries.append(
            WatchlistEntryCreate(
                target=WatchTarget.PERSON,
                subject_ref=person.face_subject.ref,
                label="演示：家属报告走失的老人",
                legal_basis_kind=LegalBasisKind.MISSING_PERSON,
                legal_basis_ref="DEMO-MP-2026-0001",
                jurisdiction_id=jurisdiction_id,
                expires_at=expires,
            )
        )
    with node.watchlists() as watchlists:
        return [watchlists.add(entry, user_id=user_id).id for entry in entries]
