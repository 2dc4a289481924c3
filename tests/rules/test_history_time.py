"""Replayed history raises alerts at their own time; live input, late or not, at arrival.

An SOS pressed at 07:57 and replayed hours later (the demo's replayed days, source
`sim:history`) opens at 07:57 with its response deadline counted from then, so the SLA
board shows it overdue; the same press sent late by a live device opens when it arrives.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter, AlertSummary
from zhian.ingest.events import AlarmEvent, HeartbeatEvent
from zhian.kit.clock import ManualClock
from zhian.node import Node

LATE = timedelta(hours=25, minutes=32)


def _sos(node: Node, source: str, pressed_at: datetime, event_id: str) -> None:
    event = AlarmEvent(id=event_id, device_id="C1-SOS1", time=pressed_at, kind="sos", level=3)
    assert node.intake.submit_events([event], source=source).rejected == 0
    node.rule_engine.drain()


def _alerts(node: Node, kind: str) -> list[AlertSummary]:
    with node.alerts() as alerts:
        return alerts.list_alerts(AlertFilter(kind=kind), scope=JurisdictionScope.unscoped()).items


def test_a_replayed_sos_opens_at_its_own_time_and_is_overdue(
    node: Node, clock: ManualClock
) -> None:
    pressed_at = clock.now()
    clock.advance(LATE)
    _sos(node, "sim:history", pressed_at, "A-history")
    [alert] = _alerts(node, "alarm_sos")
    response = node.settings.alerts.major_response_seconds
    assert alert.created_at == pressed_at
    assert alert.next_deadline is not None
    assert alert.next_deadline.milestone == "response"
    assert alert.next_deadline.due_at == pressed_at + timedelta(seconds=response)
    # Its deadline lies long past: the SLA check breaches it (the overdue figures).
    assert node.alert_loop.sla_monitor.tick(clock.now())[1] == 1


def test_a_late_live_sos_opens_when_it_arrives(node: Node, clock: ManualClock) -> None:
    pressed_at = clock.now()
    clock.advance(LATE)
    _sos(node, "native", pressed_at, "A-late")
    [alert] = _alerts(node, "alarm_sos")
    assert alert.created_at == clock.now()
    assert alert.next_deadline is not None
    assert alert.next_deadline.due_at == clock.now() + timedelta(
        seconds=node.settings.alerts.major_response_seconds
    )


def test_timer_rules_on_history_raise_at_stream_time(node: Node, clock: ManualClock) -> None:
    """A device that stops beating in the replayed history is reported offline at the
    stream time the silence was noticed, not at the (later) moment of the replay."""
    began = clock.now()
    beats = [
        HeartbeatEvent(
            id=f"H-{k}", device_id="C1-E1-DOOR", time=began + timedelta(minutes=5 * k), status="ok"
        )
        for k in range(3)
    ]
    assert node.intake.submit_events(beats, source="sim:history").rejected == 0
    node.rule_engine.drain()
    silent_until = began + timedelta(hours=2)
    clock.advance(LATE)
    node.rule_engine.evaluate(silent_until)
    offline = [a for a in _alerts(node, "device_offline") if a.device_id == "C1-E1-DOOR"]
    assert [a.created_at for a in offline] == [silent_until]
