"""The archive pages: linked records, residents and plates masked, views audited, another
jurisdiction's records 404."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.web.session import sign_in
from tests.web.test_resident_reveal import (  # noqa: F401 (fixture)
    NAME,
    PASSWORD,
    assert_no_clear_identity,
    keyed_node,
)
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.web.app import create_app

PLATE = "浙A12345"


@pytest.fixture
def client(keyed_node: Node) -> Iterator[TestClient]:  # noqa: F811
    with keyed_node.db.session() as session:
        report = RegistryService(session, identity=keyed_node.governance.sealer).load_rows(
            "vehicles",
            [
                {
                    "id": "V1",
                    "plate": PLATE,
                    "plate_color": "blue",
                    "vehicle_class": "car",
                    "community_id": "C1",
                    "owner_id": "R1",
                }
            ],
        )
        assert report.rejected == 0, report.errors
    with TestClient(create_app(keyed_node), follow_redirects=False) as test_client:
        yield test_client


def test_the_community_archive_counts_and_links(client: TestClient) -> None:
    sign_in(client, "station", PASSWORD)
    page = client.get("/archives/communities/C1")
    assert page.status_code == 200
    assert "社区档案" in page.text and "Garden Estate" in page.text
    assert 'id="arc-residents">1 ' in page.text and 'id="arc-vehicles">1<' in page.text
    assert 'data-use="rented"' in page.text
    assert 'href="/archives/buildings/C1-B1?lang=zh"' in page.text
    assert page.text.count("data-device=") == 5
    assert 'data-device="OFF1" data-status="offline"' in page.text


def test_building_and_house_archives_mask_residents_and_plates(
    client: TestClient,
    keyed_node: Node,  # noqa: F811
) -> None:
    sign_in(client, "station", PASSWORD)
    building = client.get("/archives/buildings/C1-B1")
    assert building.status_code == 200
    assert 'href="/archives/houses/H1?lang=zh"' in building.text
    house = client.get("/archives/houses/H1")
    assert house.status_code == 200
    assert house.headers["Cache-Control"] == "no-store"
    assert 'href="/residents/R1?lang=zh">张*' in house.text  # the masked name links the person
    assert_no_clear_identity(house.text)
    assert PLATE not in house.text and "浙A***45" in house.text
    with keyed_node.db.session() as session:
        entries = keyed_node.governance.audit(session).search(action="house.view")
    assert entries and entries[0].record_ids == ["H1"]


def test_the_vehicle_archive_masks_plate_and_owner(client: TestClient) -> None:
    sign_in(client, "station", PASSWORD)
    page = client.get("/archives/vehicles/V1?lang=en")
    assert page.status_code == 200
    assert "Vehicle archive" in page.text and "浙A***45" in page.text
    assert PLATE not in page.text and NAME not in page.text
    assert 'href="/residents/R1?lang=en">张*' in page.text


@pytest.mark.parametrize(
    "url",
    [
        "/archives/communities/C1",
        "/archives/buildings/C1-B1",
        "/archives/houses/H1",
        "/archives/vehicles/V1",
    ],
)
def test_another_jurisdiction_sees_nothing(client: TestClient, url: str) -> None:
    assert client.get(url).status_code == 303  # to the sign-in page
    sign_in(client, "outsider", PASSWORD)
    response = client.get(url)
    assert response.status_code == 404
    assert PLATE not in response.text and "Garden Estate" not in response.text


def test_the_device_page_is_its_archive(client: TestClient) -> None:
    sign_in(client, "station", PASSWORD)
    retired = client.get("/devices/OFF1")
    assert retired.status_code == 200
    assert 'id="device-archive" data-status="offline"' in retired.text
    door = client.get("/devices/DOOR1").text
    assert 'data-status="online"' in door and 'id="device-events"' in door
    assert "暂无预警" in door  # no alert at this door yet
