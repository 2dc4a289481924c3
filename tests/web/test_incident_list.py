"""The incident list: a smoke alarm and a resident's tip at one building are one incident,
listed with both alerts, the incident's own tier (the highest of its alerts), its state and
a summary; filters by state, tier and period; scoped; Chinese by default."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.web.conftest import alarm_event, log_in, submit, wait_for_alert
from tests.web.test_tip_incidents import add_smoke_sensor
from tests.web.test_tips import code_of, send_tip, tip_row
from zhian.access.scope import JurisdictionScope
from zhian.kit.clock import ManualClock
from zhian.node import Node


def listed(client: TestClient, query: str = "") -> list[str]:
    page = client.get("/incidents?" + query)
    assert page.status_code == 200, page.text
    return [part.split('"')[0] for part in page.text.split('data-incident-id="')[1:]]


def test_incidents_are_listed_with_their_alerts_own_tier_and_summary(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    add_smoke_sensor(node, clock)
    submit(node, alarm_event("smoke-1", clock.now(), kind="smoke", device_id="SMOKE1"))
    alarm = wait_for_alert(node, "alarm_smoke")
    resident = TestClient(client.app, follow_redirects=False)
    code = code_of(send_tip(resident, description="1号楼三楼有烟味"))
    log_in(client, "station")
    accepted = client.post(f"/tips/{tip_row(node, code).id}/accept", data={"tier": "minor"})
    assert accepted.status_code == 303, accepted.text
    tip_alert_id = int(accepted.headers["location"].split("/")[2].split("?")[0])
    with node.alerts() as alerts:
        incident_id = alerts.get_alert(tip_alert_id, scope=JurisdictionScope.unscoped()).incident_id
    assert incident_id is not None
    assert alarm.tier != "minor"  # so the incident's tier is the alarm's, not the tip's

    page = client.get("/incidents")
    assert "合并事件" in page.text and "处置中" in page.text  # Chinese by default
    row = page.text.split(f'data-incident-id="{incident_id}"')[1].split("</tr>")[0]
    assert f'data-tier="{alarm.tier}"' in row and 'data-state="open"' in row
    assert f'data-alert-id="{alarm.id}"' in row and f'data-alert-id="{tip_alert_id}"' in row
    assert "1 × " in row  # the summary counts the reports per title
    assert "Incidents" in client.get("/incidents?lang=en").text

    assert listed(client, f"tier={alarm.tier}") == [str(incident_id)]
    assert listed(client, "tier=minor") == []
    assert listed(client, "state=open") == [str(incident_id)]
    assert listed(client, "state=closed") == []
    later = (clock.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    earlier = (clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert listed(client, f"from={earlier}&to={later}") == [str(incident_id)]
    assert listed(client, f"from={later}") == []
    bad = client.get("/incidents?tier=huge")
    assert bad.status_code == 400 and 'data-field="tier"' in bad.text

    # Both alerts closed: the incident is closed, and may be written up in the library.
    with node.alerts() as alerts:
        for alert_id in (alarm.id, tip_alert_id):
            alerts.close(alert_id, scope=JurisdictionScope.unscoped(), user_id=1,
                         outcome="false_alarm")  # fmt: skip
    assert listed(client, "state=closed") == [str(incident_id)]
    closed = client.get("/incidents?state=closed").text
    assert f"/library/new?incident_id={incident_id}" in closed

    # Another station's officer sees none of it; a grid worker of the station sees it.
    log_in(client, "outsider")
    assert listed(client) == []
    log_in(client, "grid")
    assert listed(client) == [str(incident_id)]
