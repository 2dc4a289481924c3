"""Lifecycle actions over HTTP keep the read rule: outside the user's jurisdiction an
alert is 404 for every action, as it is for reading, and nothing about it changes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import FAST_HASHER, PASSWORD, log_in
from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.alerts.schemas import AlertSummary
from zhian.node import Node

# The permission each action needs (zhian.web.permissions): without it the answer is 403
# whatever the alert, so the scope is tested on the actions the role may take.
PERMISSION = {
    "sign": "alerts.sign",
    "dispatch": "alerts.dispatch",
    "arrive": "alerts.handle",
    "handle": "alerts.handle",
    "close": "alerts.close",
}
BODIES = {
    "sign": {},
    "dispatch": {},
    "arrive": {},
    "handle": {"feedback": "已处置"},
    "close": {"outcome": "false_alarm"},
}


@pytest.fixture
def grid_elsewhere(node: Node) -> str:
    """A grid worker of J-OTHER, the station beside the one that owns the devices."""
    with node.db.session() as session:
        AccessService(session, password_hasher=FAST_HASHER).create_user(
            "grid_other",
            PASSWORD,
            role="grid_worker",
            jurisdiction_id="J-OTHER",
            display_name="测试·grid_other",
            now=node.clock.now(),
        )
    return "grid_other"


def _state(node: Node, alert_id: int) -> tuple[str, int]:
    with node.alerts() as alerts:
        detail = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    return detail.state.value, len(detail.timeline)


@pytest.mark.parametrize("username", ["outsider", "grid_other"])
def test_actions_on_an_alert_of_another_jurisdiction_are_404(
    client: TestClient,
    node: Node,
    tamper: AlertSummary,
    fire: AlertSummary,
    grid_elsewhere: str,
    username: str,
) -> None:
    before = _state(node, tamper.id), _state(node, fire.id)
    with node.db.session() as session:
        user = next(u for u in AccessService(session).list_users() if u.username == username)
    allowed = [action for action in BODIES if user.can(PERMISSION[action])]
    assert "sign" in allowed and "handle" in allowed  # the scope, not the role, refuses
    log_in(client, username)
    for action in allowed:
        answer = client.post(f"/api/v1/alerts/{tamper.id}/{action}", json=BODIES[action])
        assert answer.status_code == 404, (action, answer.text)
    assert client.post(f"/api/v1/alerts/{fire.id}/steps/confirm", json={}).status_code == 404
    assert client.post(f"/alerts/{tamper.id}/actions/sign").status_code == 404  # the page too
    assert (_state(node, tamper.id), _state(node, fire.id)) == before


def test_the_owners_may_act(client: TestClient, node: Node, tamper: AlertSummary) -> None:
    log_in(client, "grid")  # the grid worker of the alert's own station signs it
    assert client.post(f"/api/v1/alerts/{tamper.id}/sign", json={}).status_code == 200
    log_in(client, "station")
    closed = client.post(f"/api/v1/alerts/{tamper.id}/close", json={"outcome": "false_alarm"})
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
