"""Cross-node search relayed down the hierarchy, three levels in one process: a city user
asks the district; the district answers from its own store and passes the request on to
the community; the community's answer comes back up through the district, and the city
sees each node's answer with its node path. All three levels audit it; a refusal at the
community reaches the city with its reason; nothing is asked twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.cascade.parents import (
    CHILD_ID,
    PASSWORD,
    add_user,
    drain,
    issue_token,
    open_child,
    open_parent,
)
from tests.cascade.parents import parent_settings as link_settings
from tests.cascade.test_cross_search import (
    CASE,
    CHILD_DEVICES,
    OTHER_PLATE,
    PLATE,
    REASON,
    TamperingLink,
    audit,
    responder,
    vehicle,
)
from tests.web.session import sign_in
from zhian.cascade.forwarder import UpwardForwarder
from zhian.cascade.search_models import CrossSearchRequest
from zhian.cascade.settings import ParentSettings
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.web.app import create_app

DISTRICT_ID = "district-1"
DISTRICT_CAM = "DCAM1"  # a camera of the district's own, not at the community


@dataclass
class LossyAnswers(TamperingLink):
    """The link, losing the next `drop` search answers on the way up (not delivered)."""

    drop: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.drop and request.url.path.endswith("/search-answers"):
            self.drop -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return super().__call__(request)


@dataclass
class Levels:
    city: Node
    district: Node
    community: Node
    city_client: TestClient
    district_client: TestClient
    to_district: TamperingLink  # community → district
    to_city: LossyAnswers  # district → city
    up_city: UpwardForwarder
    up_district: UpwardForwarder
    clock: ManualClock
    city_token: str

    def ask(self, **changes: Any) -> httpx.Response:
        now = self.clock.now()
        body: dict[str, Any] = {
            "plate": PLATE,
            "case_number": CASE,
            "reason": REASON,
            "since": (now - timedelta(days=1)).isoformat(),
            "until": now.isoformat(),
            **changes,
        }
        return self.city_client.post(
            "/api/v1/cascade/searches",
            json=body,
            headers={"Authorization": f"Bearer {self.city_token}"},
        )

    def rounds(self, count: int = 3) -> None:
        """Each level's next polls, bottom up: requests go down one level a round and
        answers come up."""
        for _ in range(count):
            self.clock.advance(timedelta(seconds=11))
            drain(self.up_city)
            drain(self.up_district)

    def read(self, request_id: str) -> httpx.Response:
        return self.city_client.get(
            f"/api/v1/cascade/searches/{request_id}",
            headers={"Authorization": f"Bearer {self.city_token}"},
        )


def _forwarder(child: Node, link: TamperingLink, settings: ParentSettings) -> UpwardForwarder:
    return UpwardForwarder(
        db=child.db,
        log=child.log,
        images=child.images,
        clock=child.clock,
        settings=settings,
        alert_settings=child.settings.alerts,
        workspace=child.settings.workspace,
        log_dir=child.settings.log_dir,
        identity=child.governance.sealer,
        transport=link.transport,
        draw=lambda: 0.0,
        searches=responder(child, settings),
    )


def _passages(node: Node, raw: list[bytes]) -> None:
    result = node.intake.submit_raw(
        raw, source="native", sender_id=None, content_type="application/json"
    )
    assert result.accepted == len(raw), result.items
    assert node.feeder.wait_caught_up(30)


@pytest.fixture
def levels(tmp_path: Path, clock: ManualClock) -> Iterator[Levels]:
    city = open_parent(tmp_path / "city", clock)
    district = open_parent(tmp_path / "district", clock)
    community = open_child(tmp_path / "community", clock)
    for node in (city, district):
        add_user(node, clock, "installer", "integrator", "J-STATION")
        add_user(node, clock, "station", "station_officer", "J-STATION")
    forward = ("cascade.forward",)
    to_city = issue_token(city, clock, "installer", permissions=forward, name=DISTRICT_ID)
    to_district = issue_token(district, clock, "installer", permissions=forward, name=CHILD_ID)
    city_token = issue_token(city, clock, "station")
    # The district's own camera (in the community's estate, not at the community node).
    with district.db.session() as session:
        report = RegistryService(session, identity=district.governance.sealer).load_rows(
            "devices",
            [{"id": DISTRICT_CAM, "kind": "vehicle_gate", "name": "区卡口", "community_id": "C1",
              "latitude": 30.27, "longitude": 120.15, "is_enabled": True}],
        )  # fmt: skip
        assert report.rejected == 0, report.errors
    district.refresh_directory()
    now = clock.now()
    _passages(district, [vehicle("d1", DISTRICT_CAM, PLATE, now - timedelta(hours=4))])
    _passages(
        community,
        [vehicle(f"p{i}", d, PLATE, now - timedelta(hours=3 - i))
         for i, d in enumerate(CHILD_DEVICES)]
        + [vehicle("o1", "CAM1", OTHER_PLATE, now - timedelta(hours=2))],
    )  # fmt: skip
    try:
        with (
            TestClient(create_app(city)) as city_client,
            TestClient(create_app(district)) as district_client,
        ):
            case = city_client.post(
                "/api/v1/cases",
                headers={"Authorization": f"Bearer {city_token}"},
                json={"id": CASE, "category": "vehicle_theft",
                      "time_from": (now - timedelta(hours=5)).isoformat(),
                      "latitude": 30.27, "longitude": 120.15, "jurisdiction_id": "J-STATION"},
            )  # fmt: skip
            assert case.status_code == 201, case.text
            # No events up: what the city sees of the community comes from its answers.
            down = TamperingLink(district_client)
            up_district = _forwarder(community, down, link_settings(to_district, events="none"))
            city_settings = link_settings(to_city, node_id=DISTRICT_ID, events="none")
            to_city = LossyAnswers(city_client)
            up_city = _forwarder(district, to_city, city_settings)
            drain(up_district)  # registers: the district knows its child
            drain(up_city)
            yield Levels(city, district, community, city_client, district_client, down,
                         to_city, up_city, up_district, clock, city_token)  # fmt: skip
            up_district.stop()
            up_city.stop()
    finally:
        for node in (community, district, city):
            node.close()


def test_the_communitys_passages_reach_the_city_through_the_district(levels: Levels) -> None:
    asked = levels.ask()
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert [a["node_id"] for a in request["answers"]] == [DISTRICT_ID]

    levels.rounds()

    read = levels.read(request["id"])
    assert read.status_code == 200, read.text
    answers = {a["path"]: a for a in read.json()["answers"]}
    assert sorted(answers) == [DISTRICT_ID, f"{DISTRICT_ID}/{CHILD_ID}"]
    own, below = answers[DISTRICT_ID], answers[f"{DISTRICT_ID}/{CHILD_ID}"]
    assert (own["status"], own["passages"]) == ("answered", 1)
    assert [r["device_id"] for r in own["rows"]] == [DISTRICT_CAM]
    assert (below["node_id"], below["status"], below["passages"]) == (CHILD_ID, "answered", 3)
    assert [r["device_id"] for r in below["rows"]] == list(CHILD_DEVICES)
    assert PLATE not in read.text and "浙B" not in read.text

    # The city: the ask and the read, with the case and the reason.
    [ask_entry] = audit(levels.city, "cascade.search.ask")
    [read_entry] = audit(levels.city, "cascade.search.read")
    assert ask_entry.details["nodes"] == [DISTRICT_ID]
    assert read_entry.case_number == CASE and read_entry.details["passages"] == 4
    assert sorted(read_entry.details["nodes"]) == [CHILD_ID, DISTRICT_ID]
    # The district: its own answer and the relay, naming the city's user.
    [own_entry] = audit(levels.district, "cascade.search.answer")
    [relay] = audit(levels.district, "cascade.search.relay")
    for entry in (own_entry, relay):
        assert (entry.case_number, entry.purpose) == (CASE, REASON)
        assert entry.details["request_id"] == request["id"]
        assert entry.details["parent_username"] == "station"
    assert relay.details["nodes"] == [CHILD_ID] and own_entry.details["passages"] == 1
    # The community: the city's user, and the node the request came through.
    [child_entry] = audit(levels.community, "cascade.search.answer")
    assert (child_entry.case_number, child_entry.purpose) == (CASE, REASON)
    assert child_entry.details["parent_username"] == "station"
    assert child_entry.details["relay_path"] == [DISTRICT_ID]
    assert child_entry.details["request_id"] == relay.details["relay_request_id"]
    assert child_entry.details["passages"] == 3

    # Nothing asked twice, nothing sent up twice.
    levels.rounds()
    assert len(audit(levels.district, "cascade.search.relay")) == 1
    assert len(audit(levels.district, "cascade.search.answer")) == 1
    assert len(audit(levels.community, "cascade.search.answer")) == 1
    assert len(levels.read(request["id"]).json()["answers"]) == 2

    # The district's request is the city's, passed on: no district user sees it as theirs
    # (its "station" has the same user id as the city's asker).
    district_user = issue_token(levels.district, levels.clock, "station")
    mine = levels.district_client.get(
        "/api/v1/cascade/searches", headers={"Authorization": f"Bearer {district_user}"}
    )
    assert mine.status_code == 200 and mine.json() == []
    relayed = levels.district_client.get(
        f"/api/v1/cascade/searches/{relay.details['relay_request_id']}",
        headers={"Authorization": f"Bearer {district_user}"},
    )
    assert relayed.status_code == 404


def test_the_citys_page_shows_each_part_under_its_node_path(levels: Levels) -> None:
    request = levels.ask().json()
    levels.rounds()
    browser = TestClient(levels.city_client.app)
    sign_in(browser, "station", PASSWORD)
    progress = browser.get(f"/cascade/searches/{request['id']}/progress")
    assert progress.status_code == 200, progress.text
    assert f"{DISTRICT_ID} › {CHILD_ID}" in progress.text
    assert f'data-path="{DISTRICT_ID}/{CHILD_ID}" data-status="answered"' in progress.text
    opened = browser.get(f"/cascade/searches/{request['id']}/answers/{CHILD_ID}")
    assert opened.status_code == 200 and len(re.findall(r'<tr data-device="', opened.text)) == 3
    [read] = audit(levels.city, "cascade.search.read")
    assert read.details["nodes"] == [CHILD_ID]


def test_a_refusal_at_the_community_reaches_the_city_with_its_reason(levels: Levels) -> None:
    # Someone on the community's link widens the request: the community refuses it.
    levels.to_district.alter = {"jurisdiction_id": "J-CITY"}
    request = levels.ask().json()
    levels.rounds()

    answers = {a["path"]: a for a in levels.read(request["id"]).json()["answers"]}
    below = answers[f"{DISTRICT_ID}/{CHILD_ID}"]
    assert below["status"] == "refused" and "signature" in below["refusal"]
    assert below["rows"] == [] and answers[DISTRICT_ID]["status"] == "answered"
    [refusal] = audit(levels.community, "cascade.search.refuse")
    assert refusal.case_number == CASE and "signature" in refusal.details["refusal"]
    assert audit(levels.community, "cascade.search.answer") == []


def test_the_expiry_is_inherited_and_an_unanswered_part_times_out_at_the_city(
    levels: Levels,
) -> None:
    levels.to_district.hold = True  # the community hears of nothing
    request = levels.ask(expires_in_minutes=5).json()
    levels.rounds()
    answers = {a["path"]: a["status"] for a in levels.read(request["id"]).json()["answers"]}
    assert answers == {DISTRICT_ID: "answered", f"{DISTRICT_ID}/{CHILD_ID}": "pending"}
    [relay] = audit(levels.district, "cascade.search.relay")
    with levels.district.db.session() as session:
        passed = session.get(CrossSearchRequest, relay.details["relay_request_id"])
        assert passed is not None
        assert passed.expires_at == datetime.fromisoformat(request["expires_at"])

    levels.clock.advance(timedelta(minutes=6))
    levels.to_district.hold, levels.to_district.release = False, True
    levels.rounds()  # the held request arrives late: refused at the community, and the
    # refusal is not taken at the city either (the part timed out there)
    answers = {a["path"]: a["status"] for a in levels.read(request["id"]).json()["answers"]}
    assert answers == {DISTRICT_ID: "answered", f"{DISTRICT_ID}/{CHILD_ID}": "timed_out"}
    assert audit(levels.community, "cascade.search.answer") == []


def test_a_childs_answer_waits_until_the_city_knows_the_district_passed_the_request_on(
    levels: Levels,
) -> None:
    # The district's own answer (which names the community) is lost twice on the way up;
    # meanwhile the community answers: its answer is not dropped, it goes up once the city
    # expects it.
    levels.to_city.drop = 2
    request = levels.ask().json()
    levels.rounds(2)
    assert levels.to_city.drop == 0
    parts = {a["path"]: a["status"] for a in levels.read(request["id"]).json()["answers"]}
    assert parts == {DISTRICT_ID: "pending"}
    levels.rounds(2)
    answers = {a["path"]: a for a in levels.read(request["id"]).json()["answers"]}
    assert answers[f"{DISTRICT_ID}/{CHILD_ID}"]["passages"] == 3
    assert answers[DISTRICT_ID]["passages"] == 1
    assert len(audit(levels.district, "cascade.search.relay")) == 1  # passed on once
    assert len(audit(levels.community, "cascade.search.answer")) == 1
