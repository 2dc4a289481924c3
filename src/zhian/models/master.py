"""Master data the models join against, read once per run as small Arrow tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.devices.models import Device
from zhian.devices.schemas import DeviceRead
from zhian.devices.service import DeviceService
from zhian.models.orm import WelfareOptin
from zhian.models.place_rules import PlaceRule, rule_of
from zhian.registry.models import (
    Building,
    Community,
    House,
    PlaceRestriction,
    Resident,
    Unit,
    Vehicle,
)
from zhian.registry.service import RegistryService
from zhian.store.identifiers import IdentifierKind
from zhian.store.queries import ReferenceTables

TokenOf = Callable[[IdentifierKind, str], str]

RESIDENTIAL_KINDS = frozenset({"open", "gated", "rental", "holiday_homes"})
# Places whose vehicle gates the zombie-vehicle model watches besides residential ones:
# vehicles stay there by design, so each has its own threshold (zhian.models.parameters).
STAY_KINDS = RESIDENTIAL_KINDS | {"campsite", "long_stay_park"}


@dataclass
class MasterData:
    """Residents, houses, devices and vehicles, plus the welfare opt-ins, as the models use
    them: reference tables for the store's named queries and names for sentences."""

    reference: ReferenceTables
    house_community: dict[str, str] = field(default_factory=dict)
    house_label: dict[str, tuple[str, str]] = field(default_factory=dict)  # zh, en
    house_area: dict[str, float] = field(default_factory=dict)  # house -> floor area, m²
    unit_label: dict[str, tuple[str, str]] = field(default_factory=dict)
    community_name: dict[str, str] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)  # house -> residents
    resident_house: dict[str, str] = field(default_factory=dict)
    birth_year: dict[str, int] = field(default_factory=dict)  # resident -> year of birth
    device_community: dict[str, str | None] = field(default_factory=dict)
    optins: dict[str, str] = field(default_factory=dict)  # resident -> self | guardian
    device_name: dict[str, str] = field(default_factory=dict)
    # The place rules each restricted device keeps: its own and its zone's.
    place_rules: dict[str, list[PlaceRule]] = field(default_factory=dict)


def load_master(session: Session, tokens: TokenOf) -> MasterData:
    """A snapshot of the registry and device master data (read-only); `tokens` turns
    identifiers into the store's tokens (`EventStore.protector.token`). The registry is
    and devices are read through their services, the models' own opt-ins from their table."""
    registry = RegistryService(session).snapshot()
    devices = DeviceService(session).list_devices(scope=JurisdictionScope.unscoped())
    optins = list(session.scalars(select(WelfareOptin)))
    return build_master(
        {c.id: c for c in registry.communities},
        {b.id: b for b in registry.buildings},
        {u.id: u for u in registry.units},
        registry.houses,
        registry.residents,
        devices,
        registry.vehicles,
        optins,
        tokens,
        restrictions=registry.place_restrictions,
    )


def build_master(
    communities: dict[str, Community],
    buildings: dict[str, Building],
    units: dict[str, Unit],
    houses: list[House],
    residents: list[Resident],
    devices: Sequence[Device | DeviceRead],
    vehicles: list[Vehicle],
    optins: list[WelfareOptin],
    tokens: TokenOf,
    *,
    restrictions: Sequence[PlaceRestriction] = (),
) -> MasterData:
    """Master data as the models join it: subject keys and plates as the store's tokens.

    Cards and plates come tokenised from the registry (the same token key as the store's);
    resident ids are tokenised here with `tokens`."""
    unit_label: dict[str, tuple[str, str]] = {}
    for unit in units.values():
        building = buildings[unit.building_id]
        unit_label[unit.id] = (f"{building.name}{unit.name}", f"{building.name} {unit.name}")
    house_community: dict[str, str] = {}
    house_label: dict[str, tuple[str, str]] = {}
    for house in houses:
        building = buildings[units[house.unit_id].building_id]
        house_community[house.id] = building.community_id
        zh, en = unit_label[house.unit_id]
        house_label[house.id] = (f"{zh}{house.number}室", f"{en} room {house.number}")
    keys: list[tuple[str, str]] = []
    members: dict[str, list[str]] = {}
    for r in residents:
        members.setdefault(r.house_id, []).append(r.id)
        keys.append((f"resident:{tokens('subject', r.id)}", r.id))
        if r.card_ref_token:  # the registry holds the card's token of kind `subject` (#12)
            keys.append((f"card:{r.card_ref_token}", r.id))
    unit_building = {u.id: u.building_id for u in units.values()}
    place_rules = _place_rules(devices, restrictions)
    reference = ReferenceTables(
        keys=pa.table(
            {"key": _text([k for k, _ in keys]), "resident_id": _text([r for _, r in keys])}
        ),
        residents=pa.table(
            {
                "resident_id": _text([r.id for r in residents]),
                "house_id": _text([r.house_id for r in residents]),
            }
        ),
        devices=pa.table(
            {
                "device_id": _text([d.id for d in devices]),
                "kind": _text([d.kind for d in devices]),
                "community_id": _text([d.community_id for d in devices]),
                "unit_id": _text([d.unit_id for d in devices]),
                "house_id": _text([d.house_id for d in devices]),
                "building_id": _text(
                    [d.building_id or unit_building.get(d.unit_id or "") for d in devices]
                ),
                "is_residential": [
                    d.community_id is not None
                    and communities[d.community_id].kind in RESIDENTIAL_KINDS
                    for d in devices
                ],
                "watches_stays": [
                    d.community_id is not None and communities[d.community_id].kind in STAY_KINDS
                    for d in devices
                ],
                "is_restricted": [d.id in place_rules for d in devices],
            }
        ),
        vehicles=pa.table(
            {
                "plate": _text([v.plate_token for v in vehicles]),
                "community_id": _text([v.community_id for v in vehicles]),
                "owner_id": _text([v.owner_id for v in vehicles]),
            }
        ),
        optins=pa.table({"resident_id": _text([o.resident_id for o in optins])}),
    )
    return MasterData(
        reference=reference,
        house_community=house_community,
        house_label=house_label,
        house_area={house.id: house.area_m2 for house in houses},
        unit_label=unit_label,
        community_name={c.id: c.name for c in communities.values()},
        members=members,
        resident_house={r.id: r.house_id for r in residents},
        birth_year={r.id: r.birth_year for r in residents},
        device_community={d.id: d.community_id for d in devices},
        optins={o.resident_id: o.requested_by for o in optins},
        device_name={d.id: d.name for d in devices},
        place_rules=place_rules,
    )


def _place_rules(
    devices: Sequence[Device | DeviceRead], restrictions: Sequence[PlaceRestriction]
) -> dict[str, list[PlaceRule]]:
    """device -> the rules it keeps: those naming it and those naming its zone."""
    by_device: dict[str, list[PlaceRule]] = {}
    by_zone: dict[str, list[PlaceRule]] = {}
    for restriction in restrictions:
        rule = rule_of(restriction)
        if restriction.device_id is not None:
            by_device.setdefault(restriction.device_id, []).append(rule)
        elif restriction.zone_id is not None:
            by_zone.setdefault(restriction.zone_id, []).append(rule)
    found: dict[str, list[PlaceRule]] = {}
    for device in devices:
        rules = by_device.get(device.id, []) + by_zone.get(device.zone_id or "", [])
        if rules:
            found[device.id] = rules
    return found


def _text(values: list[str | None]) -> pa.Array:
    return pa.array(values, type=pa.string())
