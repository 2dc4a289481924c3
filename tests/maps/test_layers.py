"""The map's GeoJSON: device status, the drill-down's levels and counts, datum shifts, and
the order of responders."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from zhian.access.service import UserRead
from zhian.devices.models import DeviceKind
from zhian.devices.schemas import DeviceRead
from zhian.maps import layers
from zhian.maps.coords import wgs84_to_gcj02
from zhian.maps.dispatch import jurisdiction_centres, rank_responders
from zhian.registry.models import CommunityKind
from zhian.registry.schemas import BuildingRead, CommunityRead, JurisdictionTreeRead

TREE = JurisdictionTreeRead(
    parents={"CITY": None, "D1": "CITY", "S1": "D1", "S2": "D1"},
    names={"CITY": "市", "D1": "区", "S1": "北所", "S2": "南所"},
    levels={"CITY": "city", "D1": "district", "S1": "station", "S2": "station"},
    community_jurisdiction={"C1": "S1", "C2": "S1", "C3": "S2"},
)


def community(cid: str, jurisdiction: str, lat: float, lon: float) -> CommunityRead:
    return CommunityRead(
        id=cid, jurisdiction_id=jurisdiction, name=cid, kind=CommunityKind.GATED,
        latitude=lat, longitude=lon,
    )  # fmt: skip


def device(did: str, cid: str, *, enabled: bool = True) -> DeviceRead:
    return DeviceRead(
        id=did, kind=DeviceKind.DOOR, name=did, community_id=cid, building_id=None,
        unit_id=None, zone_id=None, gateway_id=None, latitude=30.0, longitude=120.0,
        is_enabled=enabled, has_token=False, token_issued_at=None,
    )  # fmt: skip


COMMUNITIES = [
    community("C1", "S1", 30.00, 120.00),
    community("C2", "S1", 30.01, 120.01),
    community("C3", "S2", 30.05, 120.05),
]
DEVICES = [device("D-A", "C1"), device("D-B", "C1", enabled=False), device("D-C", "C3")]
BUILDINGS = [
    BuildingRead(
        id="B1", community_id="C1", name="1号楼", floors=6, latitude=30.0005, longitude=120.0005
    )
]


def inputs(communities: list[CommunityRead] = COMMUNITIES) -> layers.AreaInputs:
    visible = {c.id for c in communities}
    devices = [d for d in DEVICES if d.community_id in visible]
    return layers.AreaInputs(
        tree=TREE,
        communities=communities,
        buildings=[b for b in BUILDINGS if b.community_id in visible],
        devices=devices,
        device_features=layers.device_features(devices, []),
        open_alerts=[],
    )


def test_the_first_view_opens_where_the_areas_split() -> None:
    # The city holds one district: the first view shows the district's two stations.
    areas = layers.area_features(inputs(), None)
    assert [a["properties"]["id"] for a in areas] == ["S1", "S2"]
    north = areas[0]["properties"]
    assert north["parent_id"] == "D1" and north["level"] == "station"
    assert north["communities"] == 2 and north["community_ids"] == ["C1", "C2"]
    assert north["devices"] == 2 and north["devices_online"] == 1
    assert north["online_rate_pct"] == 50.0 and north["buildings"] == 1
    assert all(a["geometry"]["type"] == "Polygon" for a in areas)


def test_a_station_drills_into_its_communities() -> None:
    areas = layers.area_features(inputs(), "S1")
    assert [(a["properties"]["id"], a["properties"]["is_drillable"]) for a in areas] == [
        ("C1", False),
        ("C2", False),
    ]


def test_a_scope_of_one_station_opens_at_that_station() -> None:
    areas = layers.area_features(inputs(COMMUNITIES[:2]), None)
    assert [a["properties"]["id"] for a in areas] == ["C1", "C2"]
    assert layers.area_features(inputs([]), None) == []


def test_gcj02_shifts_every_coordinate_and_wgs84_none() -> None:
    shape = layers.collection(layers.building_features(BUILDINGS))
    assert layers.in_datum(shape, "wgs84") == shape
    moved = layers.in_datum(shape, "gcj02")
    lon, lat = moved["features"][0]["geometry"]["coordinates"]
    assert (lat, lon) == pytest.approx(wgs84_to_gcj02(30.0005, 120.0005))
    polygon = layers.area_features(inputs(), "S1")[0]["geometry"]
    ring = layers.in_datum(polygon, "gcj02")["coordinates"][0]
    assert len(ring) == len(polygon["coordinates"][0])
    assert ring[0] != list(polygon["coordinates"][0][0])


def user(uid: int, jurisdiction: str) -> UserRead:
    return UserRead(
        id=uid, username=f"u{uid}", display_name=f"u{uid}", role="community_officer",
        jurisdiction_id=jurisdiction, is_active=True, created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip


def test_responders_nearest_first_busy_last() -> None:
    centres = jurisdiction_centres(TREE, COMMUNITIES)
    assert centres["S2"] == pytest.approx((30.05, 120.05))
    assert centres["S1"] == pytest.approx((30.005, 120.005))
    near, far, busy = user(1, "S1"), user(2, "S2"), user(3, "S1")
    ranked = rank_responders((30.0, 120.0), [far, busy, near], centres, {3: 1})
    assert [c.user_id for c in ranked] == [1, 2, 3]
    assert ranked[0].distance_m is not None and ranked[0].distance_m < ranked[1].distance_m
    assert not ranked[2].is_available
    unplaced = rank_responders(None, [far, near], centres, {})
    assert [c.distance_m for c in unplaced] == [None, None]
