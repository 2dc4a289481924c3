"""A watchlist plate hit on the alert page and API: masked, revealed in one audited step
by a role that may reveal personal data, with a purpose; refused otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import log_in, submit, wait_for_alert
from zhian.alerts.schemas import AlertSummary
from zhian.audit.service import AuditEntryRead
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.watchlists.schemas import WatchlistEntryCreate

PLATE = "浙A12345"
MASKED = "浙A***45"
BASIS = "CASE-2026-0042"
REVEALED = "alert.reveal_plate"


@pytest.fixture
def hit(node: Node, clock: ManualClock) -> AlertSummary:
    """A watchlist plate hit at the devices' station (J-STATION)."""
    with node.watchlists() as watchlists:
        watchlists.add(
            WatchlistEntryCreate(
                target="plate",
                plate=PLATE,
                label="被盗车辆",
                legal_basis_kind="stolen_vehicle",
                legal_basis_ref=BASIS,
                jurisdiction_id="J-STATION",
                expires_at=clock.now() + timedelta(days=30),
            ),
            user_id=1,
        )
    node.rule_engine.refresh()
    vehicle = {
        "type": "vehicle",
        "id": "plate-hit-1",
        "device_id": "CAM1",
        "time": clock.now().isoformat(),
        "plate": PLATE,
        "plate_color": "blue",
        "vehicle_class": "car",
        "direction": "in",
    }
    submit(node, vehicle)
    return wait_for_alert(node, "watchlist_plate")


def audit_entries(node: Node, action: str, alert: AlertSummary) -> list[AuditEntryRead]:
    with node.db.session() as session:
        return node.governance.audit(session).search(action=action, record_id=str(alert.id))


def test_page_and_api_show_the_masked_plate_with_the_purpose_prefilled(
    client: TestClient, hit: AlertSummary
) -> None:
    log_in(client, "station")
    page = client.get(f"/alerts/{hit.id}")
    assert page.status_code == 200
    assert MASKED in page.text and PLATE not in page.text
    assert 'id="reveal-plate"' in page.text
    assert f'name="case_number" maxlength="64" value="{BASIS}"' in page.text  # one step
    api = client.get(f"/api/v1/alerts/{hit.id}")
    assert api.status_code == 200
    assert MASKED.encode() in api.content and PLATE.encode() not in api.content
    figures = api.json()["evidence"]["figures"]
    assert figures["plate_masked"] == MASKED and figures["plate_token"].startswith("tok_")
    assert api.json()["revealed_plate"] is None
    english = client.get(f"/alerts/{hit.id}?lang=en")
    assert "Reveal the plate" in english.text and PLATE not in english.text


def test_permitted_role_with_a_purpose_sees_the_plate_once_and_it_is_audited(
    client: TestClient, node: Node, hit: AlertSummary
) -> None:
    log_in(client, "station")
    page = client.get(f"/alerts/{hit.id}", params={"reveal": "1", "case_number": BASIS})
    assert page.status_code == 200, page.text
    assert f'id="plate-clear">{PLATE}<' in page.text
    assert page.headers["cache-control"] == "no-store"
    [entry] = audit_entries(node, REVEALED, hit)
    assert entry.record_type == "alert" and entry.record_ids == [str(hit.id)]
    assert entry.case_number == BASIS and entry.details["identifier"] == "plate"
    assert PLATE not in str(entry.details)
    # The page read again (as the live feed re-fetches it) is masked, and not audited.
    assert PLATE not in client.get(f"/alerts/{hit.id}").text
    assert len(audit_entries(node, REVEALED, hit)) == 1

    api = client.get(f"/api/v1/alerts/{hit.id}", params={"reveal": "1", "reason": "追缉被盗车辆"})
    assert api.status_code == 200 and api.json()["revealed_plate"] == PLATE
    assert api.headers["cache-control"] == "no-store"
    newest = audit_entries(node, REVEALED, hit)[0]
    assert newest.purpose == "追缉被盗车辆" and newest.case_number is None


