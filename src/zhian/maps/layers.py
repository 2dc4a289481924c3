"""The map's layers as GeoJSON (RFC 7946: WGS84, [longitude, latitude]) built from what the
registry, the devices and the alerts hand over; every input is already scoped to the user.

The registry holds points for communities and buildings and polygons only for zones, so
an area's outline is drawn from what lies in it: a community is the hull of its buildings
and devices (a small square around its centre when it has none), a station, district or
city the hull of its communities. Outlines are for orientation, not survey boundaries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import shapely
import shapely.wkt
from shapely.geometry import MultiPoint, mapping

from zhian.alerts.schemas import AlertSummary
from zhian.devices.schemas import DeviceRead
from zhian.maps.coords import wgs84_to_gcj02
from zhian.registry.schemas import (
    BuildingRead,
    CommunityRead,
    JurisdictionTreeRead,
    ZoneRead,
)

Feature = dict[str, Any]
# About 60 m (in degrees of latitude) around a community's points; 120 m around an area's.
COMMUNITY_PADDING_DEGREES = 0.0006
AREA_PADDING_DEGREES = 0.0012
DRILL_LEVELS = ("city", "district", "station", "community")
DEVICE_FAULT_KIND = "device_fault"
DEVICE_OFFLINE_KIND = "device_offline"


class DeviceStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    FAULT = "fault"


def collection(features: Iterable[Feature]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def point(latitude: float, longitude: float, properties: Mapping[str, Any]) -> Feature:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
        "properties": dict(properties),
    }


def device_status(device: DeviceRead, open_device_alerts: Iterable[AlertSummary]) -> DeviceStatus:
    """A device's status on the map: an open fault alert makes it `fault`, an open offline
    alert (the device-offline rule's verdict) or being disabled `offline`, else `online`."""
    kinds = {alert.kind for alert in open_device_alerts if alert.device_id == device.id}
    if DEVICE_FAULT_KIND in kinds:
        return DeviceStatus.FAULT
    if DEVICE_OFFLINE_KIND in kinds or not device.is_enabled:
        return DeviceStatus.OFFLINE
    return DeviceStatus.ONLINE


def device_features(
    devices: Sequence[DeviceRead], open_device_alerts: Sequence[AlertSummary]
) -> list[Feature]:
    by_device: dict[str, list[AlertSummary]] = defaultdict(list)
    for alert in open_device_alerts:
        if alert.device_id is not None:
            by_device[alert.device_id].append(alert)
    return [
        point(
            device.latitude,
            device.longitude,
            {
                "id": device.id,
                "name": device.name,
                "kind": device.kind.value,
                "community_id": device.community_id,
                "status": device_status(device, by_device.get(device.id, ())).value,
            },
        )
        for device in devices
    ]


def building_features(buildings: Sequence[BuildingRead]) -> list[Feature]:
    return [
        point(
            b.latitude,
            b.longitude,
            {"id": b.id, "name": b.name, "floors": b.floors, "community_id": b.community_id},
        )
        for b in buildings
    ]


def alert_position(
    alert: AlertSummary,
    devices: Mapping[str, DeviceRead],
    communities: Mapping[str, CommunityRead],
) -> tuple[float, float] | None:
    """Where an alert is drawn: its device, else its community's centre, else nowhere."""
    device = devices.get(alert.device_id or "")
    if device is not None:
        return device.latitude, device.longitude
    community = communities.get(alert.community_id or "")
    if community is not None:
        return community.latitude, community.longitude
    return None


def alert_features(
    alerts: Sequence[AlertSummary],
    devices: Mapping[str, DeviceRead],
    communities: Mapping[str, CommunityRead],
) -> list[Feature]:
    features = []
    for alert in alerts:
        at = alert_position(alert, devices, communities)
        if at is None:
            continue
        features.append(
            point(
                *at,
                {
                    "id": alert.id,
                    "kind": alert.kind,
                    "tier": alert.tier.value,
                    "state": alert.state.value,
                    "title_zh": alert.title_zh,
                    "title_en": alert.title_en,
                    "community_id": alert.community_id,
                    "device_id": alert.device_id,
                    "created_at": alert.created_at.isoformat(),
                },
            )
        )
    return features


def zone_features(
    zones: Sequence[ZoneRead], density: Mapping[str, tuple[float, float, int]]
) -> list[Feature]:
    """Zones with their last crowd figures: `density` maps zone id to (people, persons per
    m², level 0..3); a zone without counts has none."""
    features = []
    for zone in zones:
        people, per_m2, level = density.get(zone.id, (None, None, None))
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(shapely.wkt.loads(zone.polygon_wkt)),
                "properties": {
                    "id": zone.id,
                    "name": zone.name,
                    "community_id": zone.community_id,
                    "area_m2": zone.area_m2,
                    "people": people,
                    "density_per_m2": per_m2,
                    "level": level,
                },
            }
        )
    return features


@dataclass
class AreaCounts:
    devices: int = 0
    devices_online: int = 0
    open_alerts: int = 0
    buildings: int = 0
    community_ids: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class AreaInputs:
    """What the drill-down counts, all within the user's scope."""

    tree: JurisdictionTreeRead
    communities: Sequence[CommunityRead]
    buildings: Sequence[BuildingRead]
    devices: Sequence[DeviceRead]
    device_features: Sequence[Feature]
    open_alerts: Sequence[AlertSummary]


