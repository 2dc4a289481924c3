"""The alert lifecycle: raising from drafts, routing, transitions, procedures, correlation."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope, require_scope
from zhian.access.service import AccessService
from zhian.alerts import readers
from zhian.alerts.drafts import TIER_ORDER, AlertClear, AlertDraft, OnlineSample
from zhian.alerts.models import (
    Alert,
    AlertAction,
    AlertDeadline,
    DeviceOnlineSample,
    Incident,
    ProcedureStep,
)
from zhian.alerts.notes import NoteSealer
from zhian.alerts.places import JurisdictionTree
from zhian.alerts.procedure_store import load_book
from zhian.alerts.procedures import ProcedureBook
from zhian.alerts.repository import AlertRepository
from zhian.alerts.schemas import (
    AlertDetail,
    AlertFilter,
    AlertFinding,
    AlertHistoryEntry,
    AlertPage,
    AlertState,
    AlertSummary,
    DaySeries,
    KpiReport,
    LiveMessage,
    OnlineRatePoint,
    OnlineSampleRead,
    Outcome,
    TodayCounts,
    TodoItem,
)
from zhian.alerts.settings import AlertSettings
from zhian.alerts.sla import DeadlinePolicy, milestones_met_by
from zhian.alerts.webhooks import BodyCipher, WebhookService
from zhian.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError
from zhian.kit.characters import plain_text_fault
from zhian.kit.clock import Clock

# The responder role for each tier (routing: jurisdiction of the place + this role).
TIER_ROLES: dict[str, Role] = {
    "minor": Role.GRID_WORKER,
    "general": Role.COMMUNITY_OFFICER,
    "major": Role.COMMAND_CENTRE,
}
# step action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[AlertState], AlertState]] = {
    "sign": (frozenset({AlertState.NEW}), AlertState.SIGNED),
    "dispatch": (frozenset({AlertState.SIGNED}), AlertState.DISPATCHED),
    "arrive": (frozenset({AlertState.DISPATCHED}), AlertState.ON_SITE),
    "handle": (frozenset({AlertState.ON_SITE}), AlertState.HANDLED),
}
OPEN_STATES = frozenset(AlertState) - {AlertState.CLOSED}
# Maintenance alerts are not merged into incidents with alarms at the same place.
UNCORRELATED_KINDS = frozenset({"device_offline", "device_fault"})
MAX_EVIDENCE_EVENTS = 20
MAX_NOTE_CHARS = 2000
MAX_FEEDBACK_CHARS = 4000  # the API's limit on a handling's feedback


class AlertService:
    """Raises alerts from rule drafts and moves them through their lifecycle.

    Every transition records who, when, from where and a note, and refuses a step the
    current state does not allow with a `ConflictError` that names the state. What
    happened is queued in `messages` (the live feed, published by the caller after the
    commit) and as webhook deliveries (in this same transaction). Nothing commits here.
    """

    def __init__(
        self,
        session: Session,
        *,
        clock: Clock,
        settings: AlertSettings,
        cipher: BodyCipher | None,
    ) -> None:
        # `cipher` has no default: a service made without the key ring cannot queue webhook
        # messages or keep notes, and a caller that forgot it failed only when a webhook was
        # active (the cascade's services did). None is for code that never does either.
        self.session = session
        self.repository = AlertRepository(session)
        self.clock = clock
        self.settings = settings
        self.messages: list[LiveMessage] = []
        # The cipher seals the messages queued for webhooks (#12).
        self.webhooks = WebhookService(session, clock=clock, settings=settings, cipher=cipher)
        # And what officers type (notes, reasons, feedback) at rest.
        self.notes = NoteSealer(cipher)
        self._tree: JurisdictionTree | None = None
        self._procedures: ProcedureBook | None = None
        # Recorded with every action of this service (it lives for one request): the
        # request's idempotency key, the responder's reported position.
        self.action_data: dict[str, Any] = {}

    @property
    def procedures(self) -> ProcedureBook:
        """This node's response procedures (read once per service, i.e. per request)."""
        if self._procedures is None:
            self._procedures = load_book(self.session)
        return self._procedures

    # -- places ----------------------------------------------------------------------------

    @property
    def tree(self) -> JurisdictionTree:
        if self._tree is None:
            self._tree = JurisdictionTree(
                parents=self.repository.jurisdiction_parents(),
                community_jurisdiction=self.repository.community_jurisdictions(),
            )
        return self._tree

    def _within(self, scope: JurisdictionScope, jurisdiction_id: str | None) -> JurisdictionScope:
        """`scope` narrowed to the subtree of `jurisdiction_id` (a filter or a report on one
        jurisdiction): never wider than the caller's scope."""
        if jurisdiction_id is None:
            return require_scope(scope)
        below = self.tree.subtree(jurisdiction_id)
        return require_scope(scope).narrowed(
            frozenset(below), frozenset(self.tree.communities_in(below))
        )

    # -- raising ---------------------------------------------------------------------------

    def raise_drafts(self, drafts: Sequence[AlertDraft]) -> list[int]:
        """Open an alert per new key; a draft whose key is open updates that alert instead."""
        if not drafts:
            return []
        active = self.repository.active_by_keys({draft.key for draft in drafts})
        ids: list[int] = []
        for draft in drafts:
            alert = active.get(draft.key)
            if alert is None:
                alert = self._open(draft)
                active[draft.key] = alert
            else:
                self._repeat(alert, draft)
            ids.append(alert.id)
        return ids

    def subjects_raised(self, rule: str, subjects: Collection[str]) -> set[str]:
        """Which subjects already have an alert of `rule`: an import raising one alert per
        record of its own id raises none twice."""
        return self.repository.subjects_raised(rule, subjects)

    def _open(self, draft: AlertDraft) -> Alert:
        now = self.clock.now()
        # Replayed history opens at the time the rule raised it (never later than now), so
        # its deadlines, and the overdue figures built on them, are those of its own time.
        if draft.raised_at is not None and draft.raised_at < now:
            now = draft.raised_at
        jurisdiction_id = self.tree.of_community(draft.community_id)
        alert = Alert(
            rule=draft.rule,
            kind=draft.kind,
            tier=draft.tier,
            state=AlertState.NEW.value,
            key=draft.key,
            active_key=draft.key,
            subject=draft.subject,
            place_id=draft.place_id,
            place_name=draft.place_name,
            device_id=draft.device_id,
            community_id=draft.community_id,
            jurisdiction_id=jurisdiction_id,
            owner_role=TIER_ROLES[draft.tier].value,
            title_zh=draft.explanation_zh[:500],
            title_en=draft.explanation_en[:500],
            evidence=readers.evidence_json(draft),
            count=1,
            is_breached=False,
            created_at=now,
            first_seen_at=draft.observed_at,
            last_seen_at=draft.observed_at,
            attachments=[],
        )
        self.repository.add(alert)
        self.repository.flush()
        policy = DeadlinePolicy(self.settings, self.tree)
        for milestone, seconds in policy.deadlines(draft.tier, jurisdiction_id):
            self.repository.add(
                AlertDeadline(
                    alert_id=alert.id, milestone=milestone, due_at=now + timedelta(seconds=seconds)
                )
            )
        self._record(alert, "created", None, AlertState.NEW, user_id=None, ip=None, note="", at=now)
        self.repository.flush()
        self._emit("alert.created", alert)
        self._correlate(alert)
        return alert

    def _repeat(self, alert: Alert, draft: AlertDraft) -> None:
        alert.count += 1
        alert.last_seen_at = max(alert.last_seen_at, draft.observed_at)
        alert.evidence = readers.merge_evidence(alert.evidence, draft, MAX_EVIDENCE_EVENTS)
        if TIER_ORDER[draft.tier] > TIER_ORDER[alert.tier]:
            alert.tier = draft.tier
            alert.owner_role = TIER_ROLES[draft.tier].value
            alert.title_zh, alert.title_en = draft.explanation_zh, draft.explanation_en
        self.repository.flush()
        self._emit("alert.updated", alert, {"count": alert.count})

    def _correlate(self, alert: Alert) -> None:
        window = self.settings.correlation_window_seconds
        if window <= 0 or alert.kind in UNCORRELATED_KINDS:
            return
        other = self.repository.recent_at_place(
            alert.place_id,
            alert.created_at - timedelta(seconds=window),
            UNCORRELATED_KINDS,
            alert.id,
        )
        if other is None:
            return
        incident = (
            None if other.incident_id is None else self.repository.get_incident(other.incident_id)
        )
        if incident is None:
            incident = Incident(
                place_id=alert.place_id,
                community_id=alert.community_id,
                opened_at=other.created_at,
                last_alert_at=alert.created_at,
                alert_count=1,
            )
            self.repository.add(incident)
            self.repository.flush()
            other.incident_id = incident.id
        alert.incident_id = incident.id
        incident.alert_count += 1
        incident.last_alert_at = alert.created_at
        self.repository.flush()
        alert_ids = [a.id for a in self.repository.alerts_of_incident(incident.id)]
        self._emit("incident.updated", alert, {"incident_id": incident.id, "alert_ids": alert_ids})

    def clear(self, clears: Iterable[AlertClear]) -> list[int]:
        """Close open alerts whose condition ended by itself (outcome resolved, by the system)."""
        wanted = {clear.key: clear for clear in clears}
        closed = []
        for key, alert in self.repository.active_by_keys(wanted.keys()).items():
            clear = wanted[key]
            note = f"{clear.note_zh} / {clear.note_en}"
            # Replayed history closes at the time the rule cleared it (never later than now).
            at = clear.cleared_at
            self._close(
                alert,
                Outcome.RESOLVED,
                user_id=None,
                ip=None,
                note=note,
                action="cleared",
                at=at if at is not None and at < self.clock.now() else None,
            )
            closed.append(alert.id)
        return closed

    def record_samples(self, samples: Iterable[OnlineSample]) -> None:
        self.repository.add_samples(
            [
                DeviceOnlineSample(
                    sampled_at=s.sampled_at,
                    community_id=s.community_id,
                    device_kind=s.device_kind,
                    total=s.total,
                    online=s.online,
                )
                for s in samples
            ]
        )

    # -- lifecycle -------------------------------------------------------------------------

    def sign(
        self,
        alert_id: int,
        *,
        scope: JurisdictionScope,
        user_id: int,
        ip: str | None = None,
        note: str = "",
    ) -> AlertDetail:
        return self._step(alert_id, "sign", scope=scope, user_id=user_id, ip=ip, note=note)

    def dispatch(
        self,
        alert_id: int,
        *,
        scope: JurisdictionScope,
        user_id: int,
        assignee_id: int | None = None,
        ip: str | None = None,
        note: str = "",
    ) -> AlertDetail:
        return self._step(
            alert_id,
            "dispatch",
            scope=scope,
            user_id=user_id,
            ip=ip,
            note=note,
            assignee_id=assignee_id if assignee_id is not None else user_id,
        )

    def arrive(
        self,
        alert_id: int,
        *,
        scope: JurisdictionScope,
        user_id: int,
        ip: str | None = None,
        note: str = "",
    ) -> AlertDetail:
        return self._step(alert_id, "arrive", scope=scope, user_id=user_id, ip=ip, note=note)

    def handle(
        self,
        alert_id: int,
        *,
        scope: JurisdictionScope,
        user_id: int,
        feedback: str,
        attachments: Sequence[str] = (),
        ip: str | None = None,
        note: str = "",
    ) -> AlertDetail:
        if not feedback.strip():
            raise BadRequestError("feedback is required to mark an alert handled", field="feedback")
        feedback = _note(feedback, "feedback", MAX_FEEDBACK_CHARS)
        bad = [ref for ref in attachments if not readers.is_image_ref(ref)]
        if bad:
            raise BadRequestError(
                f"attachment '{bad[0]}' is not an image reference (img:<sha256>.jpg|png)",
                field="attachments",
            )
        return self._step(
            alert_id,
            "handle",
            scope=scope,
            user_id=user_id,
            ip=ip,
            note=note,
            feedback=feedback.strip(),
            attachments=list(attachments),
        )

    def close(
        self,
        alert_id: int,
        *,
        scope: JurisdictionScope,
        user_id: int,
        outcome: Outcome | str,
        ip: str | None = None,
        note: str = "",
    ) -> AlertDetail:
        try:
            chosen = Outcome(outcome)
        except ValueError:
            names = ", ".join(o.value for o in Outcome)
            raise BadRequestError(
                f"outcome '{outcome}' is not one of: {names}", field="outcome"
            ) from None
        alert = self._get(alert_id, scope=scope, for_update=True)
        state = AlertState(alert.state)
        if state is AlertState.CLOSED:
            raise ConflictError(f"alert {alert_id} is already 'closed'", field="state")
        if chosen is Outcome.RESOLVED:
            if state is not AlertState.HANDLED:
                raise ConflictError(
                    f"alert {alert_id} is '{state.value}': closing as resolved needs state "
                    "'handled' (feedback first)",
                    field="state",
                )
            pending = [s.key for s in self._steps(alert) if s.status == "pending"]
            if pending:
                raise ConflictError(
                    f"alert {alert_id} has procedure steps not ticked or skipped: "
                    + ", ".join(pending),
                    field="procedure",
                )
        self._close(alert, chosen, user_id=user_id, ip=ip, note=_note(note), action="close")
        return self._detail(alert)

    def tick_step(
        self,
        alert_id: int,
        step: str,
        *,
        scope: JurisdictionScope,
        user_id: int,
        skipped: bool = False,
        reason: str = "",
        ip: str | None = None,
        role: str | None = None,
    ) -> AlertDetail:
        """Tick (or skip, with a reason) a step of the alert's procedure. A step of a role
        (the command centre's steps of a major alert) is taken by that role only; `role`
        is the acting user's (None: a caller that has checked it)."""
        alert = self._get(alert_id, scope=scope, for_update=True)
        if alert.state == AlertState.CLOSED:
            raise ConflictError(
                f"alert {alert_id} is 'closed': its procedure is final", field="state"
            )
        steps = {s.key: s for s in self._steps(alert)}
        if step not in steps:
            known = ", ".join(steps) or "none (this kind has no procedure)"
            raise BadRequestError(f"unknown step '{step}'; steps: {known}", field="step")
        owner = steps[step].role
        if owner is not None and role is not None and role != owner:
            raise ForbiddenError(
                f"step '{step}' is taken by the role {owner}, not {role}", field="step"
            )
        if steps[step].status != "pending":
            raise ConflictError(f"step '{step}' is already {steps[step].status}", field="step")
        if skipped and not reason.strip():
            raise BadRequestError("skipping a step needs a reason", field="reason")
        reason = _note(reason, "reason")
        now = self.clock.now()
        status = "skipped" if skipped else "ticked"
        self.repository.add(
            ProcedureStep(
                alert_id=alert.id,
                step=step,
                status=status,
                reason_enc=self.notes.seal(
                    "alert_procedure_steps.reason_enc", alert.id, reason.strip()
                ),
                user_id=user_id,
                at=now,
            )
        )
        self._record(
            alert,
            "tick_step",
            None,
            None,
            user_id=user_id,
            ip=ip,
            note=_note(reason),
            data={"step": step, "status": status},
        )
        if skipped:
            supervisor = self.tree.parent(
                alert.escalated_to_jurisdiction_id or alert.jurisdiction_id
            )
            self._emit(
                "procedure.skipped",
                alert,
                {
                    "step": step,
                    "reason": reason.strip(),
                    "user_id": user_id,
                    "supervisor_jurisdiction_id": supervisor,
                },
            )
        self.repository.flush()
        return self._detail(alert)

    def _step(
        self,
        alert_id: int,
        action: str,
        *,
        scope: JurisdictionScope,
        user_id: int,
        ip: str | None,
        note: str,
        **changes: Any,
    ) -> AlertDetail:
        sources, target = TRANSITIONS[action]
        alert = self._get(alert_id, scope=scope, for_update=True)
        state = AlertState(alert.state)
        if state not in sources:
            needed = " or ".join(f"'{s.value}'" for s in sorted(sources))
            raise ConflictError(
                f"alert {alert_id} is '{state.value}': cannot {action}; {action} needs state "
                f"{needed}",
                field="state",
            )
        now = self.clock.now()
        alert.state = target.value
        if action == "sign":
            alert.signed_at, alert.signed_by = now, user_id
        elif action == "dispatch":
            alert.dispatched_at, alert.assignee_id = now, changes["assignee_id"]
        elif action == "arrive":
            alert.on_site_at = now
        elif action == "handle":
            alert.handled_at = now
            alert.feedback_enc = self.notes.seal(
                "alerts.feedback_enc", alert.id, changes["feedback"]
            )
            alert.attachments = changes["attachments"]
        self._meet(alert, milestones_met_by(action), now)
        data = {k: v for k, v in changes.items() if k != "feedback"}
        self._record(
            alert, action, state, target, user_id=user_id, ip=ip, note=_note(note), data=data
        )
        self.repository.flush()
        self._emit(
            "alert.transition",
            alert,
            {
                "action": action,
                "from_state": state.value,
                "to_state": target.value,
                "user_id": user_id,
                # A dispatch names whom it went to (pushed to that user's phone).
                **({"assignee_id": alert.assignee_id} if action == "dispatch" else {}),
            },
        )
        return self._detail(alert)

    def _close(
        self,
        alert: Alert,
        outcome: Outcome,
        *,
        user_id: int | None,
        ip: str | None,
        note: str,
        action: str,
        at: datetime | None = None,
    ) -> None:
        now = at or self.clock.now()
        state = AlertState(alert.state)
        alert.state = AlertState.CLOSED.value
        alert.outcome = outcome.value
        alert.closed_at, alert.closed_by = now, user_id
        alert.active_key = None
        # Closing ends every clock: what was not breached counts as met now.
        self._meet(alert, None, now)
        self._record(
            alert,
            action,
            state,
            AlertState.CLOSED,
            user_id=user_id,
            ip=ip,
            note=note,
            data={"outcome": outcome.value},
            at=now,
        )
        self.repository.flush()
        self._emit(
            "alert.transition",
            alert,
            {
                "action": action,
                "from_state": state.value,
                "to_state": "closed",
                "user_id": user_id,
                "outcome": outcome.value,
            },
        )

    def _meet(self, alert: Alert, milestones: frozenset[str] | None, now: datetime) -> None:
        for deadline in self.repository.deadlines_of([alert.id])[alert.id]:
            if deadline.met_at is None and (milestones is None or deadline.milestone in milestones):
                deadline.met_at = now

    def _get(self, alert_id: int, *, scope: JurisdictionScope, for_update: bool = False) -> Alert:
        """The alert `scope` sees (the read rule: owned or escalated to), or 404: an alert
        outside the scope is answered as if it did not exist."""
        alert = (
            self.repository.get_for_update(alert_id, scope=scope)
            if for_update
            else self.repository.get(alert_id, scope=scope)
        )
        if alert is None:
            where = "" if scope.is_unscoped else " in your jurisdiction"
            raise NotFoundError(f"no alert {alert_id}{where}", field="alert_id")
        return alert

    def _steps(self, alert: Alert) -> list[readers.StepState]:
        return readers.step_states(
            self.procedures.steps_for(alert.kind, alert.tier),
            self.repository.steps_of(alert.id),
            self.notes,
        )

    def _record(
        self,
        alert: Alert,
        action: str,
        from_state: AlertState | None,
        to_state: AlertState | None,
        *,
        user_id: int | None,
        ip: str | None,
        note: str,
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        self.repository.add(
            AlertAction(
                alert_id=alert.id,
                action=action,
                from_state=None if from_state is None else from_state.value,
                to_state=None if to_state is None else to_state.value,
                user_id=user_id,
                ip=ip,
                note_enc=self.notes.seal("alert_actions.note_enc", alert.id, note),
                at=at or self.clock.now(),
                data={**(data or {}), **self.action_data},
            )
        )

    def _emit(self, kind: str, alert: Alert | None, data: dict[str, Any] | None = None) -> None:
        summary = None if alert is None else self._summary(alert)
        message = LiveMessage(type=kind, at=self.clock.now(), alert=summary, data=data or {})
        self.messages.append(message)
        self.webhooks.enqueue(message)

    def _summary(self, alert: Alert) -> AlertSummary:
        deadlines = self.repository.deadlines_of([alert.id])[alert.id]
        return readers.summary(alert, deadlines)

    # -- SLA -------------------------------------------------------------------------------

    def check_deadlines(self, now: datetime) -> tuple[int, int]:
        """Warn on clocks about to run out; escalate breached ones. Returns (warned, breached).

        A breach marks the alert as breached for good and escalates it one level up the
        jurisdiction tree from where it is now (a second breach goes one more level up).
        """
        warned = breached = 0
        horizon = now + timedelta(seconds=self.settings.warn_before_seconds)
        for deadline in self.repository.unmet_deadlines_due(horizon):
            # The SLA clock is the node's own work: every alert is its business.
            alert = self._get(deadline.alert_id, scope=JurisdictionScope.unscoped())
            if alert.state == AlertState.CLOSED.value:
                continue
            data = {"milestone": deadline.milestone, "due_at": deadline.due_at.isoformat()}
            if deadline.due_at <= now:
                deadline.breached_at = now
                alert.is_breached = True
                current = alert.escalated_to_jurisdiction_id or alert.jurisdiction_id
                target = self.tree.parent(current)
                self._record(
                    alert, "breached", None, None, user_id=None, ip=None, note="", data=data
                )
                if target is not None:
                    alert.escalated_to_jurisdiction_id = target
                    self._record(
                        alert,
                        "escalated",
                        None,
                        None,
                        user_id=None,
                        ip=None,
                        note="",
                        data={"from": current, "to": target},
                    )
                self.repository.flush()
                self._emit("alert.breached", alert, {**data, "escalated_to": target})
                breached += 1
            elif deadline.warned_at is None:
                deadline.warned_at = now
                self._record(alert, "warned", None, None, user_id=None, ip=None, note="", data=data)
                self.repository.flush()
                self._emit("alert.warning", alert, data)
                warned += 1
        return warned, breached

    # -- reading ---------------------------------------------------------------------------

    def finding(self, alert_id: int, *, scope: JurisdictionScope) -> AlertFinding:
        """What an alert is about (rule, subject, place), for what confirming it changes
        elsewhere (the registry loop, #15); 404 outside `scope`."""
        alert = self._get(alert_id, scope=scope)
        return AlertFinding(alert.rule, alert.subject, alert.place_id, alert.community_id)

    def replayed(
        self, alert_id: int, *, user_id: int, idempotency_key: str, scope: JurisdictionScope
    ) -> AlertDetail | None:
        """The alert, when `user_id` already took an action on it under `idempotency_key`
        (a phone resending what it queued offline); None when that key is new."""
        alert = self._get(alert_id, scope=scope)
        for action in self.repository.actions_of(alert.id):
            if action.user_id == user_id and action.data.get("idempotency_key") == idempotency_key:
                return self._detail(alert)
        return None

    def get_alert(self, alert_id: int, *, scope: JurisdictionScope) -> AlertDetail:
        """One alert in full; 404 outside `scope` (its existence is not disclosed)."""
        return self._detail(self._get(alert_id, scope=scope))

    def _detail(self, alert: Alert) -> AlertDetail:
        return readers.detail(
            alert,
            self.repository.deadlines_of([alert.id])[alert.id],
            self.repository.actions_of(alert.id),
            self._steps(alert),
            self.allowed_actions(alert),
            self.notes,
        )

    def allowed_actions(self, alert: Alert | AlertSummary) -> list[str]:
        state = AlertState(alert.state)
        actions = [name for name, (sources, _) in TRANSITIONS.items() if state in sources]
        if state in OPEN_STATES:
            if self.procedures.steps_for(alert.kind, alert.tier):
                actions.append("tick_step")
            actions.append("close")
        return actions

    def list_alerts(
        self,
        filters: AlertFilter | None = None,
        *,
        scope: JurisdictionScope,
        page: int = 1,
        per_page: int = 50,
    ) -> AlertPage:
        """The alerts `scope` sees (owned by, or escalated to, its jurisdictions), newest
        first; `filters.jurisdiction_id` narrows within the scope, never beyond it."""
        filters = filters or AlertFilter()
        if page < 1:
            raise BadRequestError("page must be 1 or more", field="page")
        if not 1 <= per_page <= 500:
            raise BadRequestError("per_page must lie between 1 and 500", field="per_page")
        rows, total = self.repository.list_alerts(
            filters,
            scope=self._within(scope, filters.jurisdiction_id),
            offset=(page - 1) * per_page,
            limit=per_page,
        )
        deadlines = self.repository.deadlines_of([row.id for row in rows])
        items = [readers.summary(row, deadlines[row.id]) for row in rows]
        return AlertPage(items=items, total=total, page=page, per_page=per_page)

    def open_assignments(self) -> dict[int, int]:
        """User id -> open alerts dispatched to them and not yet handled (dispatched or on
        site): a responder with none is available."""
        return self.repository.open_assignments()

    def counts_by_state(self) -> list[tuple[str, str, bool, int]]:
        """Node-wide (state, tier, breached, count): the operations figures (/metrics),
        counts with no alert in them, so they are not cut to a jurisdiction."""
        return self.repository.counts_by_state()

    def identifier_tokens(self) -> set[str]:
        """Vault tokens the alerts hold (watchlist plates): a reveal from an alert needs
        their vault entries, so retention must count them as held, as the stored events'."""
        return self.repository.plate_tokens()

    def open_device_alerts(
        self, *, scope: JurisdictionScope, community_id: str | None = None
    ) -> list[AlertSummary]:
        rows = [
            row
            for row in self.repository.open_alerts(scope=scope)
            if row.kind in UNCORRELATED_KINDS
            and (community_id is None or row.community_id == community_id)
        ]
        deadlines = self.repository.deadlines_of([row.id for row in rows])
        return [readers.summary(row, deadlines[row.id]) for row in rows]

    def my_todos(self, user_id: int, *, scope: JurisdictionScope) -> list[TodoItem]:
        """Open alerts this user (seeing `scope`) must act on, with the next deadline."""
        user = AccessService(self.session).get_user(user_id)
        if user is None:
            raise NotFoundError(f"no user {user_id}", field="user_id")
        mine = self.repository.open_alerts_of(
            scope=require_scope(scope),
            user_id=user_id,
            role=user.role.value,
            everything=user.role is Role.ADMIN,
        )
        deadlines = self.repository.deadlines_of([row.id for row in mine])
        items = [readers.todo(row, deadlines[row.id], self.allowed_actions(row)) for row in mine]
        far = datetime.max.replace(tzinfo=self.clock.now().tzinfo)
        return sorted(items, key=lambda item: (item.due_at or far, item.alert.id))

    def counts_today(self, *, scope: JurisdictionScope, zone: tzinfo = readers.CST) -> TodayCounts:
        """Today's figures; "today" is the day in `zone` (the pages' display zone)."""
        return readers.counts_today(self.repository, require_scope(scope), self.clock.now(), zone)

    def weekly_series(
        self, *, scope: JurisdictionScope, days: int = 7, zone: tzinfo = readers.CST
    ) -> list[DaySeries]:
        """Per day of `zone` over the last `days` days (see `readers.weekly_series`)."""
        return readers.weekly_series(
            self.repository, require_scope(scope), self.clock.now(), days, zone
        )

    def kpis(
        self, *, scope: JurisdictionScope, jurisdiction_id: str | None = None, days: int = 30
    ) -> KpiReport:
        """KPIs over `scope`, or over the subtree of `jurisdiction_id` within it (400 for a
        jurisdiction the scope does not hold, or one the tree does not know)."""
        if jurisdiction_id is not None:
            if jurisdiction_id not in self.tree.parents:
                raise BadRequestError(
                    f"unknown jurisdiction '{jurisdiction_id}'", field="jurisdiction"
                )
            if not require_scope(scope).contains(jurisdiction_id):
                raise BadRequestError(
                    f"jurisdiction '{jurisdiction_id}' is not in your jurisdiction '{scope.root}'",
                    field="jurisdiction",
                )
        return readers.kpis(
            self.repository,
            self._within(scope, jurisdiction_id),
            jurisdiction_id if jurisdiction_id is not None else scope.root,
            self.clock.now(),
            days,
        )

    def online_rate_series(
        self, *, scope: JurisdictionScope, community_id: str | None = None, hours: int = 24
    ) -> list[OnlineRatePoint]:
        now = self.clock.now()
        if community_id is not None:
            scope = require_scope(scope).narrowed(
                frozenset(self.tree.parents), frozenset({community_id})
            )
        rows = self.repository.samples(
            now - timedelta(hours=hours), now + timedelta(seconds=1), scope=scope
        )
        return [
            OnlineRatePoint(
                sampled_at=r.sampled_at,
                community_id=r.community_id,
                device_kind=r.device_kind,
                total=r.total,
                online=r.online,
                rate_pct=100.0 * r.online / r.total if r.total else 100.0,
            )
            for r in rows
        ]

    # -- what goes up to the parent node (zhian.cascade) -----------------------------------

    def history_after(self, after_id: int, limit: int) -> list[AlertHistoryEntry]:
        """Every alert's history entries above `after_id`, oldest first (all scopes: the
        node forwards its whole jurisdiction; the parent scopes them for its users)."""
        return [
            AlertHistoryEntry(
                action_id=action.id,
                alert_id=alert.id,
                action=action.action,
                from_state=action.from_state,
                to_state=action.to_state,
                at=action.at,
                rule=alert.rule,
                kind=alert.kind,
                tier=alert.tier,
                title_zh=alert.title_zh,
                title_en=alert.title_en,
                community_id=alert.community_id,
                jurisdiction_id=alert.jurisdiction_id,
                device_id=alert.device_id,
                watchlist_entry_id=_watchlist_entry_of(alert),
            )
            for action, alert in self.repository.actions_after(after_id, limit)
        ]

    def online_samples_after(self, after_id: int, limit: int) -> list[OnlineSampleRead]:
        """Device online samples above `after_id`, oldest first."""
        return [
            OnlineSampleRead(
                id=row.id,
                sampled_at=row.sampled_at,
                community_id=row.community_id,
                device_kind=row.device_kind,
                total=row.total,
                online=row.online,
            )
            for row in self.repository.samples_after(after_id, limit)
        ]

    def newest_history_ids(self) -> tuple[int, int]:
        """The newest alert history id and online sample id (0 when none)."""
        return self.repository.newest_action_id(), self.repository.newest_sample_id()


def _watchlist_entry_of(alert: Alert) -> int | None:
    """The watchlist entry a watchlist hit names in its subject (`entry:<id>`)."""
    prefix = "entry:"
    if alert.rule != "watchlist" or not alert.subject.startswith(prefix):
        return None
    number = alert.subject.removeprefix(prefix)
    return int(number) if number.isdigit() else None


def _note(note: str, field: str = "note", max_chars: int = MAX_NOTE_CHARS) -> str:
    """What an officer typed (a note, a reason, the feedback), trimmed: plain text only,
    as every text from the public and the field (no markup or script, no control or
    bidirectional character); a 400 naming `field` otherwise."""
    if len(note) > max_chars:
        raise BadRequestError(f"{field} is longer than {max_chars} characters", field=field)
    fault = plain_text_fault(note)
    if fault is not None:
        raise BadRequestError(f"{field} {fault}", field=field)
    return note.strip()
