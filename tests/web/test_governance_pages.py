"""The governance pages: the auditor's log (search, export, chain status), data quality,
the quarantine (scoped, replayable), masked personal data on the status page with audited
unmasked reads, and injection attempts against all of them."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.web.conftest import FAST_HASHER, PASSWORD, log_in
from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.audit.service import Actor, AuditEntryRead
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService

# Scoped users beside the shared ones of tests/web/conftest.py.
MORE_USERS = {
    "auditor": ("auditor", "J-STATION"),
    "admin": ("admin", None),
    "integrator": ("integrator", "J-STATION"),
    "far_integrator": ("integrator", "J-OTHER"),
}
SQL_ATTEMPTS = ("' OR '1'='1", "1; DROP TABLE audit_entries; --", "x' UNION SELECT * FROM users --")


@pytest.fixture
def users(node: Node, clock: ManualClock) -> None:
    with node.db.session() as session:
        access = AccessService(session, password_hasher=FAST_HASHER)
        for username, (role, place) in MORE_USERS.items():
            access.create_user(
                username, PASSWORD, role=role, jurisdiction_id=place, now=clock.now()
            )


def vehicle(event_id: str, moment: datetime, plate: str, device_id: str = "CAM1") -> bytes:
    return json.dumps(
        {
            "type": "vehicle",
            "id": event_id,
            "device_id": device_id,
            "time": moment.isoformat(),
            "plate": plate,
            "plate_color": "blue",
            "vehicle_class": "car",
            "direction": "in",
        }
    ).encode()


def send(node: Node, *items: bytes) -> None:
    node.intake.submit_raw(
        list(items), source="native", sender_id=None, content_type="application/json"
    )
    assert node.feeder.wait_caught_up(timeout_seconds=10)


def audit_entries(node: Node, **filters: Any) -> list[AuditEntryRead]:
    with node.db.session() as session:
        return node.governance.audit(session).search(**filters)


# --- audit log ------------------------------------------------------------------------


def test_auditor_searches_by_person_record_and_time_and_sees_the_chain_verified(
    client: TestClient, node: Node, users: None
) -> None:
    with node.db.session() as session:
        audit = node.governance.audit(session)
        audit.record(Actor.user(2), "resident.reveal", record_type="resident", record_ids=["R1"])
        audit.record(
            Actor.user(3),
            "watchlist.create",
            record_type="watchlist_entry",
            record_ids=["7"],
            purpose="{{7*7}} <script>x</script>",
        )
    log_in(client, "auditor")

    page = client.get("/audit")
    assert page.status_code == 200
    assert 'id="chain-status" data-ok="true"' in page.text
    assert 'data-action="resident.reveal"' in page.text and "查看居民信息原文" in page.text
    assert 'data-action="watchlist.create"' in page.text and "新增布控" in page.text
    # Stored text shows literally: no template evaluation, no markup.
    assert "{{7*7}}" in page.text and "49" not in page.text.split("audit-entries")[1][:2000]
    assert "<script>x</script>" not in page.text

    by_record = client.get("/audit", params={"record": "R1"})
    assert 'data-action="resident.reveal"' in by_record.text
    assert 'data-action="watchlist.create"' not in by_record.text
    by_person = client.get("/audit", params={"actor": "station"})  # a username
    assert 'data-action="resident.reveal"' in by_person.text
    assert 'data-action="watchlist.create"' not in by_person.text
    later = client.get("/audit", params={"since": "2099-01-01T00:00"})
    assert 'id="audit-empty"' in later.text
    bad_time = client.get("/audit", params={"since": "yesterday"})
    assert bad_time.status_code == 400 and 'data-field="since"' in bad_time.text


def test_a_row_edited_behind_the_application_shows_the_chain_broken(
    client: TestClient, node: Node, users: None
) -> None:
    with node.db.session() as session:
        audit = node.governance.audit(session)
        for n in range(3):
            audit.record(Actor.user(2), "resident.reveal", record_ids=[f"R{n}"])
    with node.db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET action = 'nothing' WHERE id = 2"))
    log_in(client, "auditor")
    page = client.get("/audit")
    assert 'data-ok="false"' in page.text
    assert "#2" in page.text.split('id="chain-problems"')[1]


@pytest.mark.parametrize("attempt", SQL_ATTEMPTS)
def test_sql_in_every_audit_filter_is_only_a_value(
    client: TestClient, node: Node, users: None, attempt: str
) -> None:
    with node.db.session() as session:
        node.governance.audit(session).record(Actor.user(2), "resident.reveal")
    log_in(client, "auditor")
    for name in ("actor", "action", "record_type", "record", "case_number"):
        page = client.get("/audit", params={name: attempt})
        assert page.status_code == 200, name
        assert 'id="audit-empty"' in page.text, name
    assert len(audit_entries(node, action="resident.reveal")) == 1  # the table is intact


def test_export_neutralises_formulas_and_is_itself_audited(
    client: TestClient, node: Node, users: None
) -> None:
    dangerous = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", " =1+1"]
    with node.db.session() as session:
        audit = node.governance.audit(session)
        for n, value in enumerate(dangerous):
            audit.record(
                Actor.user(2),
                "resident.reveal",
                record_ids=[f"R{n}"],
                purpose=value,
                case_number="A2026-0042",
            )
    log_in(client, "auditor")
    export = client.get("/audit/export.csv", params={"case_number": "A2026-0042"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert sorted(row["purpose"] for row in rows) == sorted("'" + value for value in dangerous)
    assert all(row["purpose"].startswith("'") for row in rows)

    [trace] = audit_entries(node, action="audit.export")
    assert trace.case_number == "A2026-0042"
    assert trace.details["rows"] == len(dangerous)
    assert len(trace.record_ids) == len(dangerous)


def test_only_auditors_read_the_log(client: TestClient, users: None) -> None:
    log_in(client, "admin")
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


# --- data quality ---------------------------------------------------------------------


def test_quality_page_shows_worst_sources_first_within_the_jurisdiction(
    client: TestClient, node: Node, clock: ManualClock, users: None
) -> None:
    now = clock.now()
    send(
        node,
        *(vehicle(f"ok{n}", now, "浙A12345") for n in range(2)),
        vehicle("foreign", now, "B-AB 1234"),  # a German plate: kept, as kind other
        vehicle("bad1", now, "not a plate!"),
        json.dumps(
            {
                "type": "heartbeat",
                "id": "h1",
                "device_id": "DOOR1",
                "time": now.isoformat(),
                "status": "ok",
            }
        ).encode(),
    )
    log_in(client, "station")
    page = client.get("/quality")
    assert page.status_code == 200
    rows = page.text.split('id="quality-sources"')[1]
    assert rows.index('data-device="CAM1"') < rows.index('data-device="DOOR1"')  # worst first
    assert "75.0%" in rows  # CAM1: 3 of 4 valid, below the 98 % goal
    assert 'id="below-goal" class="breach">1 / 2' in page.text
    assert 'id="other-plates"' not in page.text  # a whole-node figure: unscoped users only
    assert 'id="registry-other-plates"' not in page.text
    log_in(client, "admin")
    assert 'id="other-plates">1<' in client.get("/quality").text
    assert 'id="registry-other-plates">0<' in client.get("/quality").text
    # A registered vehicle with a foreign plate: kept at import, and counted here.
    with node.db.session() as session:
        report = RegistryService(session, identity=node.governance.require_sealer()).load_rows(
            "vehicles",
            [{"id": "VX", "plate": "B-AB 1234", "plate_color": "other",
              "vehicle_class": "car", "community_id": "C1"}],
        )  # fmt: skip
        assert report.inserted == 1, report.errors
    assert 'id="registry-other-plates">1<' in client.get("/quality").text

    log_in(client, "outsider")  # a station officer of J-OTHER sees none of it
    other = client.get("/quality")
    assert 'data-device="CAM1"' not in other.text and 'id="quality-empty"' in other.text
    assert client.get("/quality", params={"hours": "0 OR 1=1"}).status_code == 400


# --- quarantine -------------------------------------------------------------------------


def test_quarantine_is_scoped_filterable_and_shows_the_reason_and_masked_raw_item(
    client: TestClient, node: Node, clock: ManualClock, users: None
) -> None:
    send(node, vehicle("bad1", clock.now(), "XX12345;"), vehicle("bad2", clock.now(), "粤B12345!"))
    log_in(client, "integrator")
    page = client.get("/quarantine", params={"reason": "invalid"})
    assert page.status_code == 200
    assert page.text.count('data-reason="invalid"') == 2
    assert "<code>plate</code>" in page.text and "only letters and digits" in page.text
    assert "粤B***45" in page.text  # the raw item, plate masked

    log_in(client, "far_integrator")  # same role, other jurisdiction: nothing of it
    far = client.get("/quarantine")
    assert 'id="quarantine-empty"' in far.text and "XX12345" not in far.text
    replay = client.post("/quarantine/replay", data={"reason": "invalid"})
    assert replay.status_code == 303
    assert "replayed=0" in replay.headers["location"]

    for attempt in SQL_ATTEMPTS:
        for name in ("reason", "device", "source"):
            response = client.get("/quarantine", params={name: attempt})
            assert response.status_code == 200 and 'id="quarantine-empty"' in response.text


def test_replay_after_a_fix_accepts_the_item_and_is_audited(
    client: TestClient, node: Node, clock: ManualClock, users: None
) -> None:
    send(node, vehicle("v1", clock.now(), "浙A12345", device_id="GATE9"))
    log_in(client, "admin")
    [item] = node.quarantine.list_held(
        reason_code="unknown_device", scope=JurisdictionScope.unscoped()
    )
    page = client.get("/quarantine", params={"device": "GATE9"})
    assert f'data-item-id="{item.id}"' in page.text

    with node.db.session() as session:  # the fix: the gate is registered
        report = RegistryService(session).load_rows(
            "devices",
            [
                {
                    "id": "GATE9",
                    "kind": "vehicle_gate",
                    "name": "East gate",
                    "community_id": "C1",
                    "latitude": 30.27,
                    "longitude": 120.15,
                }
            ],
        )
        assert report.rejected == 0, report.errors
    replay = client.post("/quarantine/replay", data={"ids": [str(item.id)]})
    assert replay.status_code == 303
    assert "accepted=1" in replay.headers["location"]
    assert (
        node.quarantine.list_held(reason_code="unknown_device", scope=JurisdictionScope.unscoped())
        == []
    )
    [trace] = audit_entries(node, action="quarantine.replay")
    assert trace.record_ids == [str(item.id)] and trace.details["accepted"] == 1


def test_quarantine_raw_input_is_masked_unless_revealed_with_a_purpose_and_audited(
    client: TestClient, node: Node, clock: ManualClock, users: None
) -> None:
    # A registered camera's passage refused for its colour: the plate itself is valid.
    refused = json.loads(vehicle("r1", clock.now(), "浙A12345"))
    send(node, json.dumps({**refused, "plate_color": "purple"}, ensure_ascii=False).encode())
    [item] = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    # Stored sealed: the raw column holds no clear plate.
    with node.db.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT raw_enc FROM quarantine_items WHERE id = :id"), {"id": item.id}
        ).scalar_one()
    assert b"A12345" not in bytes(stored) and b"purple" not in bytes(stored)

    # An integrator browses the quarantine, masked, and may not reveal (refusal audited).
    log_in(client, "admin")
    page = client.get("/quarantine")
    assert "浙A***45" in page.text and "浙A12345" not in page.text
    assert f'action="/quarantine/{item.id}/reveal' not in page.text
    refused = client.post(f"/quarantine/{item.id}/reveal", data={"reason": "check the gate"})
    assert refused.status_code == 403 and "浙A12345" not in refused.text
    [refusal] = audit_entries(node, action="quarantine.reveal.refused")
    assert refusal.record_ids == [str(item.id)]

    # An analyst (personal_data.reveal) sees it masked, then clear for a stated purpose.
    log_in(client, "analyst")
    page = client.get("/quarantine")
    assert "浙A***45" in page.text and "浙A12345" not in page.text
    no_purpose = client.post(f"/quarantine/{item.id}/reveal", data={})
    assert no_purpose.status_code == 400 and "浙A12345" not in no_purpose.text
    shown = client.post(
        f"/quarantine/{item.id}/reveal", data={"case_number": "A2026-0042", "reason": ""}
    )
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert 'id="quarantine-clear-raw"' in shown.text and "浙A12345" in shown.text
    [trace] = audit_entries(node, action="quarantine.reveal")
    assert trace.record_ids == [str(item.id)] and trace.case_number == "A2026-0042"
    assert trace.actor_id == str(_user_id(node, "analyst"))


def _user_id(node: Node, username: str) -> int:
    with node.db.session() as session:
        return next(u.id for u in AccessService(session).list_users() if u.username == username)


def test_replay_needs_the_csrf_token_and_the_permission(client: TestClient, users: None) -> None:
    log_in(client, "integrator")
    token = client.headers.pop("X-CSRF-Token")
    assert client.post("/quarantine/replay", data={"reason": "invalid"}).status_code == 403
    client.headers["X-CSRF-Token"] = token
    log_in(client, "station")
    refused = client.post("/quarantine/replay", data={"reason": "invalid"})
    assert refused.status_code == 403 and "quarantine.replay" in refused.text
    log_in(client, "integrator")
    bad = client.post("/quarantine/replay", data={"ids": ["1 OR 1=1"]})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "ids"


# --- personal data on the status page ---------------------------------------------------


def test_status_lists_mask_plates_and_subjects_and_unmasked_reads_are_audited(
    client: TestClient, node: Node, clock: ManualClock, users: None
) -> None:
    send(node, vehicle("v1", clock.now(), "浙A12345"))
    log_in(client, "station")
    masked = client.get("/api/v1/status").json()["recent"]
    assert [event["summary"] for event in masked] == ["in · 浙A***45 · blue · car"]
    assert "浙A12345" not in client.get("/status").text
    assert audit_entries(node, action="events.read_unmasked") == []

    no_purpose = client.get("/api/v1/status", params={"reveal": "1"})
    assert no_purpose.status_code == 400
    assert no_purpose.json()["error"]["field"] == "purpose"
    clear = client.get("/api/v1/status", params={"reveal": "1", "case_number": "A2026-0042"})
    assert clear.status_code == 200
    assert clear.json()["recent"][0]["summary"] == "in · 浙A12345 · blue · car"
    [read] = audit_entries(node, action="events.read_unmasked")
    assert read.case_number == "A2026-0042" and read.record_ids == ["CAM1/v1"]
    [refusal] = audit_entries(node, action="events.read_unmasked.refused")
    assert refusal.details["field"] == "purpose"

    log_in(client, "auditor")  # may see the status page, may not reveal
    refused = client.get("/status", params={"reveal": "1", "reason": "curious about it"})
    assert refused.status_code == 403
    assert len(audit_entries(node, action="events.read_unmasked.refused")) == 2


# --- wrong jurisdiction and image refs on the alert routes -----------------------------


def test_alerts_of_another_jurisdiction_are_not_found_and_image_refs_do_not_traverse(
    client: TestClient, fire: Any
) -> None:
    # Lists, details and actions: tests/web/test_pages.py; here the image route.
    log_in(client, "outsider")
    assert client.get(f"/api/v1/alerts/{fire.id}/images/x.jpg").status_code == 404

    log_in(client, "station")
    for ref in ("..%2F..%2Fzhian.db", "..%2F..%2F..%2Fetc%2Fpasswd", "%2E%2E%2Fkeys", "img:..jpg"):
        response = client.get(f"/api/v1/alerts/{fire.id}/images/{ref}")
        assert response.status_code in (400, 404), ref
        assert b"root:" not in response.content and b"SQLite" not in response.content


def test_the_audit_page_names_case_and_linkage_model_records(
    client: TestClient, node: Node, clock: ManualClock, users: None
) -> None:
    """A case created through the API and a trained linkage model show their record type
    by name on the audit page, in Chinese and in English."""
    log_in(client, "station")
    created = client.post("/api/v1/cases", json={
        "id": "A-2026-0077", "category": "burglary", "time_from": clock.now().isoformat(),
        "latitude": 30.27, "longitude": 120.15, "jurisdiction_id": "J-STATION",
    })  # fmt: skip
    assert created.status_code == 201, created.text
    with node.db.session() as session:
        node.governance.audit(session).record(
            Actor.system("linkage"), "case.model_train", record_type="linkage_model",
            record_ids=["3"],
        )  # fmt: skip
    log_in(client, "auditor")
    page = client.get("/audit")
    assert page.status_code == 200
    assert '<td>案件 <span translate="no">A-2026-0077</span></td>' in page.text
    assert '<td>串并模型 <span translate="no">3</span></td>' in page.text
    assert 'data-action="case.create">新建案件</td>' in page.text
    assert 'data-action="case.model_train">训练串并模型</td>' in page.text
    english = client.get("/audit?lang=en")
    assert '<td>case <span translate="no">A-2026-0077</span></td>' in english.text
    assert '<td>case-linkage model <span translate="no">3</span></td>' in english.text
