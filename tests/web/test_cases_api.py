"""The case API: entered within the user's jurisdiction, coordinates converted, a
confirmed alert turned into a case, linkage trained and decided on by an analyst."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.cases.factories import simulated_cases
from tests.web.conftest import log_in
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertSummary
from zhian.cases.geo import haversine_m, wgs84_to_gcj02
from zhian.cases.service import CaseService
from zhian.governance.tokens import Tokeniser
from zhian.node import Node

PLACE = (30.2590, 120.1485)


def new_case(case_id: str) -> dict[str, object]:
    lat, lon = wgs84_to_gcj02(*PLACE)
    return {
        "id": case_id,
        "category": "burglary",
        "time_from": "2026-11-19T02:00:00+08:00",
        "time_to": "2026-11-19T04:00:00+08:00",
        "latitude": lat,
        "longitude": lon,
        "jurisdiction_id": "J-STATION",
        "mo": {"entry_method": ["撬锁"]},
    }


def test_cases_are_entered_and_read_within_the_jurisdiction(client: TestClient) -> None:
    log_in(client, "station")
    created = client.post("/api/v1/cases", params={"crs": "GCJ02"}, json=new_case("A-1"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert float(haversine_m(*PLACE, body["latitude"], body["longitude"])) < 0.1
    assert body["time_of_day"] == "night"
    changed = client.patch("/api/v1/cases/A-1", json={"status": "investigating"})
    assert changed.status_code == 200 and changed.json()["status"] == "investigating"
    log_in(client, "outsider")
    assert client.get("/api/v1/cases/A-1").status_code == 404
    assert client.get("/api/v1/cases").json() == []
    refused = client.post("/api/v1/cases", json=new_case("A-2"))
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "jurisdiction_id"


def test_a_confirmed_alert_becomes_a_case(client: TestClient, fire: AlertSummary) -> None:
    log_in(client, "command")  # a major alert: the command centre's to sign
    body = {"category": "dispute"}
    early = client.post(f"/api/v1/cases/from-alert/{fire.id}", json=body)
    assert early.status_code == 409  # not signed for yet
    assert client.post(f"/api/v1/alerts/{fire.id}/sign", json={}).status_code == 200
    created = client.post(f"/api/v1/cases/from-alert/{fire.id}", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["alert_id"] == fire.id
    assert created.json()["jurisdiction_id"] == fire.jurisdiction_id


def test_an_analyst_trains_and_decides_links(client: TestClient, node: Node) -> None:
    ring = node.governance.ring
    assert ring is not None
    with node.db.session() as session:
        cases = CaseService(session, clock=node.clock, settings=node.settings.cases,
                            scope=JurisdictionScope.unscoped(),
                            tokeniser=Tokeniser(ring.token_key))  # fmt: skip
        for case in simulated_cases(days=120, series=10):
            cases.create(case.model_copy(update={"jurisdiction_id": "J-STATION"}),
                         user_id=None, source="sim")  # fmt: skip
    log_in(client, "station")
    assert client.post("/api/v1/linkage/models").status_code == 403
    log_in(client, "analyst")
    trained = client.post("/api/v1/linkage/models")
    assert trained.status_code == 201, trained.text
    assert trained.json()["auc"] is not None
    some = client.get("/api/v1/cases", params={"limit": 50}).json()[10]["id"]
    [top] = client.get(f"/api/v1/cases/{some}/candidates", params={"limit": 1}).json()
    assert top["reasons"] and 0 <= top["probability"] <= 1
    note = "same MO as 李四's burglary, see statement 17"
    decided = client.post(f"/api/v1/cases/{some}/links/{top['case']['id']}",
                          json={"accept": True, "note": note})  # fmt: skip
    assert decided.status_code == 200, decided.text
    assert decided.json()["note"] == note
    # At rest the note is sealed: no column of the link holds its text.
    with node.db.engine.connect() as connection:
        [row] = connection.execute(text("SELECT * FROM case_links")).all()
    assert all("李四".encode() not in (v.encode() if isinstance(v, str) else v)
               for v in row if isinstance(v, str | bytes))  # fmt: skip
    # A permitted role reads it back, opened; the read of the notes is audited.
    [link] = client.get("/api/v1/cases/" + some + "/links").json()
    assert link["decided_by"] == decided.json()["decided_by"] and link["note"] == note
    with node.db.session() as session:
        [entry] = node.governance.audit(session).search(action="case.links_read")
    assert entry.record_ids == [some] and entry.record_type == "case"
    series = client.get(f"/api/v1/cases/{some}/series").json()
    assert {c["id"] for c in series} == {some, top["case"]["id"]}
    versions = client.get("/api/v1/linkage/models").json()
    assert [v["is_active"] for v in versions] == [True]
