"""Device credentials and the directory the event intake authenticates against."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope, require_scope
from zhian.devices.models import Device, DeviceKind
from zhian.devices.repository import DeviceRepository
from zhian.devices.schemas import (
    DeviceDirectory,
    DeviceEntry,
    DeviceRead,
    RejectedInput,
    hash_token,
)
from zhian.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError
from zhian.registry.schemas import is_empty_cell
from zhian.registry.service import RegistryService, RowError

# 32 random bytes: 43 URL-safe characters, beyond guessing.
TOKEN_BYTES = 32


@dataclass(slots=True)
class BulkRegistration:
    """What one bulk registration did: the devices registered (in file order) and every
    refused row with its reasons. Rows are numbered as the spreadsheet numbers them."""

    total: int = 0
    registered: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({error.row for error in self.errors})


class DeviceService:
    """Issues and rotates device tokens, enables and disables devices, and snapshots them.

    A token is shown once when issued; only its sha256 is stored. The caller owns the
    transaction: nothing commits here.
    """

    def __init__(self, session: Session) -> None:
        self.repository = DeviceRepository(session)

    def issue_token(self, device_id: str, *, now: datetime) -> str:
        """A new token for the device; the previous one stops working."""
        return self.issue_tokens([device_id], now=now)[device_id]

    def issue_tokens(self, device_ids: Iterable[str], *, now: datetime) -> dict[str, str]:
        """New tokens for many devices at once (device id -> token); all or none are issued."""
        if now.tzinfo is None:
            raise ValueError("`now` must be timezone-aware")
        wanted = list(dict.fromkeys(device_ids))
        unknown = set(wanted) - self.repository.existing_ids(wanted)
        if unknown:
            names = ", ".join(f"'{device_id}'" for device_id in sorted(unknown))
            raise NotFoundError(f"unknown device {names}", field="device_id")
        tokens = {device_id: secrets.token_urlsafe(TOKEN_BYTES) for device_id in wanted}
        self.repository.set_token_hashes(
            [(device_id, hash_token(token)) for device_id, token in tokens.items()], now
        )
        return tokens

    def set_enabled(self, device_id: str, enabled: bool) -> None:
        """Enable or disable a device; a disabled device's token no longer authenticates."""
        device = self.repository.get(device_id)
        if device is None:
            raise NotFoundError(f"unknown device '{device_id}'", field="device_id")
        device.is_enabled = enabled
        self.repository.session.flush()

    def directory(self) -> DeviceDirectory:
        """An immutable snapshot of every device and token hash, for the intake's hot path."""
        by_token: dict[str, str] = {}
        devices: dict[str, DeviceEntry] = {}
        for (
            device_id,
            kind,
            community_id,
            zone_id,
            gateway_id,
            is_enabled,
            digest,
        ) in self.repository.directory_rows():
            devices[device_id] = DeviceEntry(
                id=device_id,
                kind=DeviceKind(kind),
                community_id=community_id,
                zone_id=zone_id,
                gateway_id=gateway_id,
                is_enabled=is_enabled,
            )
            if digest is not None:
                by_token[digest] = device_id
        return DeviceDirectory(
            by_token_sha256=MappingProxyType(by_token), devices=MappingProxyType(devices)
        )

    def list_devices(
        self, *, community_id: str | None = None, scope: JurisdictionScope
    ) -> list[DeviceRead]:
        """Devices by id, optionally of one community and within a user's scope."""
        return [
            _read(device)
            for device in self.repository.list_devices(community_id=community_id, scope=scope)
        ]

    def token_owner(self, token: str) -> str | None:
        """The device a token was issued to (enabled or not); None for an unknown token."""
        return self.repository.id_for_token_hash(hash_token(token))

    def communities_of(self, device_ids: Collection[str]) -> dict[str, str | None]:
        """The community of each of `device_ids` that is registered (absent ones left out),
        in one query per thousand: for checks over a whole batch of another node's events."""
        return self.repository.communities_of(device_ids)

    def get_device(self, device_id: str, *, scope: JurisdictionScope) -> DeviceRead | None:
        """One device; None when unknown or outside `scope` (its existence is not disclosed)."""
        device = self.repository.get(device_id)
        if device is None:
            return None
        if not require_scope(scope).contains_community(device.community_id):
            return None
        return _read(device)

    def register(self, fields: Mapping[str, object], *, scope: JurisdictionScope) -> DeviceRead:
        """Register a new device through the master-data validation of the registry.

        Every field is checked as an import row is (`RegistryService.load_rows("devices")`);
        the first problem raises BadRequestError naming the column. An id already held
        raises ConflictError (registering never overwrites a device); a scoped user may
        register only in a community of their scope. No token is issued here.
        """
        device_id = str(fields.get("id") or "").strip()
        if device_id and self.repository.get(device_id) is not None:
            raise ConflictError(f"device '{device_id}' is already registered", field="id")
        community_id = str(fields.get("community_id") or "").strip() or None
        if not require_scope(scope).is_unscoped:
            if community_id is None:
                raise BadRequestError(
                    "is required: you may register devices only in your jurisdiction's communities",
                    field="community_id",
                )
            if not scope.contains_community(community_id):
                raise ForbiddenError(
                    f"community '{community_id}' is not in your jurisdiction",
                    field="community_id",
                )
        row = {key: value for key, value in fields.items() if value not in (None, "")}
        report = RegistryService(self.repository.session).load_rows("devices", [row])
        if report.errors:
            first = report.errors[0]
            raise BadRequestError(first.reason, field=first.column)
        device = self.repository.get(device_id)
        if device is None:  # load_rows inserts a clean row or reports why not
            raise BadRequestError("the device was not registered", field="id")
        return _read(device)

    def register_rows(
        self,
        rows: Iterable[Mapping[str, object]],
        *,
        scope: JurisdictionScope,
        first_row_number: int = 2,
    ) -> BulkRegistration:
        """Register many devices (a spreadsheet's rows); each refused row is reported and the
        others are registered.

        Rows are checked as `register` checks one device: an id already held is refused
        (registering never overwrites), a scoped user registers only in the communities of
        their scope, and every field goes through the registry's master-data validation.
        No token is issued here.
        """
        checked = require_scope(scope)
        report = BulkRegistration()
        wanted: list[Mapping[str, object]] = []
        for row, raw in enumerate(rows, start=first_row_number):
            if all(is_empty_cell(value) for value in raw.values()):
                wanted.append({})  # a blank row still counts for the numbering
                continue
            report.total += 1
            problem = _scope_problem(raw, checked)
            if problem is not None:
                report.errors.append(RowError(row, *problem))
                wanted.append({})
                continue
            wanted.append(raw)
        held = self.repository.existing_ids({_row_id(raw) for raw in wanted} - {""})
        for index, raw in enumerate(wanted):
            if raw and _row_id(raw) in held:
                reason = "is already registered (registering never overwrites a device)"
                report.errors.append(
                    RowError(first_row_number + index, "id", f"'{_row_id(raw)}' {reason}")
                )
                wanted[index] = {}
        loaded = RegistryService(self.repository.session).load_rows(
            "devices", wanted, first_row_number=first_row_number
        )
        report.errors.extend(loaded.errors)
        report.errors.sort(key=lambda error: error.row)
        refused = {error.row for error in report.errors}
        report.registered = [
            _row_id(raw)
            for index, raw in enumerate(wanted)
            if raw and first_row_number + index not in refused
        ]
        return report

    def rejected_input(self, device_id: str, *, limit: int = 20) -> list[RejectedInput]:
        """The device's most recent quarantined input (as sender or as the event's device)."""
        return [
            RejectedInput(
                id=item.id,
                received_at=item.received_at,
                source=item.source,
                event_id=item.event_id,
                reason_code=item.reason_code,
                reasons=[
                    {"field": str(r.get("field", "")), "reason": str(r.get("reason", ""))}
                    for r in item.reasons
                ],
                status=item.status,
            )
            for item in self.repository.rejected_input(device_id, limit)
        ]


def _row_id(raw: Mapping[str, object]) -> str:
    value = raw.get("id")
    return "" if is_empty_cell(value) else str(value).strip()


def _scope_problem(raw: Mapping[str, object], scope: JurisdictionScope) -> tuple[str, str] | None:
    """(column, reason) when a scoped user may not register the row's device."""
    if scope.is_unscoped or all(is_empty_cell(value) for value in raw.values()):
        return None
    community = raw.get("community_id")
    if is_empty_cell(community):
        return "community_id", "is required: you may register devices only in your communities"
    if not scope.contains_community(str(community).strip()):
        return "community_id", f"community '{str(community).strip()}' is not in your jurisdiction"
    return None


def _read(device: Device) -> DeviceRead:
    return DeviceRead(
        id=device.id,
        kind=DeviceKind(device.kind),
        name=device.name,
        community_id=device.community_id,
        building_id=device.building_id,
        unit_id=device.unit_id,
        house_id=device.house_id,
        zone_id=device.zone_id,
        gateway_id=device.gateway_id,
        latitude=device.latitude,
        longitude=device.longitude,
        is_enabled=device.is_enabled,
        has_token=device.token_sha256 is not None,
        token_issued_at=device.token_issued_at,
    )
