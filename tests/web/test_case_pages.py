"""The case pages: list and enter (Chinese by default, English on request), edit, the
alert page's way to a case, candidate links decided by an analyst, the models' history."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.cases.factories import simulated_cases
from tests.web.conftest import log_in
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertSummary
from zhian.cases.geo import wgs84_to_gcj02
from zhian.cases.service import CaseService
from zhian.governance.tokens import Tokeniser
from zhian.node import Node

PLACE = (30.2590, 120.1485)


def form(case_id: str, **extra: str) -> dict[str, str]:
    lat, lon = wgs84_to_gcj02(*PLACE)
    values = {
        "id": case_id, "category": "burglary", "time_from": "2026-11-19T02:00",
        "time_to": "2026-11-19T03:00", "latitude": f"{lat:.7f}", "longitude": f"{lon:.7f}",
        "crs": "GCJ02", "jurisdiction_id": "J-STATION", "status": "reported",
        "mo_entry_method": "撬锁",
    }  # fmt: skip
    values.update(extra)
    return values


def test_enter_list_and_edit_a_case(client: TestClient) -> None:
    log_in(client, "station")
    page = client.get("/cases")
    assert page.status_code == 200 and "案件管理" in page.text and 'id="case-empty"' in page.text
    assert "Cases" in client.get("/cases", params={"lang": "en"}).text
    created = client.post("/cases", data=form("P-1"))
    assert created.status_code == 303 and created.headers["location"].startswith("/cases/P-1")
    detail = client.get("/cases/P-1")
    assert "30.259000" in detail.text and "120.148500" in detail.text  # GCJ-02 converted back
    assert 'id="case-no-model"' in detail.text
    edited = client.post("/cases/P-1", data={"category": "burglary", "status": "closed",
                                              "mo_entry_method": "技术开锁"})  # fmt: skip
    assert edited.status_code == 303
    assert "技术开锁" in client.get("/cases/P-1").text
    assert 'data-case-id="P-1"' in client.get("/cases").text
    # The status reads by name in the page's language, never as its code.
    assert "<td>Closed</td>" in client.get("/cases").text  # English, chosen above
    closed = client.get("/cases/P-1", params={"lang": "zh"}).text
    assert "<dd>已结案" in closed and ">已受理</option>" in closed
    listed = client.get("/cases").text
    assert "<td>已结案</td>" in listed and "<td>closed</td>" not in listed


def test_a_bad_form_names_its_field_and_others_see_nothing(client: TestClient) -> None:
    log_in(client, "station")
    bad = client.post("/cases", data=form("P-2", time_from="not a time"))
    assert bad.status_code == 400 and 'data-field="time_from"' in bad.text
    assert client.post("/cases", data=form("P-2")).status_code == 303
    log_in(client, "outsider")
    assert client.get("/cases/P-2").status_code == 404
    assert 'data-case-id="P-2"' not in client.get("/cases").text


def test_the_alert_page_leads_a_confirmed_alert_to_a_case(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "command")
    assert 'id="make-case"' not in client.get(f"/alerts/{fire.id}").text  # not signed yet
    assert client.post(f"/api/v1/alerts/{fire.id}/sign", json={}).status_code == 200
    assert 'id="make-case"' in client.get(f"/alerts/{fire.id}").text
    made = client.post("/cases/from-alert", data={"alert_id": str(fire.id), "category": "assault"})
    assert made.status_code == 303, made.text
    assert f"#{fire.id}" in client.get(made.headers["location"]).text


def test_an_analyst_decides_a_candidate_and_rolls_back(client: TestClient, node: Node) -> None:
    ring = node.governance.ring
    assert ring is not None
    with node.db.session() as session:
        cases = CaseService(session, clock=node.clock, settings=node.settings.cases,
                            scope=JurisdictionScope.unscoped(),
                            tokeniser=Tokeniser(ring.token_key))  # fmt: skip
        for case in simulated_cases(days=120, series=10):
            cases.create(case.model_copy(update={"jurisdiction_id": "J-STATION"}),
                         user_id=None, source="sim")  # fmt: skip
        some = cases.list_cases(limit=20)[10].id
    log_in(client, "analyst")
    assert client.post("/linkage/models").status_code == 303
    assert client.post("/linkage/models").status_code == 303
    history = client.get("/linkage/models").text
    assert 'data-version="2" data-active="1"' in history
    assert client.post("/linkage/models/1/activate").status_code == 303
    assert 'data-version="1" data-active="1"' in client.get("/linkage/models").text
    # Versions compared on the same pairs, on the page and through the API.
    compared = client.get("/linkage/models", params={"compare": [1, 2]})
    assert compared.status_code == 200 and 'id="linkage-comparison"' in compared.text
    assert len(re.findall(r'data-auc="[01]\.\d{3}"', compared.text)) == 2
    api = client.get("/api/v1/linkage/models/compare", params={"versions": [1, 2]})
    assert api.status_code == 200, api.text
    assert [v["id"] for v in api.json()["versions"]] == [1, 2]
    alone = client.get("/linkage/models", params={"compare": [2]})
    assert alone.status_code == 400 and 'data-field="versions"' in alone.text
    assert client.get("/api/v1/linkage/models/compare", params={"versions": [2]}).status_code == 422
    # A number past the database's integer range is refused by name, never asked of it.
    huge = client.get("/api/v1/linkage/models/compare", params={"versions": [1, 2**63]})
    assert huge.status_code == 422 and "versions" in huge.text
    assert client.get("/linkage/models", params={"compare": [1, 2**63]}).status_code in (400, 422)
    detail = client.get(f"/cases/{some}").text
    other = detail.split('data-candidate="')[1].split('"')[0]
    decided = client.post(f"/cases/{some}/links/{other}", data={"decision": "accept"})
    assert decided.status_code == 303
    after = client.get(f"/cases/{some}").text
    assert f'data-candidate="{other}" data-decision="accepted"' in after
    assert f'data-series-case="{other}"' in after
