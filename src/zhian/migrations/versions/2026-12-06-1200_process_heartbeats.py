"""process heartbeats: each process of a node reports role, version, host, pid, lag (#14)

Revision ID: 0028heartbeats
Revises: 0001
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0028heartbeats"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "process_heartbeats",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=128), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("lag_records", sa.Integer(), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_process_heartbeats")),
    )
    op.create_index(
        op.f("ix_process_heartbeats_seen_at"), "process_heartbeats", ["seen_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_process_heartbeats_seen_at"), table_name="process_heartbeats")
    op.drop_table("process_heartbeats")
