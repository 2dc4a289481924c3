"""The map's layers: each scoped to the user's jurisdiction and guarded by the permission of
what it shows; the drill-down's counts; the nearest available responders; MBTiles tiles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ingest.factories import load_master_data
from tests.maps.test_mbtiles import PNG, write_mbtiles
from zhian.access.service import AccessService
from zhian.alerts.schemas import AlertSummary
from zhian.config import load_settings
from zhian.kit.clock import ManualClock
from zhian.maps.coords import wgs84_to_gcj02
from zhian.node import Node
from zhian.web.app import create_app

from .conftest import FAST_HASHER, PASSWORD, log_in

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def features(client: TestClient, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "FeatureCollection"
    found: list[dict[str, Any]] = body["features"]
    return found


def test_the_map_page_offers_only_the_layers_the_user_may_see(client: TestClient) -> None:
    log_in(client, "grid")
    page = client.get("/map")
    assert page.status_code == 200
    assert 'data-layer="buildings"' in page.text and 'data-layer="devices"' in page.text
    assert 'data-layer="zones"' not in page.text  # a grid worker holds no crowd.view
    assert "vendor/leaflet/leaflet.js" in page.text and "一张图" in page.text
    assert client.get("/api/v1/map/zones").status_code == 403
    english = client.get("/map?lang=en")
    assert "<h1>Map</h1>" in english.text and "Buildings</label>" in english.text


def test_devices_carry_their_status_and_stay_in_scope(client: TestClient) -> None:
    log_in(client, "station")
    by_id = {f["properties"]["id"]: f for f in features(client, "/api/v1/map/devices")}
    assert set(by_id) == {"G1", "DOOR1", "CAM1", "CNT1", "OFF1"}
    assert by_id["OFF1"]["properties"]["status"] == "offline"  # disabled
    assert by_id["DOOR1"]["properties"]["status"] == "online"
    assert by_id["DOOR1"]["geometry"]["coordinates"] == [120.15, 30.27]  # [lon, lat]
    client.cookies.clear()
    log_in(client, "outsider")
    assert features(client, "/api/v1/map/devices") == []
    assert features(client, "/api/v1/map/buildings") == []
    assert features(client, "/api/v1/map/zones") == []


def test_anonymous_callers_get_nothing(client: TestClient) -> None:
    for url in ("/api/v1/map/areas", "/api/v1/map/devices", "/api/v1/map/alerts"):
        assert client.get(url).status_code == 401


def test_the_drill_down_counts_devices_alerts_and_buildings(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "command")
    response = client.get("/api/v1/map/areas")
    body = response.json()
    # The city holds one station with communities: the first view opens at that station.
    assert body["parent_id"] == "J-STATION"
    assert [step["id"] for step in body["trail"]] == ["J-CITY", "J-STATION"]
    (area,) = body["features"]
    props = area["properties"]
    assert props["id"] == "C1" and props["level"] == "community"
    assert props["devices"] == 5 and props["devices_online"] == 4
    assert props["online_rate_pct"] == 80.0
    assert props["open_alerts"] == 1 and props["buildings"] == 1
    assert props["community_ids"] == ["C1"]
    assert area["geometry"]["type"] == "Polygon"
    up = client.get("/api/v1/map/areas", params={"parent": "J-CITY"}).json()
    (station,) = up["features"]
    assert station["properties"]["id"] == "J-STATION"
    assert station["properties"]["is_drillable"] is True
    assert station["properties"]["open_alerts"] == 1


def test_an_area_outside_the_scope_is_not_found(client: TestClient) -> None:
    log_in(client, "outsider")
    response = client.get("/api/v1/map/areas", params={"parent": "J-STATION"})
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "parent"


def test_open_alerts_sit_at_their_device(client: TestClient, fire: AlertSummary) -> None:
    log_in(client, "station")
    (alert,) = features(client, "/api/v1/map/alerts")
    assert alert["properties"]["id"] == fire.id
    assert alert["properties"]["tier"] == "major"
    assert alert["geometry"]["coordinates"] == [120.15, 30.27]
    client.cookies.clear()
    log_in(client, "outsider")
    assert features(client, "/api/v1/map/alerts") == []


def _sign(client: TestClient, alert_id: int) -> None:
    token = CSRF.search(client.get(f"/alerts/{alert_id}").text)
    assert token is not None
    response = client.post(f"/alerts/{alert_id}/actions/sign", data={"csrf_token": token.group(1)})
    assert response.status_code == 303, response.text


def test_the_nearest_available_responder_comes_first(
    client: TestClient, node: Node, fire: AlertSummary
) -> None:
    log_in(client, "command")
    url = f"/api/v1/map/alerts/{fire.id}/responders"
    before = client.get(url).json()
    assert before["state"] == "new"
    names = {r["display_name"] for r in before["responders"]}
    assert names == {"测试·station", "测试·grid"}  # the alert's station, not the other one
    assert all(r["distance_m"] == 0.0 and r["is_available"] for r in before["responders"])
    _sign(client, fire.id)
    grid = next(r for r in before["responders"] if r["display_name"] == "测试·grid")
    token = CSRF.search(client.get(f"/alerts/{fire.id}").text)
    assert token is not None
    dispatched = client.post(
        f"/alerts/{fire.id}/actions/dispatch",
        data={"csrf_token": token.group(1), "assignee_id": str(grid["user_id"])},
    )
    assert dispatched.status_code == 303
    after = client.get(url).json()["responders"]
    assert after[0]["display_name"] == "测试·station" and after[0]["is_available"]
    assert after[-1]["display_name"] == "测试·grid" and after[-1]["open_assignments"] == 1
    client.cookies.clear()
    log_in(client, "grid")  # may handle, may not dispatch
    assert client.get(url).status_code == 403


def test_without_mbtiles_the_node_serves_no_tiles(client: TestClient) -> None:
    log_in(client, "station")
    assert client.get("/map/tiles/1/0/0").status_code == 404
    assert 'data-base="geometry"' in client.get("/map").text


@pytest.fixture
def tiled_client(tmp_path: Path, clock: ManualClock) -> Iterator[TestClient]:
    tiles = write_mbtiles(tmp_path / "city.mbtiles", {(3, 5, 4): PNG})
    settings = load_settings(
        tmp_path / "ws",
        web={"secret_key": "m" * 40},
        map={"mbtiles_path": str(tiles), "tile_datum": "gcj02"},
    )
    with Node.open(settings, clock, feed=False) as node:
        load_master_data(node, now=clock.now())
        with node.db.session() as session:
            AccessService(session, password_hasher=FAST_HASHER).create_user(
                "command", PASSWORD, role="command_centre", jurisdiction_id="J-CITY",
                display_name="command", now=clock.now(),
            )  # fmt: skip
        with TestClient(create_app(node), follow_redirects=False) as test_client:
            yield test_client


def test_an_mbtiles_file_is_served_by_xyz_address(tiled_client: TestClient) -> None:
    assert tiled_client.get("/map/tiles/3/5/3").status_code == 303  # to the sign-in page
    log_in(tiled_client, "command")
    tile = tiled_client.get("/map/tiles/3/5/3")  # XYZ row 3 = TMS row 8 - 1 - 3 = 4
    assert tile.status_code == 200 and tile.content == PNG
    assert tile.headers["content-type"] == "image/png"
    assert tiled_client.get("/map/tiles/3/5/4").status_code == 204
    assert tiled_client.get("/map/tiles/3/9/0").status_code == 404
    assert '"tile_url": "/map/tiles/{z}/{x}/{y}"' in tiled_client.get("/map").text
    # GCJ-02 tiles: the layers arrive shifted onto them (a few hundred metres in Hangzhou).
    (door, *_) = features(tiled_client, "/api/v1/map/devices")
    longitude, latitude = door["geometry"]["coordinates"]
    assert (latitude, longitude) == pytest.approx(wgs84_to_gcj02(30.27, 120.15))
    assert (latitude, longitude) != (30.27, 120.15)
