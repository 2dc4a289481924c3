"""Read schemas of devices and the immutable device directory the intake authenticates with."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from zhian.devices.models import DeviceKind


def hash_token(token: str) -> str:
    """The sha256 hex digest under which a device token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


class DeviceRead(BaseModel):
    """A device as the pages show it; the token hash never leaves the service."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    kind: DeviceKind
    name: str
    community_id: str | None
    building_id: str | None
    unit_id: str | None
    house_id: str | None = None  # a house's own door (a rental's smart lock)
    zone_id: str | None
    gateway_id: str | None
    latitude: float
    longitude: float
    is_enabled: bool
    has_token: bool
    token_issued_at: datetime | None


class RejectedInput(BaseModel):
    """One quarantined item of a device: when, through what, and every reason it was refused."""

    model_config = ConfigDict(frozen=True)

    id: int
    received_at: datetime
    source: str
    event_id: str | None
    reason_code: str
    reasons: list[dict[str, str]]
    status: str


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    """What the intake needs to know about one device, per event."""

    id: str
    kind: DeviceKind
    community_id: str | None
    zone_id: str | None
    gateway_id: str | None
    is_enabled: bool


@dataclass(frozen=True, slots=True)
class DeviceDirectory:
    """A snapshot of every device and token hash, read once and shared by intake workers.

    Both mappings are read-only views; a change to the devices takes a new snapshot.
    """

    by_token_sha256: Mapping[str, str]  # token hash -> device id, disabled devices included
    devices: Mapping[str, DeviceEntry]

    def authenticate(self, token: str) -> str | None:
        """The id of the enabled device holding `token`, or None.

        A disabled device's token still resolves in `by_token_sha256`, so a caller can tell
        "disabled" apart from "unknown" when it wants to say which.
        """
        device_id = self.token_holder(token)
        if device_id is None:
            return None
        entry = self.devices.get(device_id)
        return device_id if entry is not None and entry.is_enabled else None

    def token_holder(self, token: str) -> str | None:
        """The id of the device `token` was issued to, enabled or not; None if unknown."""
        return self.by_token_sha256.get(hash_token(token))
