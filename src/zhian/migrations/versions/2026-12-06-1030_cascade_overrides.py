"""cascade overrides: the presets each child keeps its own value for (#17)

Revision ID: 0016overrides
Revises: 0001
Create Date: 2026-12-06 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0016overrides"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0016cascade",)


def upgrade() -> None:
    op.create_table(
        "cascade_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("preset", sa.Float(), nullable=False),
        sa.Column("local", sa.Float(), nullable=False),
        sa.Column("reported_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cascade_overrides")),
        sa.UniqueConstraint(
            "node_id", "community_id", "name", name=op.f("uq_cascade_overrides_node_id")
        ),
    )
    op.create_index(
        op.f("ix_cascade_overrides_node_id"), "cascade_overrides", ["node_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_cascade_overrides_node_id"), table_name="cascade_overrides")
    op.drop_table("cascade_overrides")
