"""patrol check-ins at patrol points, positions of units on duty (#19)

Revision ID: 0016patrol
Revises: 0001
Create Date: 2026-12-06 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0016patrol"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patrol_checkins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("checked_in_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_checkins")),
        sa.UniqueConstraint("user_id", "idempotency_key", name=op.f("uq_patrol_checkins_user_id")),
    )
    for column in ("user_id", "building_id", "community_id", "checked_in_at"):
        op.create_index(
            op.f(f"ix_patrol_checkins_{column}"), "patrol_checkins", [column], unique=False
        )
    op.create_table(
        "patrol_positions",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=64), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("reported_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_patrol_positions")),
    )
    for column in ("jurisdiction_id", "reported_at"):
        op.create_index(
            op.f(f"ix_patrol_positions_{column}"), "patrol_positions", [column], unique=False
        )


def downgrade() -> None:
    for column in ("jurisdiction_id", "reported_at"):
        op.drop_index(op.f(f"ix_patrol_positions_{column}"), table_name="patrol_positions")
    op.drop_table("patrol_positions")
    for column in ("user_id", "building_id", "community_id", "checked_in_at"):
        op.drop_index(op.f(f"ix_patrol_checkins_{column}"), table_name="patrol_checkins")
    op.drop_table("patrol_checkins")
