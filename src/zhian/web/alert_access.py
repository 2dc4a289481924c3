"""Who may act on an alert, and the wall's filters read from a query string.

Which alerts a user sees is not decided here: the alert repository applies the user's
`JurisdictionScope` (zhian.access.scope) in the SQL of every read.

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
from zhian.alerts.schemas import AlertDetail, AlertFilter, AlertState, AlertSummary, Tier
from zhian.errors import BadRequestError, ForbiddenError
from zhian.web.time_input import parse_local_time

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
FILTER_FIELDS = ("tier", "state", "kind", "place", "jurisdiction", "since", "until", "open")


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
    return parse_local_time(value, field, zone)


def parse_filter(params: Mapping[str, str], *, zone: timezone) -> AlertFilter:
    """The wall's filter from query parameters; blank means "any". 400 names a bad field.

    Times without an offset are read in the display zone; `open=1` keeps open alerts only.
    The user's scope is not a filter: the alert service applies it to every read.
    """
    values: dict[str, object] = {}
    for name in ("tier", "state", "kind", "place"):
        value = (params.get(name) or "").strip()
        if value:
            values[name] = value
    jurisdiction = (params.get("jurisdiction") or "").strip()
    if jurisdiction:
        # This jurisdiction and below, within the user's scope (the statistics link here).
        values["jurisdiction_id"] = jurisdiction
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
