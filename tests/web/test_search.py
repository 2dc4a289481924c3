"""Search (综合查询) and passage records: one box across the jurisdiction, plates found with a
one-character misread, people by exact ID number (audited, masked); passages by place,
time and direction, by subject only with a case number and a reason, exported formula-safe
and audited; another jurisdiction finds nothing."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.governance.factories import ZHANG_ID
from tests.web.session import sign_in
from tests.web.test_resident_reveal import (  # noqa: F401 (fixture)
    NAME,
    PASSWORD,
    assert_no_clear_identity,
    keyed_node,
)
from zhian.access.service import AccessService
from zhian.devices.service import DeviceService
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.web.app import create_app

from .conftest import FAST_HASHER

PLATE = "浙A12345"
MISREAD = "浙A12845"  # one character differs
OTHER_PLATE = "浙B67890"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
GATE = {
    "id": "GATE1",
    "kind": "vehicle_gate",
    "name": "North vehicle gate",
    "community_id": "C1",
    "building_id": None,
    "unit_id": None,
    "zone_id": None,
    "gateway_id": None,
    "latitude": 30.27,
    "longitude": 120.15,
    "is_enabled": True,
}


def _vehicle_event(event_id: str, at: Any, plate: str, direction: str) -> dict[str, Any]:
    return {
        "type": "vehicle",
        "id": event_id,
        "device_id": "GATE1",
        "time": at.isoformat(),
        "plate": plate,
        "plate_color": "blue",
        "vehicle_class": "car",
        "direction": direction,
    }


def _access_event(event_id: str, at: Any, ref: str) -> dict[str, Any]:
    return {
        "type": "access",
        "id": event_id,
        "device_id": "DOOR1",
        "time": at.isoformat(),
        "subject": {"kind": "resident", "ref": ref},
        "direction": "in",
        "method": "card",
        "result": "granted",
    }


@pytest.fixture
def node(keyed_node: Node, clock: ManualClock) -> Node:  # noqa: F811
    """R1 (张三丰) in H1 with car 浙A12345; passages at the gate and the unit door."""
    with keyed_node.db.session() as session:
        registry = RegistryService(session, identity=keyed_node.governance.sealer)
        for entity, rows in (
            ("devices", [GATE]),
            (
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
            ),
        ):
            report = registry.load_rows(entity, rows)
            assert report.rejected == 0, report.errors
        DeviceService(session).issue_tokens(["GATE1"], now=clock.now())
        AccessService(session, password_hasher=FAST_HASHER).create_user(
            "command", PASSWORD, role="command_centre", jurisdiction_id="J-CITY", now=clock.now()
        )
    keyed_node.refresh_directory()
    now = clock.now()
    events = [
        _vehicle_event("v-1", now - timedelta(hours=3), PLATE, "in"),
        _vehicle_event("v-2", now - timedelta(hours=2), OTHER_PLATE, "in"),
        _vehicle_event("v-3", now - timedelta(hours=1), PLATE, "out"),
        _access_event("a-1", now - timedelta(minutes=30), "R1"),
        _access_event("a-2", now - timedelta(minutes=20), "R9"),
    ]
    result = keyed_node.intake.submit_raw(
        [json.dumps(event).encode() for event in events],
        source="native",
        sender_id=None,
        content_type="application/json",
    )
    assert result.accepted == len(events), result.items
    while keyed_node.feeder.feed_once():
        pass
    return keyed_node


@pytest.fixture
def client(node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(node), follow_redirects=False) as test_client:
        yield test_client


def _csrf(client: TestClient, path: str) -> str:
    found = CSRF.search(client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def _search(client: TestClient, text: str) -> str:
    response = client.post("/search", data={"q": text, "csrf_token": _csrf(client, "/search")})
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.text


def _audit(node: Node, action: str) -> list[Any]:
    with node.db.session() as session:
        return list(node.governance.audit(session).search(action=action))


def test_a_plate_finds_its_vehicle_and_a_misread_finds_it_as_near(client: TestClient) -> None:
    sign_in(client, "station", PASSWORD)
    exact = _search(client, "浙a 12345")
    assert 'data-kind="plate"' in exact
    assert 'data-hit="V1" data-exact="yes"' in exact
    assert 'href="/archives/vehicles/V1?lang=zh">浙A***45' in exact
    assert PLATE not in exact.replace('value="浙a 12345"', "")
    near = _search(client, MISREAD)
    assert 'data-hit="V1" data-exact="no"' in near and "疑似误识" in near
    assert PLATE not in near


def test_an_id_number_finds_the_person_masked_and_the_look_up_is_audited(
    client: TestClient, node: Node
) -> None:
    sign_in(client, "station", PASSWORD)
    page = _search(client, ZHANG_ID)
    assert 'data-kind="person"' in page and 'href="/residents/R1?lang=zh">张*' in page
    assert NAME not in page
    entries = _audit(node, "search.person")
    assert len(entries) == 1 and entries[0].record_ids == ["R1"]
    assert entries[0].details["by"] == "id_number"
    assert ZHANG_ID not in json.dumps(entries[0].details)
    by_name = _search(client, NAME)
    assert 'href="/residents/R1?lang=zh">张*' in by_name
    assert len(_audit(node, "search.person")) == 2


def test_places_and_devices_are_found_by_name_and_number(client: TestClient) -> None:
    sign_in(client, "station", PASSWORD)
    assert 'href="/archives/communities/C1?lang=zh"' in _search(client, "Garden")
    assert 'href="/archives/buildings/C1-B1?lang=zh"' in _search(client, "Garden Estate Building")
    assert 'href="/archives/houses/H1?lang=zh"' in _search(client, "301")
    assert 'href="/devices/GATE1?lang=zh"' in _search(client, "vehicle gate")
    assert _audit(client.app.state.node, "search.person") == []  # type: ignore[attr-defined]


def test_another_jurisdiction_finds_nothing(client: TestClient) -> None:
    sign_in(client, "outsider", PASSWORD)
    for text in (PLATE, ZHANG_ID, "Garden", "GATE1"):
        page = _search(client, text)
        assert 'id="search-none"' in page and 'data-total="0"' in page, text


def test_the_grid_worker_has_no_search_and_no_menu_entry(client: TestClient) -> None:
    sign_in(client, "grid", PASSWORD)
    assert client.get("/search").status_code == 403
    assert 'href="/search' not in client.get("/workbench").text
    sign_in(client, "station", PASSWORD)
    assert 'href="/search?lang=zh"' in client.get("/workbench").text


def test_the_search_api_groups_hits_and_names_a_bad_query(client: TestClient) -> None:
    sign_in(client, "station", PASSWORD)
    token = _csrf(client, "/search")
    headers = {"X-CSRF-Token": token}
    found = client.post("/api/v1/search", json={"q": MISREAD}, headers=headers)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["total"] == 1
    assert body["groups"]["plate"][0] == {
        "kind": "plate",
        "id": "V1",
        "label": "浙A***45",
        "detail": "Garden Estate",
        "href": "/archives/vehicles/V1",
        "is_exact": False,
    }
    blank = client.post("/api/v1/search", json={"q": "   "}, headers=headers)
    assert blank.status_code == 400 and blank.json()["error"]["field"] == "q"


# --- passages ---------------------------------------------------------------------------


def _passages(client: TestClient, **form: Any) -> Any:
    data = {"csrf_token": _csrf(client, "/passages"), **form}
    return client.post("/passages", data=data)


def test_passages_list_the_jurisdiction_masked_and_filter_by_direction(
    client: TestClient,
) -> None:
    sign_in(client, "station", PASSWORD)
    page = client.get("/passages")
    assert page.status_code == 200
    assert page.text.count("data-event=") == 5
    assert PLATE not in page.text and "浙A***45" in page.text
    outward = _passages(client, direction="out", types=["vehicle"])
    assert outward.text.count("data-event=") == 1 and 'data-event="v-3"' in outward.text
    sign_in(client, "outsider", PASSWORD)
    assert 'id="pas-none"' in client.get("/passages").text


def test_a_subject_search_needs_a_case_number_and_is_audited(
    client: TestClient, node: Node
) -> None:
    sign_in(client, "station", PASSWORD)
    refused = _passages(client, plate=PLATE)
    assert refused.status_code == 400
    assert 'id="pas-error" data-field="case_number"' in refused.text
    assert len(_audit(node, "passages.subject_search.refused")) == 1
    found = _passages(client, plate=PLATE, case_number="A2026-0042", reason="theft inquiry")
    assert found.status_code == 200
    assert found.text.count("data-event=") == 2
    assert 'data-event="v-1"' in found.text and 'data-event="v-3"' in found.text
    entries = _audit(node, "passages.subject_search")
    assert entries[0].case_number == "A2026-0042" and entries[0].details["rows"] == 2
    assert PLATE not in json.dumps(entries[0].details)
    person = _passages(client, resident_id="R1", case_number="A2026-0042", reason="theft inquiry")
    assert person.text.count("data-event=") == 1 and 'data-event="a-1"' in person.text
    outside = _passages(client, resident_id="R404", case_number="A2026-0042", reason="for a test")
    assert outside.status_code == 404


def test_passages_export_to_csv_and_xlsx_audited(client: TestClient, node: Node) -> None:
    sign_in(client, "station", PASSWORD)
    data = {"csrf_token": _csrf(client, "/passages"), "types": ["vehicle"]}
    exported = client.post("/passages/export", data={**data, "format": "csv"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "type" and len(rows) == 4
    assert PLATE not in exported.content.decode("utf-8-sig")
    workbook = client.post("/passages/export", data={**data, "format": "xlsx"})
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(cells) == 4 and cells[1][0] == "vehicle"
    entries = _audit(node, "passages.export")
    assert {entry.details["format"] for entry in entries} == {"csv", "xlsx"}
    assert all(entry.details["rows"] == 3 for entry in entries)


def test_passages_export_needs_its_permission(client: TestClient) -> None:
    sign_in(client, "grid", PASSWORD)
    assert client.get("/passages").status_code == 403


def test_followed_vehicles_and_people_show_their_new_passages_on_the_workbench(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    sign_in(client, "station", PASSWORD)
    for page, kind, subject, reason in (
        ("/archives/vehicles/V1", "vehicle", "V1", ""),
        ("/residents/R1", "person", "R1", "A2026-0042 theft"),
    ):
        data = {"csrf_token": _csrf(client, page), "kind": kind, "subject_id": subject}
        followed = client.post("/follows", data={**data, "reason": reason})
        assert followed.status_code == 303
    assert "fol-passage" not in client.get("/workbench").text  # the old passages are not new
    clock.advance(timedelta(minutes=5))
    later = clock.now()
    result = node.intake.submit_raw(
        [
            json.dumps(_vehicle_event("v-9", later, PLATE, "in")).encode(),
            json.dumps(_vehicle_event("v-10", later, OTHER_PLATE, "in")).encode(),
            json.dumps(_access_event("a-9", later, "R1")).encode(),
        ],
        source="native",
        sender_id=None,
        content_type="application/json",
    )
    assert result.accepted == 3
    while node.feeder.feed_once():
        pass
    clock.advance(timedelta(minutes=1))
    bench = client.get("/workbench").text
    assert bench.count('class="fol-passage"') == 2
    assert "浙A***45" in bench and PLATE not in bench and "浙B***90" not in bench
