"""Every query of the alert loop."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope, require_scope
from zhian.alerts.identifiers import PLATE_KIND, PLATE_TOKEN
from zhian.alerts.models import (
    Alert,
    AlertAction,
    AlertDeadline,
    DeviceOnlineSample,
    Incident,
    ProcedureStep,
    WebhookDelivery,
    WebhookSubscription,
)
from zhian.alerts.schemas import AlertFilter, AlertState, Outcome, owner_roles_of
from zhian.registry.schemas import JurisdictionTreeRead
from zhian.registry.service import RegistryService

_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


class AlertRepository:
    """Reads and writes alert tables; the jurisdiction tree for routing comes from the
    registry service (`RegistryService.jurisdiction_tree`), read in the same session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._registry_tree: JurisdictionTreeRead | None = None

    # -- places ----------------------------------------------------------------------------

    def _tree(self) -> JurisdictionTreeRead:
        # One read per repository (a request, a rule pass): the tree changes only on import.
        if self._registry_tree is None:
            self._registry_tree = RegistryService(self.session).jurisdiction_tree()
        return self._registry_tree

    def jurisdiction_parents(self) -> dict[str, str | None]:
        return dict(self._tree().parents)

    def community_jurisdictions(self) -> dict[str, str]:
        return dict(self._tree().community_jurisdiction)

    def jurisdiction_names(self) -> dict[str, str]:
        return dict(self._tree().names)

    # -- identifiers -----------------------------------------------------------------------

    def open_assignments(self) -> dict[int, int]:
        """Open alerts dispatched to each assignee (across the node: a responder busy in
        another jurisdiction is busy all the same)."""
        query = (
            select(Alert.assignee_id, func.count())
            .where(Alert.assignee_id.is_not(None))
            .where(Alert.state.in_([AlertState.DISPATCHED.value, AlertState.ON_SITE.value]))
            .group_by(Alert.assignee_id)
        )
        rows = self.session.execute(query)
        return {int(user_id): int(count) for user_id, count in rows if user_id is not None}

    def plate_tokens(self) -> set[str]:
        """The vault tokens that stored watchlist-plate alerts hold."""
        tokens = set()
        for evidence in self.session.scalars(
            select(Alert.evidence).where(Alert.kind == PLATE_KIND)
        ):
            token = (evidence.get("figures") or {}).get(PLATE_TOKEN)
            if isinstance(token, str):
                tokens.add(token)
        return tokens

    # -- alerts ----------------------------------------------------------------------------

    def add(self, row: Alert | AlertAction | AlertDeadline | Incident | ProcedureStep) -> None:
        self.session.add(row)

    def flush(self) -> None:
        self.session.flush()

    def get(self, alert_id: int, *, scope: JurisdictionScope) -> Alert | None:
        """The alert if `scope` sees it (where it is owned or escalated to); None outside
        it, exactly as if it did not exist."""
        return self.session.scalars(self._one(alert_id, scope)).first()

    def get_for_update(self, alert_id: int, *, scope: JurisdictionScope) -> Alert | None:
        """`get`, locking the row for a lifecycle step (two desks acting at once queue)."""
        return self.session.scalars(self._one(alert_id, scope).with_for_update()).first()

    def _one(self, alert_id: int, scope: JurisdictionScope) -> Select[Alert]:
        return select(Alert).where(
            Alert.id == alert_id,
            require_scope(scope).alert_clause(
                Alert.jurisdiction_id, Alert.escalated_to_jurisdiction_id
            ),
        )

    def active_by_keys(self, keys: Collection[str]) -> dict[str, Alert]:
        if not keys:
            return {}
        rows = self.session.scalars(select(Alert).where(Alert.active_key.in_(list(keys))))
        return {row.key: row for row in rows}

    def subjects_raised(self, rule: str, subjects: Collection[str]) -> set[str]:
        """Which of `subjects` an alert of `rule` was ever raised for, open or closed."""
        if not subjects:
            return set()
        rows = self.session.scalars(
            select(Alert.subject).where(Alert.rule == rule, Alert.subject.in_(list(subjects)))
        )
        return set(rows)

    def _filtered(self, query: _Query, filters: AlertFilter, scope: JurisdictionScope) -> _Query:
        # The scope first: a read without one refuses rather than returning every alert.
        query = query.where(
            require_scope(scope).alert_clause(
                Alert.jurisdiction_id, Alert.escalated_to_jurisdiction_id
            )
        )
        if filters.tier is not None:
            query = query.where(Alert.tier == filters.tier.value)
        if filters.state is not None:
            query = query.where(Alert.state == filters.state.value)
        if filters.kind is not None:
            query = query.where(Alert.kind == filters.kind)
        if filters.place is not None:
            query = query.where(
                or_(
                    Alert.place_id == filters.place,
                    Alert.community_id == filters.place,
                    Alert.device_id == filters.place,
                )
            )
        if filters.since is not None:
            query = query.where(Alert.created_at >= filters.since)
        if filters.until is not None:
            query = query.where(Alert.created_at < filters.until)
        if filters.is_open is True:
            query = query.where(Alert.state != "closed")
        elif filters.is_open is False:
            query = query.where(Alert.state == "closed")
        if filters.is_breached is not None:
            query = query.where(Alert.is_breached == filters.is_breached)
        return query

    def list_alerts(
        self,
        filters: AlertFilter,
        *,
        scope: JurisdictionScope,
        offset: int,
        limit: int,
    ) -> tuple[list[Alert], int]:
        base = self._filtered(select(Alert), filters, scope)
        total = self.session.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = self.session.scalars(
            base.order_by(Alert.created_at.desc(), Alert.id.desc()).offset(offset).limit(limit)
        )
        return list(rows), total

    def alerts_between(
        self, since: datetime, until: datetime, *, scope: JurisdictionScope
    ) -> list[Alert]:
        return self.list_alerts(
            AlertFilter(since=since, until=until), scope=scope, offset=0, limit=1_000_000
        )[0]

    def open_alerts(self, *, scope: JurisdictionScope) -> list[Alert]:
        return self.list_alerts(AlertFilter(is_open=True), scope=scope, offset=0, limit=1_000_000)[
            0
        ]

    def closed_or_handled_since(self, since: datetime, *, scope: JurisdictionScope) -> list[Alert]:
        query = select(Alert).where(or_(Alert.closed_at >= since, Alert.handled_at >= since))
        query = self._filtered(query, AlertFilter(), scope)
        return list(self.session.scalars(query))

    # The workbench's figures read a few columns, or count in SQL: loading whole alerts
    # (evidence JSON included) for a count made every workbench cost a week of alerts.

    def count_alerts(self, filters: AlertFilter, *, scope: JurisdictionScope) -> int:
        query = self._filtered(select(func.count()).select_from(Alert), filters, scope)
        return int(self.session.scalar(query) or 0)

    def count_open(self, *, scope: JurisdictionScope) -> tuple[int, int]:
        """Open alerts in `scope`: how many, and how many of them have breached a deadline."""
        breached = _count_if(Alert.is_breached.is_(True))
        query = self._filtered(
            select(func.count(), breached).select_from(Alert), AlertFilter(is_open=True), scope
        )
        row = self.session.execute(query).one()
        return int(row[0]), int(row[1])

    def counts_by_state(self) -> list[tuple[str, str, bool, int]]:
        """Node-wide (state, tier, breached, count) of every alert: figures, no record."""
        query = select(Alert.state, Alert.tier, Alert.is_breached, func.count()).group_by(
            Alert.state, Alert.tier, Alert.is_breached
        )
        return [
            (str(state), str(tier), bool(breached), int(count))
            for state, tier, breached, count in self.session.execute(query)
        ]

    def day_figures(
        self,
        windows: Sequence[tuple[datetime, datetime]],
        *,
        raised_until: datetime,
        scope: JurisdictionScope,
    ) -> list[tuple[int, int, int]]:
        """Per [start, end) window, counted in SQL in one pass: alerts handled in it (not
        closed as false alarms), alerts raised in it (before `raised_until`) and still open,
        false alarms closed in it."""
        if not windows:
            return []
        false_alarm = Outcome.FALSE_ALARM.value
        not_false_alarm = or_(
            Alert.outcome.is_(None), Alert.outcome != false_alarm, Alert.closed_at.is_(None)
        )
        columns: list[ColumnElement[int]] = []
        for start, end in windows:
            columns += [
                _count_if(and_(not_false_alarm, Alert.handled_at >= start, Alert.handled_at < end)),
                _count_if(
                    and_(
                        Alert.state != "closed",
                        Alert.created_at >= start,
                        Alert.created_at < min(end, raised_until),
                    )
                ),
                _count_if(
                    and_(
                        Alert.outcome == false_alarm,
                        Alert.closed_at >= start,
                        Alert.closed_at < end,
                    )
                ),
            ]
        first = min(start for start, _end in windows)
        query = select(*columns).where(
            or_(Alert.created_at >= first, Alert.closed_at >= first, Alert.handled_at >= first)
        )
        row = self.session.execute(self._filtered(query, AlertFilter(), scope)).one()
        return [(int(row[i]), int(row[i + 1]), int(row[i + 2])) for i in range(0, len(columns), 3)]

    def open_alerts_of(
        self, *, scope: JurisdictionScope, user_id: int, role: str, everything: bool
    ) -> list[Alert]:
        """Open alerts in `scope` a user must act on: assigned to them, owned by their role
        (or one it shares alerts with: `owner_roles_of`), or escalated to a jurisdiction of
        their (scoped) view; `everything` for an admin."""
        query = self._filtered(select(Alert), AlertFilter(is_open=True), scope)
        if not everything:
            mine: list[ColumnElement[bool]] = [
                Alert.assignee_id == user_id,
                Alert.owner_role.in_(owner_roles_of(role)),
            ]
            if not scope.is_unscoped:
                mine.append(scope.clause(Alert.escalated_to_jurisdiction_id))
            query = query.where(or_(*mine))
        return list(self.session.scalars(query.order_by(Alert.created_at.desc(), Alert.id.desc())))

    def recent_at_place(
        self, place_id: str, since: datetime, exclude_kinds: Collection[str], exclude_id: int
    ) -> Alert | None:
        return self.session.scalars(
            select(Alert)
            .where(
                Alert.place_id == place_id,
                Alert.created_at >= since,
                Alert.id != exclude_id,
                Alert.kind.not_in(list(exclude_kinds)),
            )
            .order_by(Alert.created_at.desc())
            .limit(1)
        ).first()

    def alerts_of_incident(self, incident_id: int) -> list[Alert]:
        return list(
            self.session.scalars(
                select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.id)
            )
        )

    def get_incident(self, incident_id: int) -> Incident | None:
        return self.session.get(Incident, incident_id)

    # -- history, deadlines, procedure -------------------------------------------------------

    def actions_of(self, alert_id: int) -> list[AlertAction]:
        return list(
            self.session.scalars(
                select(AlertAction)
                .where(AlertAction.alert_id == alert_id)
                .order_by(AlertAction.at, AlertAction.id)
            )
        )

    def deadlines_of(self, alert_ids: Collection[int]) -> dict[int, list[AlertDeadline]]:
        out: dict[int, list[AlertDeadline]] = {alert_id: [] for alert_id in alert_ids}
        if not alert_ids:
            return out
        rows = self.session.scalars(
            select(AlertDeadline)
            .where(AlertDeadline.alert_id.in_(list(alert_ids)))
            .order_by(AlertDeadline.due_at, AlertDeadline.id)
        )
        for row in rows:
            out[row.alert_id].append(row)
        return out

    def unmet_deadlines_due(self, before: datetime) -> list[AlertDeadline]:
        return list(
            self.session.scalars(
                select(AlertDeadline)
                .where(
                    AlertDeadline.met_at.is_(None),
                    AlertDeadline.breached_at.is_(None),
                    AlertDeadline.due_at <= before,
                )
                .order_by(AlertDeadline.due_at)
            )
        )

    def deadlines_between(
        self, since: datetime, until: datetime, alert_ids: Collection[int]
    ) -> list[AlertDeadline]:
        if not alert_ids:
            return []
        return list(
            self.session.scalars(
                select(AlertDeadline).where(AlertDeadline.alert_id.in_(list(alert_ids)))
            )
        )

    def steps_of(self, alert_id: int) -> list[ProcedureStep]:
        return list(
            self.session.scalars(
                select(ProcedureStep)
                .where(ProcedureStep.alert_id == alert_id)
                .order_by(ProcedureStep.id)
            )
        )

    # -- webhooks --------------------------------------------------------------------------

    def add_subscription(self, row: WebhookSubscription) -> None:
        self.session.add(row)
        self.session.flush()

    def subscriptions(self, *, active_only: bool) -> list[WebhookSubscription]:
        query = select(WebhookSubscription).order_by(WebhookSubscription.id)
        if active_only:
            query = query.where(WebhookSubscription.is_active.is_(True))
        return list(self.session.scalars(query))

    def get_subscription(self, subscription_id: int) -> WebhookSubscription | None:
        return self.session.get(WebhookSubscription, subscription_id)

    def add_deliveries(self, rows: Sequence[WebhookDelivery]) -> None:
        self.session.add_all(rows)

    def due_deliveries(self, now: datetime, limit: int) -> list[WebhookDelivery]:
        return list(
            self.session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
            )
        )

    def deliveries(self, subscription_id: int) -> list[WebhookDelivery]:
        return list(
            self.session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.subscription_id == subscription_id)
                .order_by(WebhookDelivery.id)
            )
        )

    def deactivate_subscription(self, subscription_id: int) -> int:
        result = self.session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == subscription_id)
            .values(is_active=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # -- online samples --------------------------------------------------------------------

    def add_samples(self, rows: Sequence[DeviceOnlineSample]) -> None:
        self.session.add_all(rows)

    def samples(
        self, since: datetime, until: datetime, *, scope: JurisdictionScope
    ) -> list[DeviceOnlineSample]:
        query = select(DeviceOnlineSample).where(
            DeviceOnlineSample.sampled_at >= since,
            DeviceOnlineSample.sampled_at < until,
            require_scope(scope).community_clause(DeviceOnlineSample.community_id),
        )
        return list(
            self.session.scalars(
                query.order_by(DeviceOnlineSample.sampled_at, DeviceOnlineSample.id)
            )
        )

    # -- history for the parent node (zhian.cascade) ---------------------------------------

    def actions_after(self, after_id: int, limit: int) -> list[tuple[AlertAction, Alert]]:
        """History entries above `after_id`, oldest first, each with its alert."""
        query = (
            select(AlertAction, Alert)
            .join(Alert, Alert.id == AlertAction.alert_id)
            .where(AlertAction.id > after_id)
            .order_by(AlertAction.id)
            .limit(limit)
        )
        return [(action, alert) for action, alert in self.session.execute(query)]

    def samples_after(self, after_id: int, limit: int) -> list[DeviceOnlineSample]:
        query = (
            select(DeviceOnlineSample)
            .where(DeviceOnlineSample.id > after_id)
            .order_by(DeviceOnlineSample.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def newest_action_id(self) -> int:
        return int(self.session.scalar(select(func.max(AlertAction.id))) or 0)

    def newest_sample_id(self) -> int:
        return int(self.session.scalar(select(func.max(DeviceOnlineSample.id))) or 0)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows meet `condition` (0 over no rows, not NULL)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
