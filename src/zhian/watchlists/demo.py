"""Watchlist entries the demo plants so that plate hits show within a minute."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Protocol

from zhian.governance.masking import mask_plate
from zhian.kit.clock import Clock
from zhian.watchlists.schemas import LegalBasisKind, WatchlistEntryCreate, WatchTarget
from zhian.watchlists.service import WatchlistService

DEMO_PLATES = 3


class DemoCar(Protocol):
    """A simulated vehicle (zhian.sim.Car): its plate, and its owner's index or -1."""

    @property
    def plate(self) -> str: ...

    @property
    def owner(self) -> int: ...


class DemoDistrict(Protocol):
    """What the demo reads of a simulated district (zhian.sim.District); the watchlists
    domain does not import the simulator."""

    @property
    def tables(self) -> Mapping[str, Sequence[Mapping[str, object]]]: ...

    @property
    def cars(self) -> Sequence[DemoCar]: ...


class WatchlistHost(Protocol):
    """What the demo needs of a node (zhian.node.Node)."""

    clock: Clock

    def watchlists(self) -> AbstractContextManager[WatchlistService]: ...


def seed_demo_watchlist(node: WatchlistHost, district: DemoDistrict, *, user_id: int) -> list[int]:
    """Put a few vehicles the district's traffic brings past its gates on the watchlist,
    as stolen-vehicle reports of the top jurisdiction, for 30 days. Returns the entry ids."""
    top = next(row for row in district.tables["jurisdictions"] if row["parent_id"] is None)
    cars = [car for car in district.cars if car.owner >= 0][:DEMO_PLATES]
    expires = node.clock.now() + timedelta(days=30)
    with node.watchlists() as watchlists:
        return [
            watchlists.add(
                WatchlistEntryCreate(
                    target=WatchTarget.PLATE,
                    plate=car.plate,
                    label=f"演示：被盗车辆 {mask_plate(car.plate)}",
                    legal_basis_kind=LegalBasisKind.STOLEN_VEHICLE,
                    legal_basis_ref=f"DEMO-2026-{n + 1:04d}",
                    jurisdiction_id=str(top["id"]),
                    expires_at=expires,
                ),
                user_id=user_id,
            ).id
            for n, car in enumerate(cars)
        ]
