"""The workbench's figures (today's counts, the week, my to-dos), counted in SQL, agree with
the alerts themselves read one by one, in every scope and across day boundaries."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone

from tests.alerts.factories import Users, draft, scope_of_user
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertDetail, AlertFilter, AlertState, Outcome
from zhian.alerts.service import AlertService
from zhian.kit.clock import ManualClock
from zhian.node import Node

CST = timezone(timedelta(hours=8))
UNSCOPED = JurisdictionScope.unscoped()


def _history(node: Node, clock: ManualClock, users: Users) -> None:
    """About twelve days of alerts, two places, each handled its own way: left open, closed
    as a false alarm at once, handled 13 hours later (often the next day), handled and closed
    resolved, handled and closed as a false alarm."""
    for day in range(9):
        for n, (tier, place) in enumerate(
            [
                ("general", "C1"),
                ("minor", "C1-B1"),
                ("general", "C1"),
                ("major", "C1-B1"),
                ("general", "C1-B1"),
            ]
        ):
            with node.alerts() as alerts:
                (alert_id,) = alerts.raise_drafts(
                    [
                        draft(
                            clock.now(),
                            tier=tier,  # type: ignore[arg-type]
                            subject=f"S{day}-{n}",
                            place_id=place,
                            event_id=f"E{day}-{n}",
                        )
                    ]
                )
                if n == 1:
                    alerts.close(
                        alert_id, scope=UNSCOPED, user_id=users.command, outcome="false_alarm"
                    )
                elif n >= 2:
                    for action in ("sign", "dispatch", "arrive"):
                        getattr(alerts, action)(alert_id, scope=UNSCOPED, user_id=users.officer)
            if n >= 2:
                clock.advance(timedelta(hours=13))  # over midnight (CST) now and then
                with node.alerts() as alerts:
                    alerts.handle(
                        alert_id, scope=UNSCOPED, user_id=users.officer, feedback="已处置"
                    )
                    if n >= 3:
                        outcome = "resolved" if n == 3 else "false_alarm"  # found on site
                        # The major one's command-centre steps come first (#19).
                        for step in alerts.get_alert(alert_id, scope=UNSCOPED).procedure:
                            alerts.tick_step(
                                alert_id, step.key, scope=UNSCOPED, user_id=users.command
                            )
                        alerts.close(
                            alert_id, scope=UNSCOPED, user_id=users.officer, outcome=outcome
                        )
            clock.advance(timedelta(hours=1, minutes=17))
    node.alert_loop.sla_monitor.tick(clock.now())  # some open ones breach and escalate


def _all(alerts: AlertService) -> list[AlertDetail]:
    page = alerts.list_alerts(AlertFilter(), scope=UNSCOPED, per_page=500)
    return [alerts.get_alert(item.id, scope=UNSCOPED) for item in page.items]


def _day(moment: datetime) -> date:
    return moment.astimezone(CST).date()


def test_counts_and_week_match_the_alerts(node: Node, clock: ManualClock, users: Users) -> None:
    _history(node, clock, users)
    now = clock.now()
    today = _day(now)
    week = [today - timedelta(days=6 - i) for i in range(7)]
    for user_id in (users.command, users.officer, users.grid, users.station_officer):
        scope = scope_of_user(node, user_id)
        with node.alerts() as alerts:
            seen = [
                a
                for a in _all(alerts)
                if scope.contains_alert(a.jurisdiction_id, a.escalated_to_jurisdiction_id)
            ]
            counts = alerts.counts_today(scope=scope)
            series = alerts.weekly_series(scope=scope, days=7)
        still_open = [a for a in seen if a.state is not AlertState.CLOSED]
        assert counts.new_today == sum(1 for a in seen if _day(a.created_at) == today)
        assert counts.open_now == len(still_open)
        assert counts.breached_open == sum(1 for a in still_open if a.is_breached)
        handled: Counter[date] = Counter()
        false_alarm: Counter[date] = Counter()
        raised_open: Counter[date] = Counter()
        for a in seen:
            if a.outcome is Outcome.FALSE_ALARM and a.closed_at is not None:
                false_alarm[_day(a.closed_at)] += 1
            elif a.handled_at is not None:
                handled[_day(a.handled_at)] += 1
            if a.state is not AlertState.CLOSED:
                raised_open[_day(a.created_at)] += 1
        assert [(d.day, d.handled, d.open, d.false_alarm) for d in series] == [
            (day, handled[day], raised_open[day], false_alarm[day]) for day in week
        ]
    # The history reaches before the week, and every figure is non-zero somewhere in it.
    assert min(_day(a.created_at) for a in seen) < week[0]
    assert all(sum(getattr(d, name) for d in series) for name in ("handled", "open", "false_alarm"))


def test_my_todos_are_the_open_alerts_that_wait_on_me(
    node: Node, clock: ManualClock, users: Users
) -> None:
    _history(node, clock, users)
    with node.alerts() as alerts:
        everything = _all(alerts)
        for user_id, role in (
            (users.command, "command_centre"),
            (users.officer, "community_officer"),
            (users.grid, "grid_worker"),
        ):
            scope = scope_of_user(node, user_id)
            expected = {
                a.id
                for a in everything
                if a.state is not AlertState.CLOSED
                and scope.contains_alert(a.jurisdiction_id, a.escalated_to_jurisdiction_id)
                and (
                    a.assignee_id == user_id
                    or a.owner_role == role
                    or (
                        a.escalated_to_jurisdiction_id
                        and scope.contains(a.escalated_to_jurisdiction_id)
                    )
                )
            }
            todos = alerts.my_todos(user_id, scope=scope)
            assert {t.alert.id for t in todos} == expected
            assert len(todos) == len(expected)
    assert any(a.state is not AlertState.CLOSED and a.assignee_id for a in everything)
