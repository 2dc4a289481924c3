"""Jurisdiction scopes: subtrees, community-level roles and the SQL clause."""

from __future__ import annotations

import pytest
from sqlalchemy import column, select, table

from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope, ScopeRequiredError, require_scope

PARENTS = {"city": None, "st-1": "city", "c-1": "st-1", "c-2": "st-1", "st-2": "city"}
COMMUNITIES = {"estate": "c-1", "school": "c-2", "street": "st-1", "far": "st-2"}


def scope(role: Role, place: str | None) -> JurisdictionScope:
    return JurisdictionScope.build(
        role=role, jurisdiction_id=place, parents=PARENTS, community_jurisdiction=COMMUNITIES
    )


def test_officers_see_their_subtree_and_community_roles_only_their_node() -> None:
    station = scope(Role.STATION_OFFICER, "st-1")
    assert station.jurisdiction_ids == {"st-1", "c-1", "c-2"}
    assert station.community_ids == {"estate", "school", "street"}
    assert station.contains("c-2") and not station.contains("st-2")
    assert not station.contains(None)
    school = scope(Role.UNIT_SECURITY, "c-2")
    assert school.community_ids == {"school"}
    guard_at_station = scope(Role.PROPERTY_SECURITY, "st-1")
    assert guard_at_station.community_ids == {"street"}  # no descent for community roles
    admin = scope(Role.ADMIN, None)
    assert admin.is_unscoped and admin.contains(None) and admin.contains_community("far")


def test_clause_renders_an_in_list_or_true() -> None:
    devices = table("devices", column("community_id"))
    scoped = select(devices).where(
        scope(Role.UNIT_SECURITY, "c-2").community_clause(devices.c.community_id)
    )
    assert "community_id IN" in str(scoped)
    unscoped = select(devices).where(
        scope(Role.ADMIN, None).community_clause(devices.c.community_id)
    )
    assert "WHERE true" in str(unscoped)


def test_every_role_gets_the_rule_of_its_level() -> None:
    """One rule for every repository: officers, analysts and the command centre see the
    subtree; grid workers, property and unit security only their own node."""
    for role in Role:
        placed = scope(role, "st-1")
        if role in (Role.GRID_WORKER, Role.PROPERTY_SECURITY, Role.UNIT_SECURITY):
            assert placed.jurisdiction_ids == {"st-1"}, role
            assert placed.community_ids == {"street"}, role
        else:
            assert placed.jurisdiction_ids == {"st-1", "c-1", "c-2"}, role


def test_alerts_are_seen_where_owned_and_where_escalated() -> None:
    grid = scope(Role.GRID_WORKER, "st-1")
    assert grid.contains_alert("st-1", None)
    assert not grid.contains_alert("c-1", None)  # below the grid worker's node
    assert grid.contains_alert("c-1", "st-1")  # escalated up to it
    assert scope(Role.STATION_OFFICER, "st-1").contains_alert("c-1", None)
    assert scope(Role.COMMAND_CENTRE, "st-2").contains_alert("c-1", "st-2")
    assert not scope(Role.COMMAND_CENTRE, "st-2").contains_alert("c-1", "st-1")
    assert JurisdictionScope.unscoped().contains_alert(None, None)
    alerts = table("alerts", column("jurisdiction_id"), column("escalated_to_jurisdiction_id"))
    where = grid.alert_clause(alerts.c.jurisdiction_id, alerts.c.escalated_to_jurisdiction_id)
    assert str(where).count(" IN ") == 2 and " OR " in str(where)


def test_narrowing_never_widens_a_scope() -> None:
    station = scope(Role.STATION_OFFICER, "st-1")
    below = station.narrowed(frozenset({"c-1", "st-2"}), frozenset({"estate", "far"}))
    assert below.jurisdiction_ids == {"c-1"} and below.community_ids == {"estate"}
    whole = JurisdictionScope.unscoped().narrowed(frozenset({"st-2"}), frozenset({"far"}))
    assert whole.jurisdiction_ids == {"st-2"} and not whole.is_unscoped


def test_a_scoped_read_without_a_scope_refuses() -> None:
    with pytest.raises(ScopeRequiredError, match=r"JurisdictionScope\.unscoped"):
        require_scope(None)
    assert require_scope(JurisdictionScope.unscoped()).is_unscoped
