"""Deadlines per tier on a manual clock: warnings, breaches, escalation, overrides."""

from __future__ import annotations

from datetime import timedelta

from tests.alerts.factories import Users, draft, scope_of_user
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter
from zhian.config import Settings, load_settings
from zhian.kit.clock import ManualClock
from zhian.node import Node


def _raise(node: Node, tier: str) -> int:
    with node.alerts() as alerts:
        return alerts.raise_drafts([draft(node.clock.now(), tier=tier, subject=tier)])[0]  # type: ignore[arg-type]


def _tick(node: Node) -> tuple[int, int]:
    return node.alert_loop.sla_monitor.tick(node.clock.now())


def test_general_sign_deadline_warns_then_breaches_and_escalates_up_the_tree(
    node: Node, users: Users, clock: ManualClock
) -> None:
    alert_id = _raise(node, "general")
    with node.alerts() as alerts:
        detail = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    due = {d.milestone: d.due_at - detail.created_at for d in detail.deadlines}
    assert due == {"sign": timedelta(minutes=5), "on_site": timedelta(minutes=15)}
    clock.advance(timedelta(minutes=2, seconds=59))
    assert _tick(node) == (0, 0)
    clock.advance(timedelta(seconds=2))  # 3:01, within the 2 minutes before the deadline
    assert _tick(node) == (1, 0)
    assert _tick(node) == (0, 0)  # warned once
    clock.advance(timedelta(minutes=2))  # 5:01
    assert _tick(node) == (0, 1)
    with node.alerts() as alerts:
        breached = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
        assert breached.is_breached and breached.escalated_to_jurisdiction_id == "J-DIST"
        assert [a.action for a in breached.timeline][-3:] == ["warned", "breached", "escalated"]
        # Signing late meets the clock but the breach stays visible.
        signed = alerts.sign(alert_id, scope=JurisdictionScope.unscoped(), user_id=users.officer)
    sign = next(d for d in signed.deadlines if d.milestone == "sign")
    assert sign.breached_at is not None and sign.met_at is not None and signed.is_breached
    with node.alerts() as alerts:
        assert (
            alerts.list_alerts(
                AlertFilter(is_breached=True), scope=JurisdictionScope.unscoped()
            ).total
            == 1
        )
        # Escalated: the district's officers see it in their scope and their to-dos.
        assert (
            alerts.list_alerts(
                AlertFilter(jurisdiction_id="J-DIST"), scope=JurisdictionScope.unscoped()
            ).total
            == 1
        )
        todo = alerts.my_todos(
            users.station_officer, scope=scope_of_user(node, users.station_officer)
        )
        assert [t.alert.id for t in todo] == [alert_id]
    clock.advance(timedelta(minutes=10))  # 15:01: the on-site clock runs out too
    assert _tick(node) == (0, 1)
    with node.alerts() as alerts:
        assert (
            alerts.get_alert(
                alert_id, scope=JurisdictionScope.unscoped()
            ).escalated_to_jurisdiction_id
            == "J-CITY"
        )


def test_minor_feedback_and_major_response_deadlines(
    node: Node, users: Users, clock: ManualClock
) -> None:
    minor = _raise(node, "minor")
    major = _raise(node, "major")
    with node.alerts() as alerts:
        assert [
            d.milestone
            for d in alerts.get_alert(minor, scope=JurisdictionScope.unscoped()).deadlines
        ] == ["feedback"]
        assert (
            alerts.get_alert(minor, scope=JurisdictionScope.unscoped()).owner_role == "grid_worker"
        )
        assert [
            d.milestone
            for d in alerts.get_alert(major, scope=JurisdictionScope.unscoped()).deadlines
        ] == ["response"]
        assert (
            alerts.get_alert(major, scope=JurisdictionScope.unscoped()).owner_role
            == "command_centre"
        )
        for action in ("sign", "dispatch", "arrive"):
            getattr(alerts, action)(
                major, scope=JurisdictionScope.unscoped(), user_id=users.command
            )
    clock.advance(timedelta(minutes=15, seconds=1))
    assert _tick(node) == (0, 1)  # the minor breaches; the major was met in time
    with node.alerts() as alerts:
        assert alerts.get_alert(minor, scope=JurisdictionScope.unscoped()).is_breached
        response = alerts.get_alert(major, scope=JurisdictionScope.unscoped()).deadlines[0]
    assert response.met_at is not None and response.breached_at is None


def test_closing_as_false_alarm_stops_every_clock(
    node: Node, users: Users, clock: ManualClock
) -> None:
    alert_id = _raise(node, "general")
    with node.alerts() as alerts:
        alerts.close(
            alert_id,
            scope=JurisdictionScope.unscoped(),
            user_id=users.officer,
            outcome="false_alarm",
        )
    clock.advance(timedelta(hours=1))
    assert _tick(node) == (0, 0)


def test_deadlines_are_configurable_per_jurisdiction(workspace, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    settings: Settings = load_settings(
        workspace,
        log={"fsync": False},
        alerts={"jurisdiction_deadlines": {"J-DIST": {"general_sign_seconds": 120}}},
    )
    from tests.alerts.factories import load_place

    with Node.open(settings, clock, feed=False) as node:
        load_place(node, now=clock.now())
        alert_id = _raise(node, "general")
        with node.alerts() as alerts:
            detail = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    due = {d.milestone: d.due_at - detail.created_at for d in detail.deadlines}
    # J-STN inherits its district's override; on_site keeps the default.
    assert due == {"sign": timedelta(minutes=2), "on_site": timedelta(minutes=15)}
