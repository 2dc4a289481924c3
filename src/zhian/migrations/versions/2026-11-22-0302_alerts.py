"""alerts, rules and watchlists (issue #3)

Revision ID: 0002alerts
Revises: 0001
Create Date: 2026-11-22 03:02:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0002alerts"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("place_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=True),
        sa.Column("opened_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_alert_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(op.f("ix_incidents_place_id"), "incidents", ["place_id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("active_key", sa.String(length=400), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("place_id", sa.String(length=64), nullable=False),
        sa.Column("place_name", sa.String(length=200), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("community_id", sa.String(length=64), nullable=True),
        sa.Column("jurisdiction_id", sa.String(length=64), nullable=True),
        sa.Column("owner_role", sa.String(length=32), nullable=False),
        sa.Column("escalated_to_jurisdiction_id", sa.String(length=64), nullable=True),
        sa.Column("title_zh", sa.String(length=500), nullable=False),
        sa.Column("title_en", sa.String(length=500), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("is_breached", sa.Boolean(), nullable=False),
        sa.Column("created_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("first_seen_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("signed_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.Integer(), nullable=True),
        sa.Column("dispatched_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("on_site_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("handled_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("closed_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_alerts_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("active_key", name=op.f("uq_alerts_active_key")),
    )
    op.create_index(op.f("ix_alerts_rule"), "alerts", ["rule"], unique=False)
    op.create_index(op.f("ix_alerts_kind"), "alerts", ["kind"], unique=False)
    op.create_index(op.f("ix_alerts_tier"), "alerts", ["tier"], unique=False)
    op.create_index(op.f("ix_alerts_state"), "alerts", ["state"], unique=False)
    op.create_index(op.f("ix_alerts_place_id"), "alerts", ["place_id"], unique=False)
    op.create_index(op.f("ix_alerts_device_id"), "alerts", ["device_id"], unique=False)
    op.create_index(op.f("ix_alerts_community_id"), "alerts", ["community_id"], unique=False)
    op.create_index(op.f("ix_alerts_jurisdiction_id"), "alerts", ["jurisdiction_id"], unique=False)
    op.create_index(
        op.f("ix_alerts_escalated_to_jurisdiction_id"),
        "alerts",
        ["escalated_to_jurisdiction_id"],
        unique=False,
    )
    op.create_index(op.f("ix_alerts_incident_id"), "alerts", ["incident_id"], unique=False)
    op.create_index(op.f("ix_alerts_created_at"), "alerts", ["created_at"], unique=False)
    op.create_index(op.f("ix_alerts_assignee_id"), "alerts", ["assignee_id"], unique=False)
    op.create_index(op.f("ix_alerts_closed_at"), "alerts", ["closed_at"], unique=False)

    op.create_table(
        "alert_actions",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_actions_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_actions")),
    )
    op.create_index(op.f("ix_alert_actions_alert_id"), "alert_actions", ["alert_id"], unique=False)

    op.create_table(
        "alert_deadlines",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("milestone", sa.String(length=16), nullable=False),
        sa.Column("due_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("met_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("warned_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("breached_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_deadlines_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deadlines")),
    )
    op.create_index(
        op.f("ix_alert_deadlines_alert_id"), "alert_deadlines", ["alert_id"], unique=False
    )
    op.create_index(op.f("ix_alert_deadlines_due_at"), "alert_deadlines", ["due_at"], unique=False)

    op.create_table(
        "alert_procedure_steps",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_procedure_steps_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_procedure_steps")),
    )
    op.create_index(
        op.f("ix_alert_procedure_steps_alert_id"),
        "alert_procedure_steps",
        ["alert_id"],
        unique=False,
    )

    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("message_type", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name=op.f("fk_webhook_deliveries_subscription_id_webhook_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_subscription_id"),
        "webhook_deliveries",
        ["subscription_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_webhook_deliveries_status"), "webhook_deliveries", ["status"], unique=False
    )
    op.create_index(
        op.f("ix_webhook_deliveries_next_attempt_at"),
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
    )

    op.create_table(
        "device_online_samples",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("sampled_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("device_kind", sa.String(length=32), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("online", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_online_samples")),
    )
    op.create_index(
        op.f("ix_device_online_samples_sampled_at"),
        "device_online_samples",
        ["sampled_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_device_online_samples_community_id"),
        "device_online_samples",
        ["community_id"],
        unique=False,
    )

    op.create_table(
        "rule_checkpoints",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rule_checkpoints")),
    )

    op.create_table(
        "watchlist_entries",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=True),
        sa.Column("subject_ref", sa.String(length=128), nullable=True),
        sa.Column("feature", sa.Text(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("legal_basis_kind", sa.String(length=32), nullable=False),
        sa.Column("legal_basis_ref", sa.String(length=128), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("created_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.Integer(), nullable=True),
        sa.Column("withdraw_reason", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_entries")),
    )
    op.create_index(
        op.f("ix_watchlist_entries_plate"), "watchlist_entries", ["plate"], unique=False
    )
    op.create_index(
        op.f("ix_watchlist_entries_subject_ref"), "watchlist_entries", ["subject_ref"], unique=False
    )
    op.create_index(
        op.f("ix_watchlist_entries_jurisdiction_id"),
        "watchlist_entries",
        ["jurisdiction_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_watchlist_entries_expires_at"), "watchlist_entries", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_watchlist_entries_plate"), table_name="watchlist_entries")
    op.drop_index(op.f("ix_watchlist_entries_subject_ref"), table_name="watchlist_entries")
    op.drop_index(op.f("ix_watchlist_entries_jurisdiction_id"), table_name="watchlist_entries")
    op.drop_index(op.f("ix_watchlist_entries_expires_at"), table_name="watchlist_entries")
    op.drop_table("watchlist_entries")
    op.drop_table("rule_checkpoints")
    op.drop_index(op.f("ix_device_online_samples_sampled_at"), table_name="device_online_samples")
    op.drop_index(op.f("ix_device_online_samples_community_id"), table_name="device_online_samples")
    op.drop_table("device_online_samples")
    op.drop_index(op.f("ix_webhook_deliveries_subscription_id"), table_name="webhook_deliveries")
    op.drop_index(op.f("ix_webhook_deliveries_status"), table_name="webhook_deliveries")
    op.drop_index(op.f("ix_webhook_deliveries_next_attempt_at"), table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_subscriptions")
    op.drop_index(op.f("ix_alert_procedure_steps_alert_id"), table_name="alert_procedure_steps")
    op.drop_table("alert_procedure_steps")
    op.drop_index(op.f("ix_alert_deadlines_alert_id"), table_name="alert_deadlines")
    op.drop_index(op.f("ix_alert_deadlines_due_at"), table_name="alert_deadlines")
    op.drop_table("alert_deadlines")
    op.drop_index(op.f("ix_alert_actions_alert_id"), table_name="alert_actions")
    op.drop_table("alert_actions")
    op.drop_index(op.f("ix_alerts_rule"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_kind"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_tier"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_state"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_place_id"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_device_id"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_community_id"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_jurisdiction_id"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_escalated_to_jurisdiction_id"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_incident_id"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_created_at"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_assignee_id"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_closed_at"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_index(op.f("ix_incidents_place_id"), table_name="incidents")
    op.drop_table("incidents")
