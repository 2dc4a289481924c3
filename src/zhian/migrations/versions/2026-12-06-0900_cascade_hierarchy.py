"""cascade hierarchy: forwarder positions, received orders, children's deliveries (#17)

Revision ID: 0016cascade
Revises: 0001
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0016cascade"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cascade_positions",
        sa.Column("stream", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_cascade_positions")),
    )
    op.create_table(
        "cascade_children",
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=64), nullable=True),
        sa.Column("registered_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_contact_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("batches", sa.BigInteger(), nullable=False),
        sa.Column("events_accepted", sa.BigInteger(), nullable=False),
        sa.Column("events_duplicate", sa.BigInteger(), nullable=False),
        sa.Column("events_held", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_cascade_children")),
    )
    op.create_table(
        "cascade_alert_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("action_id", sa.BigInteger(), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=True),
        sa.Column("at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("title_zh", sa.String(length=500), nullable=False),
        sa.Column("title_en", sa.String(length=500), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=True),
        sa.Column("jurisdiction_id", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cascade_alert_changes")),
        sa.UniqueConstraint("node_id", "action_id", name=op.f("uq_cascade_alert_changes_node_id")),
    )
    for column in ("node_id", "at", "community_id", "jurisdiction_id"):
        op.create_index(
            op.f(f"ix_cascade_alert_changes_{column}"), "cascade_alert_changes", [column]
        )
    op.create_table(
        "cascade_online_summaries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("sample_id", sa.BigInteger(), nullable=False),
        sa.Column("sampled_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("device_kind", sa.String(length=32), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("online", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cascade_online_summaries")),
        sa.UniqueConstraint(
            "node_id", "sample_id", name=op.f("uq_cascade_online_summaries_node_id")
        ),
    )
    for column in ("node_id", "sampled_at", "community_id"):
        op.create_index(
            op.f(f"ix_cascade_online_summaries_{column}"), "cascade_online_summaries", [column]
        )

    op.create_table(
        "cascade_orders",
        sa.Column("parent_entry_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("local_entry_id", sa.Integer(), nullable=False),
        sa.Column("parent_owner_user_id", sa.Integer(), nullable=False),
        sa.Column("received_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("parent_entry_id", name=op.f("pk_cascade_orders")),
        sa.UniqueConstraint("local_entry_id", name=op.f("uq_cascade_orders_local_entry_id")),
    )


def downgrade() -> None:
    op.drop_table("cascade_orders")
    op.drop_table("cascade_online_summaries")
    op.drop_table("cascade_alert_changes")
    op.drop_table("cascade_children")
    op.drop_table("cascade_positions")
