"""The registry list exported upward (一标三实上报): one community's houses, residents,
vehicles or open registration drafts as table rows, as the level above may see them.

The rows reflect the registry loop (`zhian.registry.loop`): a house's recorded use and its
latest change, a resident's moved-out time (the residence ended, the record stays), open
drafts. Residents travel masked (name, ID-card number) and tokenised (the ID-card number's
keyed token, for joins upstream); plates likewise. No clear identity ever leaves here: the
caller passes a function giving the masked identity (`zhian.governance.reveal`), checks the
scope and permission, and audits the export.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhian.registry.models import (
    Building,
    House,
    HouseChange,
    RegistrationDraft,
    Resident,
    Unit,
    Vehicle,
)

ExportKind = Literal["houses", "residents", "vehicles", "drafts"]
EXPORT_KINDS: Final[tuple[ExportKind, ...]] = ("houses", "residents", "vehicles", "drafts")

HEADERS: Final[dict[ExportKind, tuple[str, ...]]] = {
    "houses": (
        "house_id", "building_id", "unit_id", "number", "area_m2", "registered_use",
        "residents_now", "last_change", "last_change_at",
    ),
    "residents": (
        "resident_id", "house_id", "name_masked", "id_number_masked", "id_number_token",
        "birth_year", "floating", "moved_out_at",
    ),
    "vehicles": (
        "vehicle_id", "plate_masked", "plate_token", "plate_color", "vehicle_class", "owner_id",
    ),
    "drafts": ("draft_id", "place_id", "alert_id", "created_at"),
}  # fmt: skip


@dataclass(frozen=True)
class MaskedFields:
    """What a resident's row shows of their identity (None: no key ring to open it)."""

    name: str | None
    id_number: str | None


Masker = Callable[[str], MaskedFields]
Row = tuple[object, ...]


@dataclass(frozen=True)
class RegistryTable:
    kind: ExportKind
    header: tuple[str, ...]
    rows: list[Row]
    resident_ids: list[str]  # whose personal data the rows carry (for the audit entry)


class RegistryExport:
    """Reads one community's registry list; the caller checked the community's scope."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def table(self, kind: ExportKind, community_id: str, masker: Masker) -> RegistryTable:
        if kind == "houses":
            rows = self._houses(community_id)
        elif kind == "residents":
            rows = self._residents(community_id, masker)
        elif kind == "vehicles":
            rows = self._vehicles(community_id)
        else:
            rows = self._drafts(community_id)
        residents = [str(row[0]) for row in rows] if kind == "residents" else []
        return RegistryTable(kind, HEADERS[kind], rows, residents)

    def _houses_of(self, community_id: str) -> list[House]:
        query = (
            select(House)
            .join(Unit, House.unit_id == Unit.id)
            .join(Building, Unit.building_id == Building.id)
            .where(Building.community_id == community_id)
            .order_by(House.id)
        )
        return list(self.session.scalars(query))

    def _houses(self, community_id: str) -> list[Row]:
        houses = self._houses_of(community_id)
        ids = [h.id for h in houses]
        counts = self.session.execute(
            select(Resident.house_id, func.count())
            .where(Resident.house_id.in_(ids), Resident.moved_out_at.is_(None))
            .group_by(Resident.house_id)
        )
        living = {house_id: int(count) for house_id, count in counts}
        latest: dict[str, HouseChange] = {}
        changes = select(HouseChange).where(HouseChange.house_id.in_(ids))
        for change in self.session.scalars(changes.order_by(HouseChange.at, HouseChange.id)):
            latest[change.house_id] = change  # the last one wins: the newest
        units = self.session.execute(select(Unit.id, Unit.building_id))
        building_of = {unit_id: building_id for unit_id, building_id in units}
        return [
            (
                h.id,
                building_of.get(h.unit_id, ""),
                h.unit_id,
                h.number,
                h.area_m2,
                h.registered_use,
                living.get(h.id, 0),
                latest[h.id].change if h.id in latest else "",
                _iso(latest[h.id].at) if h.id in latest else "",
            )
            for h in houses
        ]

    def _residents(self, community_id: str, masker: Masker) -> list[Row]:
        houses = [h.id for h in self._houses_of(community_id)]
        residents = self.session.scalars(
            select(Resident).where(Resident.house_id.in_(houses)).order_by(Resident.id)
        )
        rows: list[Row] = []
        for resident in residents:
            masked = masker(resident.id)
            rows.append(
                (
                    resident.id,
                    resident.house_id,
                    masked.name or "",
                    masked.id_number or "",
                    resident.id_number_token or "",
                    resident.birth_year,
                    "yes" if resident.is_floating else "no",
                    _iso(resident.moved_out_at) if resident.moved_out_at else "",
                )
            )
        return rows

    def _vehicles(self, community_id: str) -> list[Row]:
        vehicles = self.session.scalars(
            select(Vehicle).where(Vehicle.community_id == community_id).order_by(Vehicle.id)
        )
        return [
            (
                v.id,
                v.plate_masked or "",
                v.plate_token or "",
                v.plate_color,
                v.vehicle_class,
                v.owner_id or "",
            )
            for v in vehicles
        ]

    def _drafts(self, community_id: str) -> list[Row]:
        drafts = self.session.scalars(
            select(RegistrationDraft)
            .where(RegistrationDraft.community_id == community_id)
            .where(RegistrationDraft.status == "open")
            .order_by(RegistrationDraft.id)
        )
        # The draft's subject is a device's token: it stays out, as on the pages.
        return [(d.id, d.place_id, d.alert_id, _iso(d.created_at)) for d in drafts]


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
