"""Where each device is, as rules need it: a snapshot of master data taken through services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.devices.service import DeviceService
from zhian.registry.service import RegistryService

KIND_NAMES: dict[str, tuple[str, str]] = {
    "door": ("门禁", "door"),
    "vehicle_gate": ("车辆道闸", "vehicle gate"),
    "face_camera": ("人脸摄像机", "face camera"),
    "checkpoint": ("卡口", "checkpoint"),
    "parking_camera": ("车位相机", "car-park camera"),
    "smoke_sensor": ("烟感", "smoke sensor"),
    "perimeter_alarm": ("周界报警", "perimeter alarm"),
    "sos_button": ("一键报警", "SOS button"),
    "crowd_counter": ("人流计数", "crowd counter"),
    "body_camera": ("执法记录仪", "body camera"),
    "gateway": ("网关", "gateway"),
}
# What a place loses when a device of this kind is down (the "lost coverage" sentence).
COVERAGE: dict[str, tuple[str, str]] = {
    "door": ("无门禁控制", "has no access control"),
    "vehicle_gate": ("无过车记录", "has no vehicle records"),
    "face_camera": ("无人脸覆盖", "has no face coverage"),
    "checkpoint": ("无卡口覆盖", "has no checkpoint coverage"),
    "parking_camera": ("无车位识读", "has no parked-plate reads"),
    "smoke_sensor": ("无烟雾探测", "has no smoke detection"),
    "perimeter_alarm": ("周界无防护", "has no perimeter protection"),
    "sos_button": ("一键报警不可用", "has no working SOS button"),
    "crowd_counter": ("无人流统计", "has no crowd counts"),
    "body_camera": ("执法记录仪失联", "has no body camera link"),
    "gateway": ("下属设备全部失联", "has lost every device behind its gateway"),
}
# Words a device name ends with that say its kind; what is left names its location.
_KIND_WORDS = (
    "人脸抓拍",
    "人脸摄像机",
    "摄像机",
    "门禁网关",
    "门禁",
    "车辆道闸",
    "道闸",
    "烟感",
    "卡口",
    "车位相机",
    "周界",
    "一键报警",
    "人数统计",
    "客流计数",
)


@dataclass(frozen=True, slots=True)
class DevicePlace:
    id: str
    kind: str
    name: str
    community_id: str | None
    community_name: str | None
    building_id: str | None
    unit_id: str | None
    zone_id: str | None
    is_enabled: bool

    @property
    def place_id(self) -> str:
        """The most specific place: unit, else building, else zone, else community, else device."""
        return self.unit_id or self.building_id or self.zone_id or self.community_id or self.id

    @property
    def building_place_id(self) -> str:
        """The place alarms correlate on: the building, else the zone, else the community."""
        return self.building_id or self.zone_id or self.community_id or self.id

    @property
    def location_zh(self) -> str:
        """The location in the device's name, without its kind (…东口人脸抓拍 -> …东口)."""
        name = self.name.rstrip("0123456789号")
        for word in _KIND_WORDS:
            index = name.find(word)
            if index > 0:
                return name[:index]
        return self.community_name or name

    @property
    def kind_zh(self) -> str:
        return KIND_NAMES.get(self.kind, (self.kind, self.kind))[0]

    @property
    def kind_en(self) -> str:
        return KIND_NAMES.get(self.kind, (self.kind, self.kind))[1]


@dataclass(frozen=True)
class PlaceDirectory:
    devices: dict[str, DevicePlace]

    def get(self, device_id: str) -> DevicePlace | None:
        return self.devices.get(device_id)


def load_directory(session: Session) -> PlaceDirectory:
    # The node's own directory of places: every community, whoever reads an alert later.
    everywhere = JurisdictionScope.unscoped()
    communities = {
        c.id: c.name for c in RegistryService(session).list_communities(scope=everywhere)
    }
    devices = {
        d.id: DevicePlace(
            id=d.id,
            kind=d.kind.value,
            name=d.name,
            community_id=d.community_id,
            community_name=None if d.community_id is None else communities.get(d.community_id),
            building_id=d.building_id,
            unit_id=d.unit_id,
            zone_id=d.zone_id,
            is_enabled=d.is_enabled,
        )
        for d in DeviceService(session).list_devices(scope=everywhere)
    }
    return PlaceDirectory(devices)
