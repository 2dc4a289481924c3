"""Who may act on an alert, and the wall's filters read from a query string.

The alerts service decides which transitions the alert's *state* allows; this module
decides which users the pages offer them to: the tier's owner role or a role above it
(the issue: "only the owner's role or above signs"), and the assignee for the steps on site.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from pydantic import ValidationError

from zhian.access.roles import Role
from zhian.access.service import UserRead
from zhian.alerts.places import JurisdictionTree
from zhian.alerts.schemas import AlertDetail, AlertFilter, AlertState, AlertSummary, Tier
from zhian.errors import BadRequestError, ForbiddenError, NotFoundError

# Rank of the responder roles along the escalation ladder; other roles read but never act.
ROLE_RANK: dict[Role, int] = {
    Role.GRID_WORKER: 1,
    Role.PROPERTY_SECURITY: 1,
    Role.UNIT_SECURITY: 1,
    Role.COMMUNITY_OFFICER: 2,
    Role.STATION_OFFICER: 3,
    Role.COMMAND_CENTRE: 4,
}
LIFECYCLE_ACTIONS = ("sign", "dispatch", "arrive", "handle", "close")
# Steps the assignee does on site, whatever their rank.
_ASSIGNEE_ACTIONS = frozenset({"arrive", "handle", "tick_step"})
FILTER_FIELDS = ("tier", "state", "kind", "place", "since", "until", "open")


def scope_of(user: UserRead) -> str | None:
    """The jurisdiction whose subtree the user sees; None (the whole node) for admins."""
    return user.jurisdiction_id


def communities_in_scope(tree: JurisdictionTree, scope: str | None) -> set[str] | None:
    """Communities under the jurisdiction `scope`; None (all of them) for the whole node."""
    return None if scope is None else tree.communities_in(tree.subtree(scope))


def is_in_scope(tree: JurisdictionTree, scope: str | None, alert: AlertSummary) -> bool:
    """Whether `alert` is owned by, or escalated to, the subtree of `scope`."""
    if scope is None:
        return True
    subtree = tree.subtree(scope)
    return alert.jurisdiction_id in subtree or alert.escalated_to_jurisdiction_id in subtree


def check_in_scope(tree: JurisdictionTree, scope: str | None, alert: AlertSummary) -> None:
    """404 for an alert outside the user's jurisdiction: its existence is not disclosed."""
    if not is_in_scope(tree, scope, alert):
        raise NotFoundError(f"no alert {alert.id} in your jurisdiction", field="alert_id")


def resolve_jurisdiction(
    tree: JurisdictionTree, scope: str | None, asked: str | None
) -> str | None:
    """The jurisdiction to report on: the one asked for if the user's scope holds it."""
    if not asked:
        return scope
    if scope is not None and asked not in tree.subtree(scope):
        raise BadRequestError(
            f"jurisdiction '{asked}' is not in your jurisdiction '{scope}'", field="jurisdiction"
        )
    if asked not in tree.parents:
        raise BadRequestError(f"unknown jurisdiction '{asked}'", field="jurisdiction")
    return asked


def role_rank(role: str) -> int:
    try:
        return ROLE_RANK.get(Role(role), 0)
    except ValueError:
        return 0


def may_act(user: UserRead, alert: AlertSummary, action: str = "sign") -> bool:
    """Whether the pages offer `action` on `alert` to `user` (the state is checked elsewhere)."""
    rank = role_rank(user.role)
    if rank == 0:
        return False
    if (
        action in _ASSIGNEE_ACTIONS
        and isinstance(alert, AlertDetail)
        and alert.assignee_id == user.id
    ):
        return True
    return rank >= max(role_rank(alert.owner_role), 1)


def check_may_act(user: UserRead, alert: AlertSummary, action: str) -> None:
    """Refuse (403, field `role`) when `user` may not take `action` on `alert`."""
    if not may_act(user, alert, action):
        raise ForbiddenError(
            f"alert {alert.id} belongs to the role '{alert.owner_role}' or above; "
            f"you are signed in as '{user.role}'",
            field="role",
        )


def _local(value: str, field: str, zone: timezone) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequestError(
            f"'{value}' is not a date and time like 2026-11-20T09:30", field=field
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def parse_filter(
    params: Mapping[str, str], *, zone: timezone, jurisdiction_id: str | None
) -> AlertFilter:
    """The wall's filter from query parameters; blank means "any". 400 names a bad field.

    Times without an offset are read in the display zone; `open=1` keeps open alerts only.
    """
    values: dict[str, object] = {"jurisdiction_id": jurisdiction_id}
    for name in ("tier", "state", "kind", "place"):
        value = (params.get(name) or "").strip()
        if value:
            values[name] = value
    for name in ("since", "until"):
        value = (params.get(name) or "").strip()
        if value:
            values[name] = _local(value, name, zone)
    is_open = (params.get("open") or "").strip()
    if is_open:
        if is_open not in ("0", "1"):
            raise BadRequestError("open is 1 (open alerts only) or 0", field="open")
        values["is_open"] = is_open == "1"
    try:
        return AlertFilter.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "filter"
        allowed = {
            "tier": ", ".join(tier.value for tier in Tier),
            "state": ", ".join(state.value for state in AlertState),
        }
        hint = f" (one of: {allowed[field]})" if field in allowed else ""
        raise BadRequestError(f"{first['msg']}{hint}", field=field) from None


def page_number(value: str | None) -> int:
    """A 1-based page number from the query; 400 on anything else."""
    if value is None or value == "":
        return 1
    if not value.isdigit() or int(value) < 1 or int(value) > 100_000:
        raise BadRequestError("page is a whole number from 1", field="page")
    return int(value)
