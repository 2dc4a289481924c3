"""Jurisdiction scopes: subtrees, community-level roles and the SQL clause."""

from __future__ import annotations

from sqlalchemy import column, select, table

from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope

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
