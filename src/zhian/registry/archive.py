"""Read-only views of one place for the archive pages (档案): a community, a building, a
house, a vehicle, with what is linked to each. Every read takes the user's scope and
answers NotFoundError outside it, as for a record that does not exist. Identity fields
never leave here: residents come as ids (the pages mask them through the reveal service)
and plates masked.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.errors import NotFoundError
from zhian.registry.models import Building, Community, House, Resident, Unit, Vehicle
from zhian.registry.schemas import BuildingRead, CommunityRead


@dataclass(frozen=True)
class HouseLine:
    id: str
    number: str
    unit: str
    building_id: str
    area_m2: float
    registered_use: str
    residents: int


@dataclass(frozen=True)
class VehicleLine:
    id: str
    plate_masked: str
    plate_color: str
    vehicle_class: str
    community_id: str
    owner_id: str | None


@dataclass(frozen=True)
class CommunityArchive:
    community: CommunityRead
    buildings: list[BuildingRead]
    houses_by_use: dict[str, int]
    residents: int
    floating_residents: int
    vehicles: int


@dataclass(frozen=True)
class HouseArchive:
    house: HouseLine
    community: CommunityRead
    building: BuildingRead
    resident_ids: list[str]  # living there now
    vehicles: list[VehicleLine]
    former_resident_ids: list[str]  # a confirmed move-out ended their residence


def _missing(kind: str, record_id: str, scope: JurisdictionScope) -> NotFoundError:
    where = "" if scope.is_unscoped else " in your jurisdiction"
    return NotFoundError(f"no {kind} '{record_id[:64]}'{where}", field=f"{kind}_id")


def _vehicle_line(row: Vehicle) -> VehicleLine:
    return VehicleLine(
        id=row.id,
        plate_masked=row.plate_masked or "",
        plate_color=row.plate_color,
        vehicle_class=row.vehicle_class,
        community_id=row.community_id,
        owner_id=row.owner_id,
    )


class ArchiveReader:
    """The archive pages' reads; the caller owns the session's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def community(self, community_id: str, *, scope: JurisdictionScope) -> CommunityArchive:
        row = self.session.scalars(
            select(Community)
            .where(Community.id == community_id)
            .where(scope.community_clause(Community.id))
        ).first()
        if row is None:
            raise _missing("community", community_id, scope)
        buildings = self.session.scalars(
            select(Building).where(Building.community_id == community_id).order_by(Building.id)
        )
        uses = self.session.execute(
            select(House.registered_use, func.count())
            .join(Unit, House.unit_id == Unit.id)
            .join(Building, Unit.building_id == Building.id)
            .where(Building.community_id == community_id)
            .group_by(House.registered_use)
        )
        residents = self.session.execute(
            select(Resident.is_floating, func.count())
            .join(House, Resident.house_id == House.id)
            .join(Unit, House.unit_id == Unit.id)
            .join(Building, Unit.building_id == Building.id)
            .where(Building.community_id == community_id)
            .group_by(Resident.is_floating)
        )
        by_floating = Counter({bool(flag): int(count) for flag, count in residents})
        vehicles = self.session.scalar(
            select(func.count()).select_from(Vehicle).where(Vehicle.community_id == community_id)
        )
        return CommunityArchive(
            community=CommunityRead.model_validate(row),
            buildings=[BuildingRead.model_validate(b) for b in buildings],
            houses_by_use={str(use): int(count) for use, count in uses},
            residents=sum(by_floating.values()),
            floating_residents=by_floating[True],
            vehicles=int(vehicles or 0),
        )

    def building(self, building_id: str, *, scope: JurisdictionScope) -> BuildingRead:
        row = self.session.scalars(
            select(Building)
            .where(Building.id == building_id)
            .where(scope.community_clause(Building.community_id))
        ).first()
        if row is None:
            raise _missing("building", building_id, scope)
        return BuildingRead.model_validate(row)

    def houses_of_building(self, building_id: str) -> list[HouseLine]:
        """The building's houses with their resident counts (the caller checked the scope)."""
        counts = (
            select(Resident.house_id, func.count().label("n"))
            .group_by(Resident.house_id)
            .subquery()
        )
        rows = self.session.execute(
            select(House, Unit.name, Unit.building_id, func.coalesce(counts.c.n, 0))
            .join(Unit, House.unit_id == Unit.id)
            .outerjoin(counts, counts.c.house_id == House.id)
            .where(Unit.building_id == building_id)
            .order_by(Unit.name, House.number)
        )
        return [
            HouseLine(
                id=house.id,
                number=house.number,
                unit=unit,
                building_id=building,
                area_m2=house.area_m2,
                registered_use=house.registered_use,
                residents=int(n),
            )
            for house, unit, building, n in rows
        ]

    def house(self, house_id: str, *, scope: JurisdictionScope) -> HouseArchive:
        row = self.session.execute(
            select(House, Unit.name, Building)
            .join(Unit, House.unit_id == Unit.id)
            .join(Building, Unit.building_id == Building.id)
            .where(House.id == house_id)
            .where(scope.community_clause(Building.community_id))
        ).first()
        if row is None:
            raise _missing("house", house_id, scope)
        house, unit, building = row
        community = self.session.get_one(Community, building.community_id)
        everyone = self.session.execute(
            select(Resident.id, Resident.moved_out_at)
            .where(Resident.house_id == house_id)
            .order_by(Resident.id)
        ).all()
        resident_ids = [rid for rid, moved_out_at in everyone if moved_out_at is None]
        former = [rid for rid, moved_out_at in everyone if moved_out_at is not None]
        vehicles = self.session.scalars(
            select(Vehicle).where(Vehicle.owner_id.in_(resident_ids)).order_by(Vehicle.id)
        )
        residents = len(resident_ids)
        return HouseArchive(
            house=HouseLine(
                id=house.id,
                number=house.number,
                unit=unit,
                building_id=building.id,
                area_m2=house.area_m2,
                registered_use=house.registered_use,
                residents=residents,
            ),
            community=CommunityRead.model_validate(community),
            building=BuildingRead.model_validate(building),
            resident_ids=resident_ids,
            vehicles=[_vehicle_line(v) for v in vehicles],
            former_resident_ids=former,
        )

    def vehicle(self, vehicle_id: str, *, scope: JurisdictionScope) -> VehicleLine:
        row = self.session.scalars(
            select(Vehicle)
            .where(Vehicle.id == vehicle_id)
            .where(scope.community_clause(Vehicle.community_id))
        ).first()
        if row is None:
            raise _missing("vehicle", vehicle_id, scope)
        return _vehicle_line(row)

    def vehicles_of(self, owner_id: str) -> list[VehicleLine]:
        rows = self.session.scalars(
            select(Vehicle).where(Vehicle.owner_id == owner_id).order_by(Vehicle.id)
        )
        return [_vehicle_line(v) for v in rows]
