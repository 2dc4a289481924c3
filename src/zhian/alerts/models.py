"""Tables of the alert loop: alerts, their history, deadlines, incidents, procedures,
webhooks and device online-rate samples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class Incident(Base):
    """Several alerts at one place within a short window, handled as one situation."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[str] = mapped_column(String(64), index=True)
    community_id: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_alert_at: Mapped[datetime] = mapped_column(UtcDateTime)
    alert_count: Mapped[int] = mapped_column(Integer, default=0)


class Alert(Base):
    """A warning raised by a rule or model, owned by a jurisdiction and a role, on a clock.

    `active_key` holds `rule|subject|place` while the alert is open and NULL once closed:
    its unique index keeps one open alert per key, whatever the backend.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    tier: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    outcome: Mapped[str | None] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(400))
    active_key: Mapped[str | None] = mapped_column(String(400), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    place_id: Mapped[str] = mapped_column(String(64), index=True)
    place_name: Mapped[str | None] = mapped_column(String(200))
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    community_id: Mapped[str | None] = mapped_column(String(64), index=True)
    jurisdiction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    owner_role: Mapped[str] = mapped_column(String(32))
    escalated_to_jurisdiction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    title_zh: Mapped[str] = mapped_column(String(500))
    title_en: Mapped[str] = mapped_column(String(500))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    count: Mapped[int] = mapped_column(Integer, default=1)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    is_breached: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    signed_by: Mapped[int | None] = mapped_column(Integer)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    assignee_id: Mapped[int | None] = mapped_column(Integer, index=True)
    on_site_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # What the officer reported as done, sealed at rest (#12): it may name people.
    # `zhian.alerts.notes` seals it for the alert's id; NULL until the alert is handled.
    feedback_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    closed_by: Mapped[int | None] = mapped_column(Integer)


class AlertAction(Base):
    """One entry of an alert's history: who did what, when, from where, with what note."""

    __tablename__ = "alert_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(64))
    # What the officer typed (a note, a skipped step's reason), sealed at rest (#12) for
    # the alert's id by `zhian.alerts.notes`; NULL when nothing was typed.
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AlertDeadline(Base):
    """One SLA clock of an alert: a milestone (sign, on site, feedback, response) due by a time."""

    __tablename__ = "alert_deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    milestone: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    met_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ProcedureStep(Base):
    """A ticked or skipped step of an alert's response procedure (预案)."""

    __tablename__ = "alert_procedure_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    step: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    # A skipped step's reason, sealed at rest (#12) like the alert's notes; NULL if none.
    reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    user_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class ResponseProcedure(Base):
    """A response procedure (预案) of this node: the ordered steps of alerts of a kind
    (`*`: every kind) at a tier (`*`: every tier), see `zhian.alerts.procedures`.

    `origin` is `local` (the built-in default as seeded, or edited here: `updated_by` is
    then the user) or `parent` (pushed down by the parent node, docs/cascade.md)."""

    __tablename__ = "response_procedures"
    __table_args__ = (UniqueConstraint("kind", "tier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16))
    # [{"key", "text_zh", "text_en", "role"}], in order; empty: no checklist.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    origin: Mapped[str] = mapped_column(String(16))
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebhookSubscription(Base):
    """An outside system that receives live messages by signed HTTP POST."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    # The HMAC secret deliveries are signed with, sealed at rest (#12) for the id.
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    kinds: Mapped[list[str] | None] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookDelivery(Base):
    """One message to one subscription, retried with back-off until delivered or given up.

    The message can carry what an officer typed (a skipped step's reason) and an alert's
    title, so it is kept sealed (#12): `body_enc` is the JSON to POST, encrypted with the
    node's key ring for its subscription (`zhian.alerts.webhooks.delivery_context`).
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"), index=True)
    message_type: Mapped[str] = mapped_column(String(32))
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DeviceOnlineSample(Base):
    """How many devices of one kind in one community were reporting at one moment."""

    __tablename__ = "device_online_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    sampled_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    community_id: Mapped[str] = mapped_column(String(64), index=True)
    device_kind: Mapped[str] = mapped_column(String(32))
    total: Mapped[int] = mapped_column(Integer)
    online: Mapped[int] = mapped_column(Integer)


class LiveMessageRecord(Base):
    """A live-feed message published for other processes (`live.type = "postgres"`).

    The NOTIFY that follows it carries only its id: listeners read every record above the
    last id they saw, so one that lost its connection catches up when it is back. Kept
    for `live.keep_seconds`, then pruned by the publishers. The message can carry what an
    officer typed, so it is kept sealed (#12): `body_enc` is its JSON encrypted with the
    node's key ring for its id (`zhian.alerts.live_postgres.record_context`).
    """

    __tablename__ = "live_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)


class PushSubscription(Base):
    """A browser or phone of a user that receives Web Push notifications: the push
    service's endpoint and the keys the browser made for encrypting to it."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
