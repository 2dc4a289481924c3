"""One incident model: a smoke alarm and two residents' tips about smoke at the same
building become one incident of alerts, each handled on the alert loop."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import alarm_event, log_in, submit, wait_for_alert
from tests.web.test_tips import code_of, send_tip, tip_row
from zhian.access.scope import JurisdictionScope
from zhian.devices.service import DeviceService
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService

SMOKE_SENSOR = {
    "id": "SMOKE1",
    "kind": "smoke_sensor",
    "name": "1号楼3层烟感",
    "gateway_id": None,
    "community_id": "C1",
    "building_id": "C1-B1",
    "unit_id": None,
    "zone_id": None,
    "latitude": 30.27,
    "longitude": 120.15,
    "is_enabled": True,
}


def add_smoke_sensor(node: Node, clock: ManualClock) -> None:
    with node.db.session() as session:
        report = RegistryService(session).load_rows("devices", [SMOKE_SENSOR])
        assert report.rejected == 0, report.errors
        DeviceService(session).issue_tokens(["SMOKE1"], now=clock.now())
    node.refresh_directory()


def test_a_smoke_alarm_and_two_tips_at_one_building_are_one_incident(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    add_smoke_sensor(node, clock)
    submit(node, alarm_event("smoke-1", clock.now(), kind="smoke", device_id="SMOKE1"))
    alarm = wait_for_alert(node, "alarm_smoke")
    assert alarm.place_id == "C1-B1"

    resident = TestClient(client.app, follow_redirects=False)
    first = code_of(send_tip(resident, description="1号楼三楼有烟味"))
    second = code_of(send_tip(resident, description="楼道冒烟了"))
    assert tip_row(node, second).duplicate_of == tip_row(node, first).id

    log_in(client, "station")
    accepted = client.post(f"/tips/{tip_row(node, first).id}/accept", data={"tier": "major"})
    assert accepted.status_code == 303, accepted.text
    tip_alert_id = int(accepted.headers["location"].split("/")[2].split("?")[0])

    with node.alerts() as alerts:
        everywhere = JurisdictionScope.unscoped()
        from_tips = alerts.get_alert(tip_alert_id, scope=everywhere)
        from_alarm = alerts.get_alert(alarm.id, scope=everywhere)
    assert from_tips.count == 2  # the two tips: one alert
    assert from_tips.incident_id is not None
    assert from_tips.incident_id == from_alarm.incident_id  # alarm and tips: one incident
    page = client.get(f"/alerts/{alarm.id}")
    assert f"#{from_tips.incident_id}" in page.text
