"""The one scope rule in the alert repository: every read takes a scope, refuses without
one, and grid workers see their own node while officers see the subtree."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.alerts.factories import Users, draft, scope_of_user
from zhian.access.scope import JurisdictionScope, ScopeRequiredError
from zhian.alerts.repository import AlertRepository
from zhian.alerts.schemas import AlertFilter
from zhian.errors import NotFoundError
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService

# A community below J-STN with a jurisdiction node of its own.
BELOW = {
    "jurisdictions": [
        {"id": "J-C2", "parent_id": "J-STN", "level": "community", "name": "南苑社区"}
    ],
    "communities": [
        {
            "id": "C2",
            "jurisdiction_id": "J-C2",
            "name": "South Garden",
            "kind": "gated",
            "latitude": 30.2,
            "longitude": 120.1,
        }
    ],
}


def _raise(node: Node, community: str, subject: str) -> int:
    one = draft(node.clock.now(), subject=subject, event_id=subject, place_id=community)
    with node.alerts() as alerts:
        return alerts.raise_drafts([replace(one, community_id=community)])[0]


@pytest.fixture
def placed(node: Node, users: Users) -> dict[str, int]:
    with node.db.session() as session:
        registry = RegistryService(session)
        for entity, rows in BELOW.items():
            assert registry.load_rows(entity, rows).rejected == 0
    return {"station": _raise(node, "C1", "S-C1"), "below": _raise(node, "C2", "S-C2")}


def _only(jurisdiction_id: str) -> JurisdictionScope:
    """A scope of one jurisdiction node and nothing below it."""
    return JurisdictionScope(
        root=jurisdiction_id,
        jurisdiction_ids=frozenset({jurisdiction_id}),
        community_ids=frozenset(),
    )


def _visible(node: Node, scope: JurisdictionScope) -> set[int]:
    with node.alerts() as alerts:
        return {a.id for a in alerts.list_alerts(AlertFilter(), scope=scope).items}


def test_officers_see_the_subtree_and_grid_workers_their_own_node(
    node: Node, users: Users, placed: dict[str, int]
) -> None:
    officer = scope_of_user(node, users.officer)  # community officer at J-STN
    grid = scope_of_user(node, users.grid)  # grid worker at J-STN
    assert _visible(node, officer) == {placed["station"], placed["below"]}
    assert _visible(node, grid) == {placed["station"]}
    with node.alerts() as alerts, pytest.raises(NotFoundError):
        alerts.get_alert(placed["below"], scope=grid)  # outside: as if it did not exist
    with node.alerts() as alerts:
        assert alerts.counts_today(scope=grid).new_today == 1
        assert alerts.counts_today(scope=officer).new_today == 2
        assert {t.alert.id for t in alerts.my_todos(users.grid, scope=grid)} <= {placed["station"]}


def test_an_escalated_alert_is_seen_by_the_jurisdiction_it_went_to(
    node: Node, users: Users, clock: ManualClock
) -> None:
    alert_id = _raise(node, "C1", "S-ESC")
    district = _only("J-DIST")
    assert alert_id not in _visible(node, district)  # owned by J-STN, below it
    clock.advance(timedelta(minutes=5, seconds=1))  # the sign deadline breaches
    node.alert_loop.sla_monitor.tick(clock.now())
    node.alert_loop.sla_monitor.tick(clock.now())
    assert alert_id in _visible(node, district)  # escalated to J-DIST
    with node.alerts() as alerts:
        assert alerts.get_alert(alert_id, scope=district).escalated_to_jurisdiction_id == "J-DIST"
    assert alert_id not in _visible(node, _only("J-CITY"))


def test_reads_without_a_scope_refuse(node: Node) -> None:
    with node.db.session() as session:
        repository = AlertRepository(session)
        for read in (
            lambda: repository.list_alerts(AlertFilter(), scope=None, offset=0, limit=10),  # type: ignore[arg-type]
            lambda: repository.open_alerts(scope=None),  # type: ignore[arg-type]
            lambda: repository.get(1, scope=None),  # type: ignore[arg-type]
            lambda: repository.get_for_update(1, scope=None),  # type: ignore[arg-type]
        ):
            with pytest.raises(ScopeRequiredError):
                read()
    with node.alerts() as alerts, pytest.raises(TypeError):
        alerts.list_alerts(AlertFilter())  # type: ignore[call-arg]
    with node.alerts() as alerts, pytest.raises(TypeError):
        alerts.sign(1, user_id=1)  # type: ignore[call-arg]


def _act(node: Node, alert_id: int, action: str, scope: JurisdictionScope, user_id: int) -> str:
    """One lifecycle action through the service; the alert's state after it."""
    with node.alerts() as alerts:
        if action == "sign":
            done = alerts.sign(alert_id, scope=scope, user_id=user_id)
        elif action == "dispatch":
            done = alerts.dispatch(alert_id, scope=scope, user_id=user_id)
        elif action == "arrive":
            done = alerts.arrive(alert_id, scope=scope, user_id=user_id)
        elif action == "handle":
            done = alerts.handle(alert_id, scope=scope, user_id=user_id, feedback="已处置")
        elif action == "tick_step":
            done = alerts.tick_step(alert_id, "confirm", scope=scope, user_id=user_id)
        else:
            done = alerts.close(alert_id, scope=scope, user_id=user_id, outcome="resolved")
    return done.state.value


