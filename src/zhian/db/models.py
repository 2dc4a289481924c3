"""Every table of the operational database, imported in one place for Alembic and tests."""

from zhian.access.models import User
from zhian.db.base import Base
from zhian.devices.models import Device
from zhian.ingest.quarantine.models import QuarantineItem
from zhian.registry.models import (
    Building,
    Community,
    House,
    Jurisdiction,
    PointOfInterest,
    Resident,
    Unit,
    Vehicle,
    Zone,
)

__all__ = [
    "Base",
    "Building",
    "Community",
    "Device",
    "House",
    "Jurisdiction",
    "PointOfInterest",
    "QuarantineItem",
    "Resident",
    "Unit",
    "User",
    "Vehicle",
    "Zone",
]
