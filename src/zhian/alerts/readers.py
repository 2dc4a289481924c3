"""Turning alert rows into read schemas, and the figures of the workbench and KPI pages."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import Any

from zhian.access.scope import JurisdictionScope
from zhian.alerts.drafts import AlertDraft
from zhian.alerts.models import Alert, AlertAction, AlertDeadline, ProcedureStep
from zhian.alerts.notes import NoteSealer
from zhian.alerts.online_rate import online_rate_pct
from zhian.alerts.procedures import ProcedureStepSpec
from zhian.alerts.repository import AlertRepository
from zhian.alerts.schemas import (
    ActionRead,
    AlertDetail,
    AlertFilter,
    AlertState,
    AlertSummary,
    DaySeries,
    DeadlineRead,
    EvidenceRead,
    KpiReport,
    Outcome,
    StepRead,
    Tier,
    TodayCounts,
    TodoItem,
)

# Days for the workbench are China Standard Time days, whatever the server's zone.
CST = timezone(timedelta(hours=8))
_IMAGE_REF = re.compile(r"^img:[0-9a-f]{64}\.(jpg|png)$")
# The deadline each next action races against.
_ACTION_MILESTONES = {
    "sign": ("sign", "response", "feedback"),
    "dispatch": ("on_site", "response", "feedback"),
    "arrive": ("on_site", "response", "feedback"),
    "handle": ("feedback",),
    "close": (),
}


def is_image_ref(ref: str) -> bool:
    return bool(_IMAGE_REF.match(ref))


def _event_json(draft: AlertDraft) -> list[dict[str, str]]:
    return [
        {"id": e.id, "type": e.type, "device_id": e.device_id, "time": e.time.isoformat()}
        for e in draft.events
    ]


def evidence_json(draft: AlertDraft) -> dict[str, Any]:
    return {
        "events": _event_json(draft),
        "images": list(draft.images),
        "figures": dict(draft.figures),
        "candidates": [
            {"entry_id": c.entry_id, "label": c.label, "score": c.score} for c in draft.candidates
        ],
        "explanation_zh": draft.explanation_zh,
        "explanation_en": draft.explanation_en,
    }


def merge_evidence(old: dict[str, Any], draft: AlertDraft, max_events: int) -> dict[str, Any]:
    """A repeat adds its events and images (newest kept) and updates the figures."""
    merged = dict(old)
    seen = {e["id"] for e in old.get("events", [])}
    events = list(old.get("events", [])) + [e for e in _event_json(draft) if e["id"] not in seen]
    merged["events"] = events[-max_events:]
    images = list(old.get("images", [])) + [
        i for i in draft.images if i not in old.get("images", [])
    ]
    merged["images"] = images[-max_events:]
    merged["figures"] = {**old.get("figures", {}), **draft.figures}
    if draft.candidates:
        merged["candidates"] = evidence_json(draft)["candidates"]
    merged["explanation_zh"], merged["explanation_en"] = draft.explanation_zh, draft.explanation_en
    return merged


def _deadline(row: AlertDeadline) -> DeadlineRead:
    return DeadlineRead(
        milestone=row.milestone,
        due_at=row.due_at,
        met_at=row.met_at,
        warned_at=row.warned_at,
        breached_at=row.breached_at,
    )


def _summary_fields(alert: Alert, deadlines: Sequence[AlertDeadline]) -> dict[str, Any]:
    unmet = [d for d in deadlines if d.met_at is None]
    return {
        "id": alert.id,
        "kind": alert.kind,
        "rule": alert.rule,
        "tier": Tier(alert.tier),
        "state": AlertState(alert.state),
        "outcome": None if alert.outcome is None else Outcome(alert.outcome),
        "title_zh": alert.title_zh,
        "title_en": alert.title_en,
        "device_id": alert.device_id,
        "place_id": alert.place_id,
        "place_name": alert.place_name,
        "community_id": alert.community_id,
        "jurisdiction_id": alert.jurisdiction_id,
        "owner_role": alert.owner_role,
        "escalated_to_jurisdiction_id": alert.escalated_to_jurisdiction_id,
        "count": alert.count,
        "incident_id": alert.incident_id,
        "is_breached": alert.is_breached,
        "next_deadline": _deadline(min(unmet, key=lambda d: d.due_at)) if unmet else None,
        "created_at": alert.created_at,
        "last_seen_at": alert.last_seen_at,
        "closed_at": alert.closed_at,
    }


def summary(alert: Alert, deadlines: Sequence[AlertDeadline]) -> AlertSummary:
    return AlertSummary(**_summary_fields(alert, deadlines))


@dataclass(frozen=True, slots=True)
class StepState:
    key: str
    text_zh: str
    text_en: str
    role: str | None
    status: str
    reason: str
    user_id: int | None
    at: datetime | None


def step_states(
    specs: Sequence[ProcedureStepSpec], rows: Sequence[ProcedureStep], notes: NoteSealer
) -> list[StepState]:
    done = {row.step: row for row in rows}
    out = []
    for spec in specs:
        row = done.get(spec.key)
        out.append(
            StepState(
                key=spec.key,
                text_zh=spec.text_zh,
                text_en=spec.text_en,
                role=spec.role,
                status="pending" if row is None else row.status,
                reason=""
                if row is None
                else notes.open("alert_procedure_steps.reason_enc", row.alert_id, row.reason_enc),
                user_id=None if row is None else row.user_id,
                at=None if row is None else row.at,
            )
        )
    return out


def detail(
    alert: Alert,
    deadlines: Sequence[AlertDeadline],
    actions: Sequence[AlertAction],
    steps: Sequence[StepState],
    allowed: list[str],
    notes: NoteSealer,
) -> AlertDetail:
    ev = alert.evidence
    return AlertDetail(
        **_summary_fields(alert, deadlines),
        evidence=EvidenceRead(
            events=ev.get("events", []),
            images=ev.get("images", []),
            figures=ev.get("figures", {}),
            candidates=ev.get("candidates", []),
            explanation_zh=ev.get("explanation_zh", alert.title_zh),
            explanation_en=ev.get("explanation_en", alert.title_en),
        ),
        timeline=[
            ActionRead(
                id=a.id,
                action=a.action,
                from_state=None if a.from_state is None else AlertState(a.from_state),
                to_state=None if a.to_state is None else AlertState(a.to_state),
                user_id=a.user_id,
                ip=a.ip,
                note=notes.open("alert_actions.note_enc", a.alert_id, a.note_enc),
                at=a.at,
                data=a.data,
            )
            for a in actions
        ],
        deadlines=[_deadline(d) for d in deadlines],
        procedure=[
            StepRead(
                key=s.key,
                text_zh=s.text_zh,
                text_en=s.text_en,
                role=s.role,
                status=s.status,
                reason=s.reason,
                user_id=s.user_id,
                at=s.at,
            )
            for s in steps
        ],
        actions=allowed,
        feedback=None
        if alert.feedback_enc is None
        else notes.open("alerts.feedback_enc", alert.id, alert.feedback_enc),
        attachments=list(alert.attachments or []),
        signed_at=alert.signed_at,
        signed_by=alert.signed_by,
        dispatched_at=alert.dispatched_at,
        assignee_id=alert.assignee_id,
        on_site_at=alert.on_site_at,
        handled_at=alert.handled_at,
        closed_by=alert.closed_by,
    )


def todo(alert: Alert, deadlines: Sequence[AlertDeadline], allowed: list[str]) -> TodoItem:
    action = next((a for a in allowed if a not in ("tick_step",)), "close")
    wanted = _ACTION_MILESTONES.get(action, ())
    due = [d.due_at for d in deadlines if d.met_at is None and d.milestone in wanted]
    return TodoItem(
        alert=summary(alert, deadlines), action=action, due_at=min(due) if due else None
    )


def _day_start(moment: datetime, zone: tzinfo = CST) -> datetime:
    """Midnight of `moment`'s day in `zone` (the pages' display zone)."""
    return datetime.combine(moment.astimezone(zone).date(), time(0), tzinfo=zone)


def counts_today(
    repo: AlertRepository, scope: JurisdictionScope, now: datetime, zone: tzinfo = CST
) -> TodayCounts:
    start = _day_start(now, zone)
    new_today = repo.count_alerts(
        AlertFilter(since=start, until=now + timedelta(seconds=1)), scope=scope
    )
    open_now, breached_open = repo.count_open(scope=scope)
    return TodayCounts(new_today=new_today, open_now=open_now, breached_open=breached_open)


def weekly_series(
    repo: AlertRepository,
    scope: JurisdictionScope,
    now: datetime,
    days: int,
    zone: tzinfo = CST,
) -> list[DaySeries]:
    """Per day: alerts handled (handled or closed resolved that day), alerts raised that day
    still open now, alerts closed as false alarms that day."""
    first = _day_start(now, zone) - timedelta(days=days - 1)
    starts = [first + timedelta(days=i) for i in range(days)]
    figures = repo.day_figures(
        [(start, start + timedelta(days=1)) for start in starts],
        raised_until=now + timedelta(seconds=1),
        scope=scope,
    )
    return [
        DaySeries(day=start.date(), handled=handled, open=still_open, false_alarm=false_alarm)
        for start, (handled, still_open, false_alarm) in zip(starts, figures, strict=True)
    ]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def kpis(
    repo: AlertRepository,
    scope: JurisdictionScope,
    jurisdiction_id: str | None,
    now: datetime,
    days: int,
) -> KpiReport:
    since = now - timedelta(days=days)
    until = now + timedelta(seconds=1)
    rows = repo.alerts_between(since, until, scope=scope)
    by_tier = {tier: 0 for tier in Tier}
    sign_seconds: list[float] = []
    close_seconds: list[float] = []
    closed: Counter[str] = Counter()
    false_alarms: Counter[str] = Counter()
    for row in rows:
        by_tier[Tier(row.tier)] += 1
        if row.signed_at is not None:
            sign_seconds.append((row.signed_at - row.created_at).total_seconds())
        if row.closed_at is not None:
            close_seconds.append((row.closed_at - row.created_at).total_seconds())
            closed[row.rule] += 1
            if row.outcome == Outcome.FALSE_ALARM.value:
                false_alarms[row.rule] += 1
    met = breached = 0
    for deadline in repo.deadlines_between(since, until, [row.id for row in rows]):
        if deadline.breached_at is not None:
            breached += 1
        elif deadline.met_at is not None:
            met += 1
    # The one online-rate definition (device-hours online ÷ device-hours), shared with the
    # devices page and the statistics (zhian.alerts.online_rate).
    online_rate = online_rate_pct(
        [
            (s.sampled_at, s.community_id, s.device_kind, s.total, s.online)
            for s in repo.samples(since, until, scope=scope)
        ],
        since,
    )
    return KpiReport(
        jurisdiction_id=jurisdiction_id,
        since=since,
        until=now,
        alerts_by_tier=by_tier,
        median_sign_seconds=_median(sign_seconds),
        median_close_seconds=_median(close_seconds),
        deadline_compliance_pct=100.0 * met / (met + breached) if met + breached else None,
        false_alarm_rate_by_rule={
            rule: false_alarms[rule] / n for rule, n in sorted(closed.items())
        },
        device_online_rate_pct=online_rate,
    )