def _timeline(node: Node, alert_id: int) -> list[str]:
    with node.alerts() as alerts:
        detail = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    return [action.action for action in detail.timeline]


LIFECYCLE = ("sign", "dispatch", "arrive", "handle", "close")


@pytest.mark.parametrize("action", [*LIFECYCLE, "tick_step"])
def test_an_action_outside_the_scope_is_not_found_and_changes_nothing(
    node: Node, users: Users, placed: dict[str, int], action: str
) -> None:
    """The service enforces the read rule itself: a grid worker at J-STN does not reach
    the alert of the community below, nor an officer of another station the station's."""
    grid = scope_of_user(node, users.grid)
    elsewhere = _only("J-ELSEWHERE")
    for scope, alert_id in ((grid, placed["below"]), (elsewhere, placed["station"])):
        with pytest.raises(NotFoundError, match="in your jurisdiction"):
            _act(node, alert_id, action, scope, users.grid)
        assert _timeline(node, alert_id) == ["created"]


def test_the_owner_takes_an_alert_through_its_whole_lifecycle(
    node: Node, users: Users, placed: dict[str, int]
) -> None:
    grid = scope_of_user(node, users.grid)
    officer = scope_of_user(node, users.officer)
    assert [_act(node, placed["station"], a, grid, users.grid) for a in LIFECYCLE] == [
        "signed",
        "dispatched",
        "on_site",
        "handled",
        "closed",
    ]
    # The officer's scope is the subtree: the community below is theirs to act on.
    assert _act(node, placed["below"], "sign", officer, users.officer) == "signed"


def test_an_escalated_alert_is_acted_on_where_it_went_as_it_is_read_there(
    node: Node, users: Users, clock: ManualClock
) -> None:
    alert_id = _raise(node, "C1", "S-ESC-ACT")
    district, city = _only("J-DIST"), _only("J-CITY")
    with pytest.raises(NotFoundError):
        _act(node, alert_id, "sign", district, users.station_officer)  # not yet escalated
    clock.advance(timedelta(minutes=5, seconds=1))  # the sign deadline breaches
    node.alert_loop.sla_monitor.tick(clock.now())
    with pytest.raises(NotFoundError):
        _act(node, alert_id, "sign", city, users.command)  # two levels up: not sent there
    assert _act(node, alert_id, "sign", district, users.station_officer) == "signed"
