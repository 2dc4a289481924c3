"""Procedures, correlation into incidents, to-dos, counts and KPIs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.alerts.factories import Users, draft, scope_of_user
from zhian.access.scope import JurisdictionScope
from zhian.alerts.drafts import OnlineSample
from zhian.alerts.schemas import Tier
from zhian.errors import BadRequestError, ConflictError, ForbiddenError
from zhian.kit.clock import ManualClock
from zhian.node import Node


def _fire(
    node: Node, subject: str = "C1-B1-SMK1:fire", place: str = "C1-B1", tier: Tier = "major"
) -> int:
    with node.alerts() as alerts:
        return alerts.raise_drafts(
            [
                draft(
                    node.clock.now(),
                    tier=tier,
                    kind="alarm_fire",
                    subject=subject,
                    place_id=place,
                    device_id="C1-B1-SMK1",
                )
            ]
        )[0]


def test_procedure_steps_must_be_ticked_or_skipped_with_a_reason(node: Node, users: Users) -> None:
    alert_id = _fire(node, tier="general")  # the kind's own steps (major adds the command's)
    with node.alerts() as alerts:
        for action in ("sign", "dispatch", "arrive"):
            getattr(alerts, action)(
                alert_id, scope=JurisdictionScope.unscoped(), user_id=users.command
            )
        detail = alerts.handle(
            alert_id,
            scope=JurisdictionScope.unscoped(),
            user_id=users.command,
            feedback="明火已扑灭",
        )
    assert [s.key for s in detail.procedure] == ["confirm", "call_119", "evacuate"]
    assert "tick_step" in detail.actions
    with pytest.raises(ConflictError, match="confirm, call_119, evacuate"), node.alerts() as a:
        a.close(
            alert_id, scope=JurisdictionScope.unscoped(), user_id=users.command, outcome="resolved"
        )
    with pytest.raises(BadRequestError) as no_reason, node.alerts() as alerts:
        alerts.tick_step(
            alert_id,
            "evacuate",
            scope=JurisdictionScope.unscoped(),
            user_id=users.command,
            skipped=True,
        )
    assert no_reason.value.field == "reason"
    with pytest.raises(BadRequestError) as unknown, node.alerts() as alerts:
        alerts.tick_step(
            alert_id, "pray", scope=JurisdictionScope.unscoped(), user_id=users.command
        )
    assert unknown.value.field == "step"
    with node.alerts() as alerts:
        alerts.tick_step(
            alert_id, "confirm", scope=JurisdictionScope.unscoped(), user_id=users.command
        )
        alerts.tick_step(
            alert_id, "call_119", scope=JurisdictionScope.unscoped(), user_id=users.command
        )
        with pytest.raises(ConflictError, match="already ticked"):
            alerts.tick_step(
                alert_id, "confirm", scope=JurisdictionScope.unscoped(), user_id=users.command
            )
        alerts.tick_step(
            alert_id,
            "evacuate",
            scope=JurisdictionScope.unscoped(),
            user_id=users.command,
            skipped=True,
            reason="火情在厨房内，已控制",
        )
        skipped = [m for m in alerts.messages if m.type == "procedure.skipped"]
        closed = alerts.close(
            alert_id, scope=JurisdictionScope.unscoped(), user_id=users.command, outcome="resolved"
        )
    assert skipped[0].data["supervisor_jurisdiction_id"] == "J-DIST"
    assert [s.status for s in closed.procedure] == ["ticked", "ticked", "skipped"]
    with pytest.raises(ConflictError, match="is 'closed'"), node.alerts() as alerts:
        alerts.tick_step(
            alert_id, "confirm", scope=JurisdictionScope.unscoped(), user_id=users.command
        )


COMMAND_STEPS = ["command_take", "command_reinforce", "command_report"]


def test_a_major_alert_brings_the_command_centres_steps_after_the_kinds_own(
    node: Node, users: Users
) -> None:
    everywhere = JurisdictionScope.unscoped()
    fire = _fire(node)
    with node.alerts() as alerts:
        intrusion = alerts.raise_drafts([draft(node.clock.now(), tier="major")])[0]
        minor = alerts.raise_drafts(
            [draft(node.clock.now(), tier="minor", subject="C1-E2:intrusion", event_id="E2")]
        )[0]
        fire_steps = alerts.get_alert(fire, scope=everywhere).procedure
        intrusion_steps = alerts.get_alert(intrusion, scope=everywhere).procedure
        assert alerts.get_alert(minor, scope=everywhere).procedure == []
    assert [s.key for s in fire_steps] == ["confirm", "call_119", "evacuate", *COMMAND_STEPS]
    assert [s.role for s in fire_steps] == [None, None, None, *["command_centre"] * 3]
    assert [s.key for s in intrusion_steps] == COMMAND_STEPS  # a kind without its own

    with node.alerts() as alerts:
        for action in ("sign", "dispatch", "arrive"):
            getattr(alerts, action)(intrusion, scope=everywhere, user_id=users.command)
        alerts.handle(intrusion, scope=everywhere, user_id=users.command, feedback="已处置")
    with pytest.raises(ConflictError, match="command_take"), node.alerts() as alerts:
        alerts.close(intrusion, scope=everywhere, user_id=users.command, outcome="resolved")
    with pytest.raises(ForbiddenError, match="command_centre"), node.alerts() as alerts:
        alerts.tick_step(intrusion, "command_take", scope=everywhere,
                         user_id=users.station_officer, role="station_officer")  # fmt: skip
    with node.alerts() as alerts:
        for step in COMMAND_STEPS:
            alerts.tick_step(intrusion, step, scope=everywhere, user_id=users.command,
                             role="command_centre")  # fmt: skip
        closed = alerts.close(intrusion, scope=everywhere, user_id=users.command,
                              outcome="resolved")  # fmt: skip
    assert [(s.status, s.user_id) for s in closed.procedure] == [("ticked", users.command)] * 3


def test_an_alert_rising_to_major_gains_the_command_centres_steps(node: Node) -> None:
    everywhere = JurisdictionScope.unscoped()
    with node.alerts() as alerts:
        alert_id = alerts.raise_drafts([draft(node.clock.now(), tier="general")])[0]
        assert alerts.get_alert(alert_id, scope=everywhere).procedure == []
        alerts.raise_drafts([draft(node.clock.now(), tier="major", event_id="E2")])
        steps = alerts.get_alert(alert_id, scope=everywhere).procedure
    assert [s.key for s in steps] == COMMAND_STEPS


def test_alerts_at_one_place_within_the_window_merge_into_an_incident(
    node: Node, clock: ManualClock
) -> None:
    first = _fire(node, "C1-B1-SMK1:smoke")
    clock.advance(timedelta(minutes=2))
    second = _fire(node, "C1-B1-SMK2:smoke")
    clock.advance(timedelta(minutes=30))
    third = _fire(node, "C1-B1-SMK2:fire")  # outside the 10-minute window
    with node.alerts() as alerts:
        a, b, c = (
            alerts.get_alert(i, scope=JurisdictionScope.unscoped()) for i in (first, second, third)
        )
    assert a.incident_id is not None and a.incident_id == b.incident_id
    assert c.incident_id is None


def test_todos_counts_series_and_kpis(node: Node, users: Users, clock: ManualClock) -> None:
    general = []
    for n in range(3):
        with node.alerts() as alerts:
            general.append(
                alerts.raise_drafts([draft(clock.now(), subject=f"S{n}", event_id=f"E{n}")])[0]
            )
    with node.alerts() as alerts:
        minor = alerts.raise_drafts([draft(clock.now(), tier="minor", subject="M")])[0]
        todos = alerts.my_todos(users.officer, scope=scope_of_user(node, users.officer))
        assert [t.alert.id for t in todos] == general
        assert {t.action for t in todos} == {"sign"}
        assert todos[0].due_at == todos[0].alert.created_at + timedelta(minutes=5)
        assert [
            t.alert.id for t in alerts.my_todos(users.grid, scope=scope_of_user(node, users.grid))
        ] == [minor]
        assert alerts.my_todos(users.command, scope=scope_of_user(node, users.command)) == []
    clock.advance(timedelta(minutes=2))
    with node.alerts() as alerts:
        alerts.sign(general[0], scope=JurisdictionScope.unscoped(), user_id=users.officer)
        alerts.close(
            general[1],
            scope=JurisdictionScope.unscoped(),
            user_id=users.officer,
            outcome="false_alarm",
        )
    clock.advance(timedelta(minutes=4))  # general[2] misses its sign deadline
    node.alert_loop.sla_monitor.tick(clock.now())
    with node.alerts() as alerts:
        for action in ("dispatch", "arrive"):
            getattr(alerts, action)(
                general[0], scope=JurisdictionScope.unscoped(), user_id=users.officer
            )
        alerts.handle(
            general[0], scope=JurisdictionScope.unscoped(), user_id=users.officer, feedback="已处置"
        )
        alerts.close(
            general[0],
            scope=JurisdictionScope.unscoped(),
            user_id=users.officer,
            outcome="resolved",
        )
        alerts.record_samples(
            [
                OnlineSample(clock.now(), "C1", "door", total=50, online=49),
                OnlineSample(clock.now(), "C1", "face_camera", total=50, online=50),
            ]
        )
        station = scope_of_user(node, users.officer)  # J-STN and below
        today = alerts.counts_today(scope=station)
        series = alerts.weekly_series(scope=station)
        kpis = alerts.kpis(scope=scope_of_user(node, users.command), jurisdiction_id="J-CITY")
        # A jurisdiction outside the reader's scope is refused, not reported empty.
        with pytest.raises(BadRequestError):
            alerts.kpis(scope=station, jurisdiction_id="J-DIST")
    assert (today.new_today, today.open_now, today.breached_open) == (4, 2, 1)
    assert len(series) == 7
    assert (series[-1].handled, series[-1].open, series[-1].false_alarm) == (1, 2, 1)
    assert kpis.alerts_by_tier == {Tier.MINOR: 1, Tier.GENERAL: 3, Tier.MAJOR: 0}
    assert kpis.median_sign_seconds == 120.0
    assert kpis.median_close_seconds == pytest.approx(240.0)  # 120 s and 360 s
    # Met: general[0] sign + on_site, general[1] both (closed); breached: general[2] sign.
    assert kpis.deadline_compliance_pct == pytest.approx(80.0)
    assert kpis.false_alarm_rate_by_rule == {"alarm": 0.5}
    assert kpis.device_online_rate_pct == pytest.approx(99.0)
