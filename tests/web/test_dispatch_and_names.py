"""The dispatch form's responder picker, and jurisdictions shown by name on the KPI page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.web.conftest import log_in
from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.alerts.schemas import AlertSummary
from zhian.node import Node


def user_ids(node: Node) -> dict[str, int]:
    with node.db.session() as session:
        return {user.username: user.id for user in AccessService(session).list_users()}


def picker(html: str) -> dict[str, str]:
    """value -> label of the options of the dispatch form's assignee select."""
    select = html.split('<select id="assignee" name="assignee_id">', 1)[1].split("</select>", 1)[0]
    return dict(re.findall(r'<option value="(\d*)"[^>]*>([^<]*)</option>', select))


def test_the_picker_offers_the_responders_of_the_alerts_jurisdiction(
    client: TestClient, node: Node, tamper: AlertSummary
) -> None:
    ids = user_ids(node)
    log_in(client, "station")
    assert client.post(f"/alerts/{tamper.id}/actions/sign").status_code == 303
    options = picker(client.get(f"/alerts/{tamper.id}").text)
    assert "" in options  # blank: the dispatcher takes it
    offered = {int(value) for value in options if value}
    # J-STATION's responders; not the analyst (reads only), not the city above, not J-OTHER.
    assert offered == {ids["station"], ids["grid"]}
    assert options[str(ids["grid"])].startswith("测试·grid")

    refused = client.post(
        f"/alerts/{tamper.id}/actions/dispatch", data={"assignee_id": str(ids["outsider"])}
    )
    assert refused.status_code == 400 and "assignee_id" in refused.text
    dispatched = client.post(
        f"/alerts/{tamper.id}/actions/dispatch", data={"assignee_id": str(ids["grid"])}
    )
    assert dispatched.status_code == 303
    with node.alerts() as alerts:
        detail = alerts.get_alert(tamper.id, scope=JurisdictionScope.unscoped())
    assert detail.state == "dispatched" and detail.assignee_id == ids["grid"]
    # The assignee may now report arrival, whatever the alert's owner role.
    log_in(client, "grid")
    assert client.post(f"/alerts/{tamper.id}/actions/arrive").status_code == 303


def test_the_api_takes_an_assignee_on_dispatch_only(
    client: TestClient, node: Node, tamper: AlertSummary
) -> None:
    ids = user_ids(node)
    log_in(client, "station")
    wrong = client.post(f"/api/v1/alerts/{tamper.id}/sign", json={"assignee_id": ids["grid"]})
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "assignee_id"
    assert client.post(f"/api/v1/alerts/{tamper.id}/sign", json={}).status_code == 200
    sent = client.post(f"/api/v1/alerts/{tamper.id}/dispatch", json={"assignee_id": ids["grid"]})
    assert sent.status_code == 200 and sent.json()["assignee_id"] == ids["grid"]


def test_the_kpi_page_names_jurisdictions(client: TestClient) -> None:
    log_in(client, "command")
    page = client.get("/kpis")
    assert "<h1>考核指标 · Test City</h1>" in page.text
    # By name only: the code travels as the option's value, not its text.
    assert '<option value="J-STATION">North Station</option>' in page.text
    assert '<option value="J-OTHER">南站</option>' in page.text
