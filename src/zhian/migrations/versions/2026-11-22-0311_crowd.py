"""crowd flow-limiting points

Revision ID: 0003crowd
Revises: 0001
Create Date: 2026-11-22 03:11:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003crowd"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crowd_flow_points",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("zone_id", sa.String(length=64), nullable=False),
        sa.Column("from_zone_id", sa.String(length=64), nullable=True),
        sa.Column("capacity_per_minute", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_crowd_flow_points_zone_id_zones")
        ),
        sa.ForeignKeyConstraint(
            ["from_zone_id"], ["zones.id"], name=op.f("fk_crowd_flow_points_from_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crowd_flow_points")),
    )
    with op.batch_alter_table("crowd_flow_points", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crowd_flow_points_zone_id"), ["zone_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_crowd_flow_points_from_zone_id"), ["from_zone_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("crowd_flow_points", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crowd_flow_points_from_zone_id"))
        batch_op.drop_index(batch_op.f("ix_crowd_flow_points_zone_id"))
    op.drop_table("crowd_flow_points")