def test_no_purpose_is_refused_naming_the_field_and_audited(
    client: TestClient, node: Node, hit: AlertSummary
) -> None:
    log_in(client, "station")
    page = client.get(f"/alerts/{hit.id}", params={"reveal": "1", "case_number": " "})
    assert page.status_code == 400
    assert 'id="reveal-error" data-field="purpose"' in page.text and PLATE not in page.text
    api = client.get(f"/api/v1/alerts/{hit.id}", params={"reveal": "1"})
    assert api.status_code == 400 and api.json()["error"]["field"] == "purpose"
    assert PLATE.encode() not in api.content
    assert audit_entries(node, REVEALED, hit) == []
    refused = audit_entries(node, f"{REVEALED}.refused", hit)
    assert [entry.details["field"] for entry in refused] == ["purpose", "purpose"]


def test_a_role_without_the_permission_is_refused_403_and_audited(
    client: TestClient, node: Node, hit: AlertSummary
) -> None:
    log_in(client, "grid")  # sees the alert of its station, masked only
    page = client.get(f"/alerts/{hit.id}")
    assert page.status_code == 200 and MASKED in page.text
    assert 'id="reveal-plate"' not in page.text
    asked = {"reveal": "1", "case_number": BASIS}
    refused_page = client.get(f"/alerts/{hit.id}", params=asked)
    assert refused_page.status_code == 403 and PLATE not in refused_page.text
    api = client.get(f"/api/v1/alerts/{hit.id}", params=asked)
    assert api.status_code == 403 and PLATE.encode() not in api.content
    assert audit_entries(node, REVEALED, hit) == []
    refused = audit_entries(node, f"{REVEALED}.refused", hit)
    assert len(refused) == 2 and refused[0].details["field"] == "permission"


def test_another_jurisdiction_gets_404_and_nothing_is_revealed_or_audited(
    client: TestClient, node: Node, hit: AlertSummary
) -> None:
    log_in(client, "outsider")  # a station officer of the station beside
    asked = {"reveal": "1", "case_number": BASIS}
    page = client.get(f"/alerts/{hit.id}", params=asked)
    api = client.get(f"/api/v1/alerts/{hit.id}", params=asked)
    assert page.status_code == 404 and api.status_code == 404
    assert PLATE not in page.text and PLATE.encode() not in api.content
    assert audit_entries(node, REVEALED, hit) == []
    assert audit_entries(node, f"{REVEALED}.refused", hit) == []


def test_an_alert_without_a_plate_has_nothing_to_reveal(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "station")
    page = client.get(f"/alerts/{fire.id}")
    assert 'id="plate"' not in page.text
    asked = client.get(f"/alerts/{fire.id}", params={"reveal": "1", "case_number": BASIS})
    assert asked.status_code == 404 and 'id="reveal-error" data-field="plate"' in asked.text
    api = client.get(f"/api/v1/alerts/{fire.id}", params={"reveal": "1", "case_number": BASIS})
    assert api.status_code == 404 and api.json()["error"]["field"] == "plate"


def test_the_evidence_events_link_to_their_event_pages_for_who_may_open_them(
    client: TestClient, hit: AlertSummary
) -> None:
    """A station officer (passages.view) follows the evidence event to its event page; a
    grid worker, who sees the alert but not passages, gets the id without a link."""
    link = '<a href="/events/CAM1/plate-hit-1?lang=zh">plate-hit-1</a>'
    log_in(client, "station")
    page = client.get(f"/alerts/{hit.id}")
    assert page.status_code == 200 and link in page.text
    event = client.get("/events/CAM1/plate-hit-1?lang=zh")
    assert event.status_code == 200 and MASKED in event.text and PLATE not in event.text
    log_in(client, "grid")
    page = client.get(f"/alerts/{hit.id}")
    assert page.status_code == 200
    assert 'data-event="plate-hit-1">plate-hit-1</td>' in page.text
    assert "/events/CAM1/plate-hit-1" not in page.text
