"""Closing the registry loop (一标三实): confirming a housing model's finding (closing its
alert as resolved) changes the registry, audited and shown in the house's history; a
false alarm changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from tests.web.session import sign_in
from tests.web.test_resident_reveal import PASSWORD, keyed_node  # noqa: F401 (fixture)
from zhian.alerts.drafts import AlertDraft
from zhian.node import Node
from zhian.registry.models import House, RegistrationDraft, Resident
from zhian.registry.service import RegistryService
from zhian.web.app import create_app


@pytest.fixture
def client(keyed_node: Node) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(keyed_node), follow_redirects=False) as test_client:
        yield test_client


def _raise(node: Node, rule: str, subject: str, place_id: str) -> int:
    at = node.clock.now()
    draft = AlertDraft(
        rule=rule,
        kind=rule.removeprefix("model."),
        tier="general",
        subject=subject,
        place_id=place_id,
        observed_at=at,
        explanation_zh="模型发现",
        explanation_en="a model's finding",
        community_id="C1",
        place_name="1幢1单元301",
    )
    with node.alerts() as alerts:
        (alert_id,) = alerts.raise_drafts([draft])
    return alert_id


def _confirm(client: TestClient, alert_id: int, outcome: str = "resolved") -> None:
    for action, body in (
        ("sign", {}),
        ("dispatch", {}),
        ("arrive", {}),
        ("handle", {"feedback": "上门核实属实"}),
        ("close", {"outcome": outcome}),
    ):
        answer = client.post(f"/api/v1/alerts/{alert_id}/{action}", json=body)
        assert answer.status_code == 200, (action, answer.text)


def _use_of(node: Node, house_id: str) -> str:
    with node.db.session() as session:
        return session.get_one(House, house_id).registered_use


def test_a_confirmed_vacant_house_becomes_idle_in_its_history_and_audited(
    client: TestClient,
    keyed_node: Node,  # noqa: F811
) -> None:
    assert _use_of(keyed_node, "H1") == "rented"
    alert_id = _raise(keyed_node, "model.vacant_house", "H1", "H1")
    sign_in(client, "station", PASSWORD)
    _confirm(client, alert_id)
    assert _use_of(keyed_node, "H1") == "idle"
    page = client.get("/archives/houses/H1").text
    assert 'id="arc-use">空置' in page
    assert 'data-change="registered_use"' in page and f'href="/alerts/{alert_id}?lang=zh"' in page
    with keyed_node.db.session() as session:
        (entry,) = keyed_node.governance.audit(session).search(action="registry.update")
    assert entry.record_ids == ["H1"] and entry.details["alert_id"] == alert_id


def test_a_false_alarm_changes_nothing(client: TestClient, keyed_node: Node) -> None:  # noqa: F811
    alert_id = _raise(keyed_node, "model.group_rental", "H1", "H1")
    sign_in(client, "station", PASSWORD)
    assert client.post(f"/api/v1/alerts/{alert_id}/sign", json={}).status_code == 200
    closed = client.post(f"/api/v1/alerts/{alert_id}/close", json={"outcome": "false_alarm"})
    assert closed.status_code == 200
    assert _use_of(keyed_node, "H1") == "rented"
    assert 'data-change="' not in client.get("/archives/houses/H1").text


def test_a_confirmed_move_out_ends_the_residence(client: TestClient, keyed_node: Node) -> None:  # noqa: F811
    alert_id = _raise(keyed_node, "model.moved_out", "R1", "H1")
    sign_in(client, "station", PASSWORD)
    _confirm(client, alert_id)
    with keyed_node.db.session() as session:
        moved_out_at = session.get_one(Resident, "R1").moved_out_at
        modelled = RegistryService(session).snapshot().residents
    assert isinstance(moved_out_at, datetime)
    assert "R1" not in {r.id for r in modelled}  # the models no longer count them there
    page = client.get("/archives/houses/H1").text
    assert 'data-former="R1"' in page and 'data-resident="R1"' not in page
    assert 'data-change="moved_out"' in page


def test_a_confirmed_unregistered_resident_becomes_a_registration_draft(
    client: TestClient,
    keyed_node: Node,  # noqa: F811
) -> None:
    alert_id = _raise(keyed_node, "model.unregistered_resident", "card:tok_x", "C1-B1-U1")
    sign_in(client, "station", PASSWORD)
    _confirm(client, alert_id)
    with keyed_node.db.session() as session:
        drafts = session.query(RegistrationDraft).all()
        assert [(d.place_id, d.alert_id, d.status) for d in drafts] == [
            ("C1-B1-U1", alert_id, "open")
        ]
    page = client.get("/archives/communities/C1").text
    assert 'id="arc-drafts"' in page and f'href="/alerts/{alert_id}?lang=zh"' in page
    assert "tok_x" not in page
