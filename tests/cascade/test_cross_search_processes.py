"""Cross-node search between two `zhian serve` processes on loopback: a district officer
with a case asks the community (a child node behind its own link, which it polls) for a
plate's passages; the community's own node answers through the forwarder the node builds."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.cascade.test_three_processes import Served, parent_env, post, prepare, wait_for
from tests.ingest.test_durability import free_port
from zhian.kit.clock import SystemClock

pytestmark = pytest.mark.slow

PLATE = "浙A12345"
CASE = "A-2026-0077"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Served, Served, dict[str, str]]]:
    secret = {"ZHIAN_WEB__SECRET_KEY": secrets.token_urlsafe(32)}
    district_tokens = prepare(tmp_path / "district", devices=False, child="community-1")
    community_tokens = prepare(tmp_path / "community", devices=True)
    district = Served(tmp_path / "district", free_port(), secret)
    community = Served(
        tmp_path / "community",
        free_port(),
        secret | parent_env(district.url, "community-1", district_tokens["node"]),
    )
    tokens = {"officer": district_tokens["officer"], "camera": community_tokens["device:CAM1"]}
    try:
        district.start()
        community.start()
        yield district, community, tokens
    finally:
        community.stop()
        district.stop()


def test_a_district_officer_gets_the_communitys_passages(
    pair: tuple[Served, Served, dict[str, str]],
) -> None:
    district, community, tokens = pair
    now = SystemClock().now()
    passages = [
        {"type": "vehicle", "id": f"v{i}", "device_id": "CAM1",
         "time": (now - timedelta(minutes=30 - i)).isoformat(), "plate": PLATE,
         "plate_color": "blue", "vehicle_class": "car", "direction": "in"}
        for i in range(3)
    ]  # fmt: skip
    assert len(post(community, tokens["camera"], passages)) == 3
    officer = {"Authorization": f"Bearer {tokens['officer']}"}
    case = httpx.post(f"{district.url}/api/v1/cases", headers=officer, timeout=10,
                      json={"id": CASE, "category": "vehicle_theft",
                            "time_from": (now - timedelta(hours=2)).isoformat(),
                            "latitude": 30.27, "longitude": 120.15,
                            "jurisdiction_id": "J-STATION"})  # fmt: skip
    assert case.status_code == 201, case.text
    # The community registers with the district first: then it is a child to ask.
    wait_for(lambda: bool(district.get(tokens["officer"], "/api/v1/cascade/children")), 60,
             "the community never registered")  # fmt: skip
    time.sleep(1)  # the passages reach the community's store
    asked = httpx.post(f"{district.url}/api/v1/cascade/searches", headers=officer, timeout=10,
                       json={"plate": PLATE, "case_number": CASE, "reason": "车辆被盗，跨区追查",
                             "since": (now - timedelta(hours=1)).isoformat(),
                             "until": (now + timedelta(minutes=1)).isoformat()})  # fmt: skip
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]

    def answered() -> bool:
        read = district.get(tokens["officer"], f"/api/v1/cascade/searches/{request_id}")
        return bool(read["answers"][0]["status"] != "pending")

    wait_for(answered, 60, "the community never answered")
    [answer] = district.get(tokens["officer"], f"/api/v1/cascade/searches/{request_id}")["answers"]
    assert answer["status"] == "answered", answer
    assert [row["device_id"] for row in answer["rows"]] == ["CAM1"] * 3
    assert {row["subject_masked"] for row in answer["rows"]} == {"浙A***45"}
