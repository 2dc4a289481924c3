"""Jurisdiction scoping: the one rule for who may see what, as SQL clauses.

A repository applies the scope to its own queries (`scope.clause(Table.jurisdiction_id)`,
`scope.community_clause(Table.community_id)`, `scope.alert_clause(...)`), so no page can
forget it, and refuses a call without one (`require_scope`); system work over the whole
node passes `JurisdictionScope.unscoped()` on purpose. See docs/dev/scoping.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.orm import QueryableAttribute

from zhian.access.roles import Role

# Roles that work in one community or key unit: they see their own jurisdiction node and
# the communities attached to it, never what lies below (a property guard sees only their
# estate, a school's security only the school).
COMMUNITY_LEVEL_ROLES: frozenset[Role] = frozenset(
    {Role.GRID_WORKER, Role.PROPERTY_SECURITY, Role.UNIT_SECURITY}
)

ScopedColumn: TypeAlias = ColumnElement[Any] | QueryableAttribute[Any]


class ScopeRequiredError(TypeError):
    """A scoped read was called without a scope: a programming error, never "everything"."""


@dataclass(frozen=True)
class JurisdictionScope:
    """What one user may see: a set of jurisdictions and the communities under them.

    `jurisdiction_ids` is None for an unscoped user (an admin of the whole node); then
    every clause is simply true. An empty set sees nothing.
    """

    root: str | None
    jurisdiction_ids: frozenset[str] | None
    community_ids: frozenset[str] | None

    @classmethod
    def unscoped(cls) -> JurisdictionScope:
        return cls(root=None, jurisdiction_ids=None, community_ids=None)

    @classmethod
    def build(
        cls,
        *,
        role: Role | str,
        jurisdiction_id: str | None,
        parents: Mapping[str, str | None],
        community_jurisdiction: Mapping[str, str],
    ) -> JurisdictionScope:
        """The scope of a user of `role` placed at `jurisdiction_id`, from the tree's tables.

        `parents` maps each jurisdiction to its parent; `community_jurisdiction` maps each
        community to the jurisdiction it belongs to. A user without a jurisdiction is
        unscoped (only unscoped roles may be created that way).
        """
        if jurisdiction_id is None:
            return cls.unscoped()
        if Role(role) in COMMUNITY_LEVEL_ROLES:
            ids = frozenset({jurisdiction_id})
        else:
            ids = frozenset(subtree(parents, jurisdiction_id))
        communities = frozenset(c for c, j in community_jurisdiction.items() if j in ids)
        return cls(root=jurisdiction_id, jurisdiction_ids=ids, community_ids=communities)

    @property
    def is_unscoped(self) -> bool:
        return self.jurisdiction_ids is None

    def contains(self, jurisdiction_id: str | None) -> bool:
        """Whether a record of `jurisdiction_id` is visible (unplaced: unscoped users only)."""
        if self.jurisdiction_ids is None:
            return True
        return jurisdiction_id is not None and jurisdiction_id in self.jurisdiction_ids

    def contains_community(self, community_id: str | None) -> bool:
        if self.community_ids is None:
            return True
        return community_id is not None and community_id in self.community_ids

    def contains_alert(self, jurisdiction_id: str | None, escalated_to: str | None) -> bool:
        """Whether an alert owned by `jurisdiction_id` (escalated to `escalated_to`) is
        visible: the same rule as `alert_clause`, for one already loaded (the live feed)."""
        if self.jurisdiction_ids is None:
            return True
        return self.contains(jurisdiction_id) or self.contains(escalated_to)

    def narrowed(
        self, jurisdiction_ids: frozenset[str], community_ids: frozenset[str]
    ) -> JurisdictionScope:
        """This scope cut down to the given jurisdictions and communities (a report on one
        jurisdiction below the user's): never wider than the scope itself."""
        jurisdictions = (
            jurisdiction_ids
            if self.jurisdiction_ids is None
            else jurisdiction_ids & self.jurisdiction_ids
        )
        communities = (
            community_ids if self.community_ids is None else community_ids & self.community_ids
        )
        return JurisdictionScope(
            root=self.root, jurisdiction_ids=jurisdictions, community_ids=communities
        )

    def clause(self, column: ScopedColumn) -> ColumnElement[bool]:
        """`column IN (jurisdictions in scope)`, or TRUE for an unscoped user."""
        return _in(column, self.jurisdiction_ids)

    def community_clause(self, column: ScopedColumn) -> ColumnElement[bool]:
        """`column IN (communities in scope)`, or TRUE for an unscoped user."""
        return _in(column, self.community_ids)

    def alert_clause(self, owner: ScopedColumn, escalated_to: ScopedColumn) -> ColumnElement[bool]:
        """An alert is visible where it is owned, and where it has been escalated to (the
        supervisor who must act on a breached deadline sees it)."""
        if self.jurisdiction_ids is None:
            return true()
        return or_(_in(owner, self.jurisdiction_ids), _in(escalated_to, self.jurisdiction_ids))


def require_scope(scope: JurisdictionScope | None) -> JurisdictionScope:
    """The scope, or ScopeRequiredError: a repository never reads "everything" by default."""
    if not isinstance(scope, JurisdictionScope):
        raise ScopeRequiredError(
            "a scoped read needs a JurisdictionScope: the user's (AccessService.scope_for) "
            "or, for system work over the whole node, JurisdictionScope.unscoped()"
        )
    return scope


def _in(column: ScopedColumn, ids: frozenset[str] | None) -> ColumnElement[bool]:
    if ids is None:
        return true()
    # Sorted: the same scope renders the same SQL (statement caches, readable logs).
    return column.in_(sorted(ids))


def subtree(parents: Mapping[str, str | None], root: str) -> set[str]:
    """`root` and every jurisdiction below it (cycles in bad data end the walk)."""
    children: dict[str, list[str]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    out = {root}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out
