"""The alert lifecycle on a manual clock: every transition, who/when/where, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.alerts.factories import Users, draft
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter, AlertState, Outcome
from zhian.errors import BadRequestError, ConflictError, NotFoundError
from zhian.kit.clock import ManualClock
from zhian.node import Node

IMAGE = "img:" + "ab" * 32 + ".jpg"


def _raise(node: Node, **kwargs: object) -> int:
    with node.alerts() as alerts:
        return alerts.raise_drafts([draft(node.clock.now(), **kwargs)])[0]  # type: ignore[arg-type]


def test_every_transition_records_who_when_where_and_note(
    node: Node, users: Users, clock: ManualClock
) -> None:
    alert_id = _raise(node)
    with node.alerts() as alerts:
        new = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    assert new.state is AlertState.NEW
    assert new.jurisdiction_id == "J-STN" and new.owner_role == "community_officer"
    assert new.actions == ["sign", "close"]
    assert new.evidence.events[0].id == "E1"
    steps = [
        ("sign", {}),
        ("dispatch", {"assignee_id": users.grid}),
        ("arrive", {}),
        ("handle", {"feedback": "门已修好，无人员进入", "attachments": [IMAGE]}),
    ]
    for number, (action, extra) in enumerate(steps):
        clock.advance(timedelta(minutes=1))
        with node.alerts() as alerts:
            method = getattr(alerts, action)
            method(
                alert_id,
                scope=JurisdictionScope.unscoped(),
                user_id=users.officer,
                ip="10.0.0.7",
                note=f"step {number}",
                **extra,
            )
    clock.advance(timedelta(minutes=1))
    with node.alerts() as alerts:
        closed = alerts.close(
            alert_id,
            scope=JurisdictionScope.unscoped(),
            user_id=users.officer,
            outcome="resolved",
            ip="10.0.0.7",
        )
    assert closed.state is AlertState.CLOSED and closed.outcome is Outcome.RESOLVED
    assert closed.assignee_id == users.grid
    assert closed.feedback == "门已修好，无人员进入" and closed.attachments == [IMAGE]
    assert closed.actions == []
    timeline = [(a.action, a.from_state, a.to_state) for a in closed.timeline]
    assert timeline == [
        ("created", None, AlertState.NEW),
        ("sign", AlertState.NEW, AlertState.SIGNED),
        ("dispatch", AlertState.SIGNED, AlertState.DISPATCHED),
        ("arrive", AlertState.DISPATCHED, AlertState.ON_SITE),
        ("handle", AlertState.ON_SITE, AlertState.HANDLED),
        ("close", AlertState.HANDLED, AlertState.CLOSED),
    ]
    sign = closed.timeline[1]
    assert sign.user_id == users.officer and sign.ip == "10.0.0.7" and sign.note == "step 0"
    assert sign.at == closed.signed_at
    assert all(d.met_at is not None and d.breached_at is None for d in closed.deadlines)


@pytest.mark.parametrize(
    ("action", "extra", "state_name"),
    [
        ("dispatch", {}, "new"),
        ("arrive", {}, "new"),
        ("handle", {"feedback": "done"}, "new"),
    ],
)
def test_a_step_the_state_does_not_allow_is_refused_naming_the_state(
    node: Node, users: Users, action: str, extra: dict[str, str], state_name: str
) -> None:
    alert_id = _raise(node)
    with pytest.raises(ConflictError) as refused, node.alerts() as alerts:
        getattr(alerts, action)(
            alert_id, scope=JurisdictionScope.unscoped(), user_id=users.officer, **extra
        )
    assert f"is '{state_name}'" in refused.value.message
    assert refused.value.field == "state" and refused.value.status_code == 409
    with node.alerts() as alerts:
        assert (
            alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped()).state is AlertState.NEW
        )


def test_sign_twice_resolve_before_handled_and_anything_after_close_are_refused(
    node: Node, users: Users
) -> None:
    alert_id = _raise(node)
    with node.alerts() as alerts:
        alerts.sign(alert_id, scope=JurisdictionScope.unscoped(), user_id=users.officer)
    with pytest.raises(ConflictError, match="is 'signed': cannot sign"), node.alerts() as alerts:
        alerts.sign(alert_id, scope=JurisdictionScope.unscoped(), user_id=users.officer)
    with pytest.raises(ConflictError, match="needs state 'handled'"), node.alerts() as alerts:
        alerts.close(
            alert_id, scope=JurisdictionScope.unscoped(), user_id=users.officer, outcome="resolved"
        )
    with node.alerts() as alerts:
        done = alerts.close(
            alert_id,
            scope=JurisdictionScope.unscoped(),
            user_id=users.officer,
            outcome=Outcome.FALSE_ALARM,
        )
    assert done.outcome is Outcome.FALSE_ALARM
    with pytest.raises(ConflictError, match="already 'closed'"), node.alerts() as alerts:
        alerts.close(
            alert_id, scope=JurisdictionScope.unscoped(), user_id=users.officer, outcome="duplicate"
        )
    with pytest.raises(ConflictError, match="is 'closed'"), node.alerts() as alerts:
        alerts.dispatch(alert_id, scope=JurisdictionScope.unscoped(), user_id=users.officer)


def test_bad_input_names_the_field(node: Node, users: Users) -> None:
    alert_id = _raise(node)
    with node.alerts() as alerts:
        for action in ("sign", "dispatch", "arrive"):
            getattr(alerts, action)(
                alert_id, scope=JurisdictionScope.unscoped(), user_id=users.officer
            )
    with pytest.raises(BadRequestError) as empty, node.alerts() as alerts:
        alerts.handle(
            alert_id, scope=JurisdictionScope.unscoped(), user_id=users.officer, feedback="  "
        )
    assert empty.value.field == "feedback"
    with pytest.raises(BadRequestError) as image, node.alerts() as alerts:
        alerts.handle(
            alert_id,
            scope=JurisdictionScope.unscoped(),
            user_id=users.officer,
            feedback="ok",
            attachments=["photo.jpg"],
        )
    assert image.value.field == "attachments"
    with pytest.raises(BadRequestError) as outcome, node.alerts() as alerts:
        alerts.close(
            alert_id, scope=JurisdictionScope.unscoped(), user_id=users.officer, outcome="fixed"
        )
    assert outcome.value.field == "outcome" and "false_alarm" in outcome.value.message
    with pytest.raises(NotFoundError) as missing, node.alerts() as alerts:
        alerts.sign(9999, scope=JurisdictionScope.unscoped(), user_id=users.officer)
    assert missing.value.field == "alert_id"


def test_repeats_update_one_open_alert_and_a_closed_key_opens_a_new_one(
    node: Node, users: Users, clock: ManualClock
) -> None:
    first = _raise(node, event_id="E1")
    clock.advance(timedelta(seconds=30))
    again = _raise(node, event_id="E2")
    assert again == first
    with node.alerts() as alerts:
        detail = alerts.get_alert(first, scope=JurisdictionScope.unscoped())
        assert detail.count == 2
        assert [e.id for e in detail.evidence.events] == ["E1", "E2"]
        alerts.close(
            first, scope=JurisdictionScope.unscoped(), user_id=users.officer, outcome="false_alarm"
        )
    assert _raise(node, event_id="E3") != first
    with node.alerts() as alerts:
        assert (
            alerts.list_alerts(
                AlertFilter(kind="alarm_intrusion"), scope=JurisdictionScope.unscoped()
            ).total
            == 2
        )


def test_list_filters_and_paging(node: Node, users: Users, clock: ManualClock) -> None:
    ids = []
    for n, tier in enumerate(["minor", "general", "major", "general"]):
        ids.append(_raise(node, tier=tier, subject=f"S{n}", event_id=f"E{n}"))
        clock.advance(timedelta(minutes=1))
    with node.alerts() as alerts:
        alerts.sign(ids[1], scope=JurisdictionScope.unscoped(), user_id=users.officer)
        assert (
            alerts.list_alerts(
                AlertFilter(tier="general"), scope=JurisdictionScope.unscoped()
            ).total
            == 2
        )
        assert [
            a.id
            for a in alerts.list_alerts(
                AlertFilter(state="signed"), scope=JurisdictionScope.unscoped()
            ).items
        ] == [ids[1]]
        page = alerts.list_alerts(
            AlertFilter(), page=2, per_page=3, scope=JurisdictionScope.unscoped()
        )
        assert page.total == 4 and [a.id for a in page.items] == [ids[0]]
        assert (
            alerts.list_alerts(
                AlertFilter(place="C1-E1-DOOR"), scope=JurisdictionScope.unscoped()
            ).total
            == 4
        )
        assert (
            alerts.list_alerts(
                AlertFilter(jurisdiction_id="J-CITY"), scope=JurisdictionScope.unscoped()
            ).total
            == 4
        )
        assert (
            alerts.list_alerts(
                AlertFilter(jurisdiction_id="J-OTHER"), scope=JurisdictionScope.unscoped()
            ).total
            == 0
        )
        since = clock.now() - timedelta(minutes=2, seconds=30)
        assert (
            alerts.list_alerts(AlertFilter(since=since), scope=JurisdictionScope.unscoped()).total
            == 2
        )
        with pytest.raises(BadRequestError) as bad:
            alerts.list_alerts(AlertFilter(), per_page=0, scope=JurisdictionScope.unscoped())
        assert bad.value.field == "per_page"
