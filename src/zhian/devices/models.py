"""The device table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class DeviceKind(StrEnum):
    DOOR = "door"  # access control at a unit or community gate
    VEHICLE_GATE = "vehicle_gate"
    FACE_CAMERA = "face_camera"
    CHECKPOINT = "checkpoint"
    # A car-park camera that reads parked cars' plates (车位检测相机): its vehicle events
    # say a car stands parked there, not that it passed (docs/devices.md).
    PARKING_CAMERA = "parking_camera"
    SMOKE_SENSOR = "smoke_sensor"
    PERIMETER_ALARM = "perimeter_alarm"
    SOS_BUTTON = "sos_button"
    CROWD_COUNTER = "crowd_counter"
    BODY_CAMERA = "body_camera"
    GATEWAY = "gateway"  # a platform or controller that posts on behalf of its devices


class Device(Base):
    """A security device with its place and the hash of its intake token."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str | None] = mapped_column(ForeignKey("communities.id"), index=True)
    building_id: Mapped[str | None] = mapped_column(ForeignKey("buildings.id"))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))
    # A door at one house (a rental's smart lock, 智能门锁): who passes it lives there.
    house_id: Mapped[str | None] = mapped_column(ForeignKey("houses.id"), index=True)
    zone_id: Mapped[str | None] = mapped_column(ForeignKey("zones.id"))
    gateway_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    # sha256 of the token; the token itself is shown once when issued.
    token_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