def _community_counts(inputs: AreaInputs) -> dict[str, AreaCounts]:
    counts: dict[str, AreaCounts] = {
        c.id: AreaCounts(community_ids={c.id}) for c in inputs.communities
    }
    for feature in inputs.device_features:
        props = feature["properties"]
        found = counts.get(props["community_id"] or "")
        if found is not None:
            found.devices += 1
            found.devices_online += props["status"] == DeviceStatus.ONLINE
    for alert in inputs.open_alerts:
        found = counts.get(alert.community_id or "")
        if found is not None:
            found.open_alerts += 1
    for building in inputs.buildings:
        found = counts.get(building.community_id)
        if found is not None:
            found.buildings += 1
    return counts


def _community_points(inputs: AreaInputs) -> dict[str, list[tuple[float, float]]]:
    points: dict[str, list[tuple[float, float]]] = {
        c.id: [(c.longitude, c.latitude)] for c in inputs.communities
    }
    for building in inputs.buildings:
        if building.community_id in points:
            points[building.community_id].append((building.longitude, building.latitude))
    for device in inputs.devices:
        if device.community_id is not None and device.community_id in points:
            points[device.community_id].append((device.longitude, device.latitude))
    return points


def _outline(points: Sequence[tuple[float, float]], padding: float) -> dict[str, Any]:
    hull = MultiPoint(list(points)).convex_hull.buffer(padding, quad_segs=4)
    return dict(mapping(shapely.simplify(hull, padding / 8)))


def area_features(inputs: AreaInputs, parent_id: str | None) -> list[Feature]:
    """The areas one level below `parent_id` (or the top of what the scope sees) with
    their outline and counts; each names the communities it holds (the side list's
    filter) and whether it can be drilled into."""
    tree = inputs.tree
    by_community = _community_counts(inputs)
    community_points = _community_points(inputs)
    visible = set(by_community)
    # Jurisdictions that hold a visible community, with the communities below each.
    below: dict[str, set[str]] = defaultdict(set)
    for community_id in visible:
        current: str | None = tree.community_jurisdiction.get(community_id)
        seen: set[str] = set()
        while current is not None and current not in seen:
            seen.add(current)
            below[current].add(community_id)
            current = tree.parents.get(current)
    if parent_id is None:
        parent_id = _top(below, tree)
    features: list[Feature] = []
    if parent_id is None:
        return features
    names = {c.id: c.name for c in inputs.communities}
    children = sorted(j for j, p in tree.parents.items() if p == parent_id and j in below)
    direct = sorted(c for c in visible if tree.community_jurisdiction.get(c) == parent_id)
    for jurisdiction_id in children:
        members = below[jurisdiction_id]
        points = [p for c in members for p in community_points[c]]
        features.append(
            _area(
                jurisdiction_id,
                tree.names.get(jurisdiction_id, jurisdiction_id),
                tree.levels.get(jurisdiction_id, ""),
                _outline(points, AREA_PADDING_DEGREES),
                [by_community[c] for c in members],
                parent_id,
                is_drillable=True,
            )
        )
    for community_id in direct:
        features.append(
            _area(
                community_id,
                names[community_id],
                "community",
                _outline(community_points[community_id], COMMUNITY_PADDING_DEGREES),
                [by_community[community_id]],
                parent_id,
                is_drillable=False,
            )
        )
    return features


def _top(below: Mapping[str, set[str]], tree: JurisdictionTreeRead) -> str | None:
    """The highest visible jurisdiction with more than one child or community, so the
    first view already splits into areas."""
    roots = [j for j in below if tree.parents.get(j) not in below]
    if not roots:
        return None
    current = sorted(roots)[0]
    while True:
        kids = [j for j, p in tree.parents.items() if p == current and j in below]
        direct = [c for c, j in tree.community_jurisdiction.items() if j == current]
        if len(kids) == 1 and not direct:
            current = kids[0]
            continue
        return current


def _area(
    area_id: str,
    name: str,
    level: str,
    geometry: dict[str, Any],
    parts: Sequence[AreaCounts],
    parent_id: str,
    *,
    is_drillable: bool,
) -> Feature:
    devices = sum(p.devices for p in parts)
    online = sum(p.devices_online for p in parts)
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "id": area_id,
            "name": name,
            "level": level,
            "parent_id": parent_id,
            "is_drillable": is_drillable,
            "communities": len(parts),
            "community_ids": sorted(c for p in parts for c in p.community_ids),
            "buildings": sum(p.buildings for p in parts),
            "devices": devices,
            "devices_online": online,
            "online_rate_pct": round(100.0 * online / devices, 1) if devices else None,
            "open_alerts": sum(p.open_alerts for p in parts),
        },
    }


def in_datum(value: Any, datum: str) -> Any:
    """GeoJSON (a collection, feature or geometry) with its WGS84 coordinates moved onto
    `datum`: unchanged for wgs84, shifted for gcj02 tiles (docs/map.md)."""
    if datum != "gcj02":
        return value
    return _shift(value)


def _shift(value: Any) -> Any:
    if isinstance(value, dict):
        if "coordinates" in value and "type" in value:
            return {**value, "coordinates": _shift_coordinates(value["coordinates"])}
        return {key: _shift(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shift(item) for item in value]
    return value


def _shift_coordinates(value: Any) -> Any:
    if (
        isinstance(value, (list, tuple))
        and len(value) >= 2
        and all(isinstance(v, (int, float)) for v in value[:2])
    ):
        latitude, longitude = wgs84_to_gcj02(float(value[1]), float(value[0]))
        return [longitude, latitude, *value[2:]]
    return [_shift_coordinates(item) for item in value]
