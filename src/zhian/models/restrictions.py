"""Restricted places of a community as the parameters page reads and changes them: a rule at
one of its devices or zones (which vehicles, which hours, which way), checked and stored
exactly as a row of `place_restrictions.csv` is (the import stays the other way in)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.devices.models import DeviceKind
from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, NotFoundError
from zhian.registry.identity import IdentityProtector
from zhian.registry.models import PlaceRestriction
from zhian.registry.service import RegistryService

# What a rule says, as the form and the import file name it (allowed plates apart: they
# are written in clear and kept only as tokens, a sealed copy and the masked list).
RULE_FIELDS: tuple[str, ...] = (
    "name",
    "device_id",
    "zone_id",
    "governs_classes",
    "direction",
    "allowed_classes",
    "allowed_owners",
    "allowed_from_hour",
    "allowed_until_hour",
)
PLATES_FIELD = "allowed_plates"
# Devices a vehicle passes: the places a rule may hold at, besides zones.
_VEHICLE_DEVICES = frozenset({DeviceKind.VEHICLE_GATE, DeviceKind.CHECKPOINT})
# The row's own checks name no column when they weigh two together: which one they mean.
_WHOLE_ROW_FIELDS = (("device_id", "device_id"), ("allowed_from_hour", "allowed_from_hour"))


@dataclass(frozen=True)
class RestrictedPlaceRead:
    """A restricted place as the page shows it: plates masked, lists as written."""

    id: str
    name: str
    device_id: str | None
    zone_id: str | None
    place_name: str
    governs_classes: str
    direction: str | None
    allowed_classes: str
    allowed_owners: str
    allowed_plates_masked: str
    allowed_from_hour: int | None
    allowed_until_hour: int | None

    @property
    def hours_text(self) -> str | None:
        if self.allowed_from_hour is None:
            return None
        return f"{self.allowed_from_hour}:00–{self.allowed_until_hour}:00"


@dataclass(frozen=True)
class PlaceChoice:
    """A device or zone of the community a rule may hold at."""

    field: str  # device_id or zone_id
    id: str
    name: str


class RestrictedPlaceService:
    """Reads and changes the restricted places of one community's devices and zones. The
    caller checks the community lies in the user's scope, audits and commits."""

    def __init__(self, session: Session, *, identity: IdentityProtector | None = None) -> None:
        self.session = session
        self.identity = identity

    def places(self, community_id: str) -> list[PlaceChoice]:
        """The community's vehicle gates and checkpoints, then its zones."""
        devices = DeviceService(self.session).list_devices(
            community_id=community_id, scope=JurisdictionScope.unscoped()
        )
        choices = [
            PlaceChoice("device_id", d.id, d.name) for d in devices if d.kind in _VEHICLE_DEVICES
        ]
        zones = self._zones(community_id, devices_zones={d.zone_id for d in devices})
        choices += [PlaceChoice("zone_id", zone_id, name) for zone_id, name in zones.items()]
        return choices

    def list_rules(self, community_id: str) -> list[RestrictedPlaceRead]:
        """The rules held at the community's devices (any kind) or zones, by id."""
        devices = DeviceService(self.session).list_devices(
            community_id=community_id, scope=JurisdictionScope.unscoped()
        )
        device_names = {d.id: d.name for d in devices}
        zones = self._zones(community_id, devices_zones={d.zone_id for d in devices})
        found = []
        for r in RegistryService(self.session).place_restrictions():
            if r.device_id is not None and r.device_id in device_names:
                place = device_names[r.device_id]
            elif r.zone_id is not None and r.zone_id in zones:
                place = zones[r.zone_id]
            else:
                continue
            found.append(_read(r, place))
        return sorted(found, key=lambda r: r.id)

    def get(self, community_id: str, restriction_id: str) -> RestrictedPlaceRead:
        """One of the community's rules; another community's reads as absent."""
        for rule in self.list_rules(community_id):
            if rule.id == restriction_id:
                return rule
        raise NotFoundError(
            f"restricted place '{restriction_id}' not found", field="restriction_id"
        )

    def create(self, community_id: str, form: Mapping[str, str]) -> str:
        """Store a new rule at one of the community's places; its id is made here."""
        taken = {r.id for r in RegistryService(self.session).place_restrictions()}
        number = 1
        while f"{community_id}-R{number}" in taken:
            number += 1
        restriction_id = f"{community_id}-R{number}"
        self._store(community_id, restriction_id, form, plates_given=True)
        return restriction_id

    def update(self, community_id: str, restriction_id: str, form: Mapping[str, str]) -> None:
        """Change one of the community's rules. A blank plate field keeps the plates held
        (they are never shown in clear); `clear_plates` empties the list."""
        self.get(community_id, restriction_id)
        self._store(community_id, restriction_id, form, plates_given=False)

    def remove(self, community_id: str, restriction_id: str) -> RestrictedPlaceRead:
        """Delete one of the community's rules; what it said, for the audit."""
        rule = self.get(community_id, restriction_id)
        RegistryService(self.session).remove_place_restriction(restriction_id)
        return rule

    def _store(
        self, community_id: str, restriction_id: str, form: Mapping[str, str], *, plates_given: bool
    ) -> None:
        row: dict[str, object] = {"id": restriction_id}
        for name in RULE_FIELDS:
            value = (form.get(name) or "").strip()
            row[name] = value if value else None
        for name in ("governs_classes", "allowed_classes", "allowed_owners"):
            row[name] = row[name] or ""
        plates = (form.get(PLATES_FIELD) or "").strip()
        if form.get("clear_plates"):
            row[PLATES_FIELD] = ""
        elif plates or plates_given:
            row[PLATES_FIELD] = plates
        self._check_place(community_id, row)
        registry = RegistryService(self.session, identity=self.identity)
        report = registry.load_rows("place_restrictions", [row])
        if report.errors:
            error = report.errors[0]
            raise BadRequestError(
                f"{error.column or 'rule'}: {error.reason}",
                field=_field_of(error.column, error.reason),
            )

    def _check_place(self, community_id: str, row: Mapping[str, object]) -> None:
        """The rule holds at a device or zone of this community, not another's."""
        devices = DeviceService(self.session).list_devices(
            community_id=community_id, scope=JurisdictionScope.unscoped()
        )
        zones = self._zones(community_id, devices_zones={d.zone_id for d in devices})
        allowed = {("device_id", d.id) for d in devices} | {("zone_id", z) for z in zones}
        for name in ("device_id", "zone_id"):
            value = row.get(name)
            if value is not None and (name, value) not in allowed:
                raise BadRequestError(
                    f"{name}: '{value}' is not a device or zone of community '{community_id}'",
                    field=name,
                )

    def _zones(self, community_id: str, *, devices_zones: set[str | None]) -> dict[str, str]:
        zones = RegistryService(self.session).zones(scope=JurisdictionScope.unscoped())
        return {
            z.id: z.name for z in zones if z.community_id == community_id or z.id in devices_zones
        }


def _field_of(column: str, reason: str) -> str:
    """The form field an import error names; a whole-row check names it in its reason."""
    if column:
        return column
    for word, field in _WHOLE_ROW_FIELDS:
        if re.search(rf"\b{word}\b", reason):
            return field
    return "name"


def _read(r: PlaceRestriction, place: str) -> RestrictedPlaceRead:
    return RestrictedPlaceRead(
        id=r.id,
        name=r.name,
        device_id=r.device_id,
        zone_id=r.zone_id,
        place_name=place,
        governs_classes=r.governs_classes,
        direction=r.direction,
        allowed_classes=r.allowed_classes,
        allowed_owners=r.allowed_owners,
        allowed_plates_masked=r.allowed_plates_masked or "",
        allowed_from_hour=r.allowed_from_hour,
        allowed_until_hour=r.allowed_until_hour,
    )
