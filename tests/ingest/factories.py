"""A small, fixed slice of master data for intake tests, loaded through the registry service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zhian.devices.service import DeviceService
from zhian.node import Node
from zhian.registry.service import RegistryService

ZONE_POLYGON = (
    "POLYGON ((120.15 30.27, 120.151 30.27, 120.151 30.271, 120.15 30.271, 120.15 30.27))"
)

MASTER_DATA: dict[str, list[dict[str, Any]]] = {
    "jurisdictions": [
        {"id": "J-CITY", "parent_id": None, "level": "city", "name": "Test City"},
        {"id": "J-STATION", "parent_id": "J-CITY", "level": "station", "name": "North Station"},
    ],
    "communities": [
        {
            "id": "C1",
            "jurisdiction_id": "J-STATION",
            "name": "Garden Estate",
            "kind": "gated",
            "latitude": 30.27,
            "longitude": 120.15,
        }
    ],
    "buildings": [
        {
            "id": "C1-B1",
            "community_id": "C1",
            "name": "Building 1",
            "floors": 6,
            "latitude": 30.27,
            "longitude": 120.15,
        }
    ],
    "units": [{"id": "C1-B1-U1", "building_id": "C1-B1", "name": "Unit 1"}],
    "zones": [
        {
            "id": "Z-PLAZA",
            "community_id": "C1",
            "jurisdiction_id": "J-STATION",
            "name": "Plaza",
            "polygon_wkt": ZONE_POLYGON,
            "area_m2": 1200.0,
        }
    ],
    "devices": [
        _device
        for _device in (
            {"id": "G1", "kind": "gateway", "name": "Access platform", "gateway_id": None},
            {"id": "DOOR1", "kind": "door", "name": "Unit 1 door", "gateway_id": "G1"},
            {"id": "CAM1", "kind": "face_camera", "name": "North gate camera", "gateway_id": None},
            {"id": "CNT1", "kind": "crowd_counter", "name": "Plaza counter", "gateway_id": None},
            {"id": "OFF1", "kind": "door", "name": "Retired door", "gateway_id": None},
        )
    ],
}
for _row in MASTER_DATA["devices"]:
    _row.update(
        community_id="C1",
        building_id=None,
        unit_id=None,
        zone_id="Z-PLAZA" if _row["id"] == "CNT1" else None,
        latitude=30.27,
        longitude=120.15,
        is_enabled=_row["id"] != "OFF1",
    )


def load_master_data(
    node: Node, *, now: datetime, skip_devices: tuple[str, ...] = ()
) -> dict[str, str]:
    """Load the slice, issue tokens for every device, refresh the intake; returns the tokens."""
    with node.db.session() as session:
        registry = RegistryService(session, identity=node.governance.sealer)
        for entity, rows in MASTER_DATA.items():
            kept = [row for row in rows if row["id"] not in skip_devices]
            report = registry.load_rows(entity, kept)
            assert report.rejected == 0, report.errors
        device_ids = [str(r["id"]) for r in MASTER_DATA["devices"] if r["id"] not in skip_devices]
        tokens = DeviceService(session).issue_tokens(device_ids, now=now)
    node.refresh_directory()
    return tokens


def access_event(
    event_id: str, time: datetime, device_id: str = "DOOR1", **fields: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "access",
        "id": event_id,
        "device_id": device_id,
        "time": time.isoformat(),
        "subject": {"kind": "resident", "ref": "R0001"},
        "direction": "in",
        "method": "card",
        "result": "granted",
    }
    event.update(fields)
    return event
