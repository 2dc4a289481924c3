"""Response procedures (预案) as data: seeded with the built-in checklists, edited on the
procedures page by a permitted role (audited), and followed by the alerts raised after."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.web.conftest import alarm_event, log_in, submit, wait_for_alert
from zhian.alerts.procedures import DEFAULTS
from zhian.audit.service import AuditService
from zhian.kit.clock import ManualClock
from zhian.node import Node

NEW_FIRE_STEPS = (
    "confirm | 视频确认火情 | Confirm the fire by video\n"
    "call_119 | 通知消防（119） | Call the fire brigade (119)\n"
    "\n"
    "report_up | 向指挥中心报告 | Report to the command centre | command_centre\n"
)


def _alert_steps(client: TestClient, alert_id: int) -> list[tuple[str, str | None]]:
    detail = client.get(f"/api/v1/alerts/{alert_id}")
    assert detail.status_code == 200, detail.text
    return [(s["key"], s["role"]) for s in detail.json()["procedure"]]


def test_a_new_node_holds_the_built_in_procedures(client: TestClient) -> None:
    log_in(client, "grid")  # any alert reader sees them
    listed = client.get("/api/v1/procedures")
    assert listed.status_code == 200, listed.text
    got = {
        (p["kind"], p["tier"]): (p["origin"], p["is_default"], [s["key"] for s in p["steps"]])
        for p in listed.json()
    }
    assert got == {
        key: ("local", True, [step.key for step in steps]) for key, steps in DEFAULTS.items()
    }
    page = client.get("/procedures?lang=en")
    assert page.status_code == 200
    assert '<tr data-kind="alarm_fire" data-tier="*" data-origin="local">' in page.text
    assert 'name="steps"' not in page.text  # the grid worker may not edit them


def test_an_edited_procedure_applies_to_alerts_raised_after_and_is_audited(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    log_in(client, "command")
    before = wait_for_alert_after(node, clock, "fire-1")
    assert [k for k, _ in _alert_steps(client, before)][:3] == ["confirm", "call_119", "evacuate"]
    saved = client.post(
        "/procedures", data={"kind": "alarm_fire", "tier": "*", "steps": NEW_FIRE_STEPS}
    )
    assert saved.status_code == 303, saved.text
    page = client.get(saved.headers["location"]).text
    assert "已保存" in page and "视频确认火情" in page

    after = wait_for_alert_after(node, clock, "fire-2", device_id="CAM1")
    # The kind's steps as edited, then the command centre's of a major alert, as before.
    assert _alert_steps(client, after) == [
        ("confirm", None),
        ("call_119", None),
        ("report_up", "command_centre"),
        ("command_take", "command_centre"),
        ("command_reinforce", "command_centre"),
        ("command_report", "command_centre"),
    ]
    with node.db.session() as session:
        entries = AuditService(session, clock=node.clock).search(
            record_type="response_procedure", record_id="alarm_fire/*"
        )
    assert [(e.action, dict(e.details)) for e in entries] == [
        (
            "procedures.update",
            {
                "steps": [
                    ["confirm", "call_119", "evacuate"],
                    ["confirm", "call_119", "report_up"],
                ],
                "origin": "local",
            },
        )
    ]
    listed = {(p["kind"], p["tier"]): p for p in client.get("/api/v1/procedures").json()}
    assert listed[("alarm_fire", "*")]["is_default"] is False


def test_a_procedure_for_a_new_kind_and_tier(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    log_in(client, "command")
    saved = client.post(
        "/procedures",
        data={
            "kind": "alarm_tamper",
            "tier": "minor",
            "steps": "look | 查看设备 | Look at the device",
        },
    )
    assert saved.status_code == 303, saved.text
    submit(node, alarm_event("tamper-1", clock.now(), kind="tamper", device_id="CAM1"))
    tamper = wait_for_alert(node, "alarm_tamper")
    assert tamper.tier == "minor"
    assert _alert_steps(client, tamper.id) == [("look", None)]


def test_bad_steps_are_refused_naming_the_line_and_nothing_changes(client: TestClient) -> None:
    log_in(client, "command")
    cases = {
        "confirm | 确认 | Confirm\ncall | 通知 | Call | chief": "steps[2].role",
        "confirm | 确认": "steps[1]",
        "Confirm! | 确认 | Confirm": "steps[1].key",
        "confirm | 确认 | Confirm\nconfirm | 再确认 | Again": "steps[2].key",
        "confirm |  | Confirm": "steps[1].text_zh",
    }
    for steps, field in cases.items():
        refused = client.post(
            "/procedures", data={"kind": "alarm_fire", "tier": "*", "steps": steps}
        )
        assert refused.status_code == 400, (steps, refused.text)
        assert f'data-field="{field}"' in refused.text, (steps, field)
    for data, field in (
        ({"kind": "Alarm Fire", "tier": "*"}, "kind"),
        ({"kind": "alarm_fire", "tier": "urgent"}, "tier"),
    ):
        refused = client.post("/procedures", data={**data, "steps": "a | 甲 | A"})
        assert refused.status_code == 400 and f'data-field="{field}"' in refused.text
    listed = {(p["kind"], p["tier"]): p for p in client.get("/api/v1/procedures").json()}
    assert all(p["is_default"] for p in listed.values())


def test_only_a_permitted_role_over_every_community_may_edit(client: TestClient) -> None:
    data = {"kind": "alarm_fire", "tier": "*", "steps": "x | 甲 | A"}
    log_in(client, "grid")
    assert client.post("/procedures", data=data).status_code == 403
    log_in(client, "outsider")  # a station officer, but of a station without the communities
    refused = client.post("/procedures", data=data)
    assert refused.status_code == 403 and 'data-field="kind"' in refused.text
    log_in(client, "station")  # the station that holds every community of this node
    assert client.post("/procedures", data=data).status_code == 303


def wait_for_alert_after(
    node: Node, clock: ManualClock, event_id: str, *, device_id: str = "DOOR1"
) -> int:
    """A new major fire alert (its own device, so it does not join an open one)."""
    clock.advance(timedelta(seconds=60))
    submit(node, alarm_event(event_id, clock.now(), kind="fire", device_id=device_id))
    return wait_for_alert(node, "alarm_fire").id
