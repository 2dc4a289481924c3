"""live messages: the cross-process live feed's messages, read by id after a NOTIFY

Revision ID: 0009livefeed
Revises: 0001
Create Date: 2026-12-06 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0009livefeed"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("published_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_messages")),
    )
    op.create_index(
        op.f("ix_live_messages_published_at"), "live_messages", ["published_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_live_messages_published_at"), table_name="live_messages")
    op.drop_table("live_messages")
