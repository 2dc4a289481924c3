"""The search box's reads of the registry: communities, buildings (addresses), houses and
vehicles, each within the user's scope. Plates are matched by their keyed tokens only
(`zhian.search.plates` makes them); no clear plate or name is read here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.registry.models import Building, Community, House, Resident, Unit, Vehicle


@dataclass(frozen=True)
class PlaceHit:
    """A community, building or house the text names."""

    id: str
    name: str
    community_id: str
    community: str


@dataclass(frozen=True)
class VehicleHit:
    """A registered vehicle whose plate token is one of those asked."""

    id: str
    plate_token: str
    plate_masked: str
    community_id: str
    community: str
    owner_id: str | None


class RegistrySearch:
    """Text and token look-ups for the search box; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def communities(self, text: str, *, scope: JurisdictionScope, limit: int) -> list[PlaceHit]:
        rows = self.session.scalars(
            select(Community)
            .where(or_(Community.id == text, Community.name.contains(text, autoescape=True)))
            .where(scope.community_clause(Community.id))
            .order_by(Community.name)
            .limit(limit)
        )
        return [PlaceHit(c.id, c.name, c.id, c.name) for c in rows]

    def buildings(self, text: str, *, scope: JurisdictionScope, limit: int) -> list[PlaceHit]:
        """Buildings by id or name, or by their community's name and the building's
        ("花园小区 3幢"): the address as people say it."""
        address = Community.name + " " + Building.name
        rows = self.session.execute(
            select(Building, Community.name)
            .join(Community, Building.community_id == Community.id)
            .where(
                or_(
                    Building.id == text,
                    Building.name.contains(text, autoescape=True),
                    address.contains(text, autoescape=True),
                )
            )
            .where(scope.community_clause(Building.community_id))
            .order_by(Community.name, Building.name)
            .limit(limit)
        )
        return [PlaceHit(b.id, b.name, b.community_id, community) for b, community in rows]

    def houses(self, text: str, *, scope: JurisdictionScope, limit: int) -> list[PlaceHit]:
        """Houses by id, or by "<building> <unit> <number>" ending with the text's last
        word as the house number ("1号楼 301" or just "301")."""
        words = text.split()
        number = words[-1] if words else text
        before = " ".join(words[:-1])
        statement = (
            select(House, Unit.name, Building.name, Building.community_id, Community.name)
            .join(Unit, House.unit_id == Unit.id)
            .join(Building, Unit.building_id == Building.id)
            .join(Community, Building.community_id == Community.id)
            .where(or_(House.id == text, House.number == number))
            .where(scope.community_clause(Building.community_id))
            .order_by(Community.name, Building.name, Unit.name, House.number)
            .limit(limit)
        )
        if before:
            place = Community.name + " " + Building.name + " " + Unit.name
            statement = statement.where(
                or_(House.id == text, place.contains(before, autoescape=True))
            )
        return [
            PlaceHit(house.id, f"{building} {unit} {house.number}", community_id, community)
            for house, unit, building, community_id, community in self.session.execute(statement)
        ]

    def vehicles_by_plate_tokens(
        self, tokens: list[str], *, scope: JurisdictionScope, limit: int
    ) -> list[VehicleHit]:
        if not tokens:
            return []
        rows = self.session.execute(
            select(Vehicle, Community.name)
            .join(Community, Vehicle.community_id == Community.id)
            .where(Vehicle.plate_token.in_(tokens))
            .where(scope.community_clause(Vehicle.community_id))
            .order_by(Vehicle.id)
            .limit(limit)
        )
        return [
            VehicleHit(
                v.id, v.plate_token or "", v.plate_masked or "", v.community_id, name, v.owner_id
            )
            for v, name in rows
        ]

    def card_token_of(self, resident_id: str) -> str | None:
        """The keyed token (kind `subject`) of the resident's access card, if they have one:
        door events name a person by their card as often as by their resident id."""
        return self.session.scalar(
            select(Resident.card_ref_token).where(Resident.id == resident_id)
        )

    def plate_token_of(self, vehicle_id: str) -> str | None:
        """The keyed token (kind `plate`) of a registered vehicle's plate."""
        return self.session.scalar(select(Vehicle.plate_token).where(Vehicle.id == vehicle_id))
