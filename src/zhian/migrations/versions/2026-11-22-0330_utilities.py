"""utilities: daily water and electricity readings per house (vacant-house model)

Revision ID: 0005utilities
Revises: 0001
Create Date: 2026-11-22 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005utilities"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "utility_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("house_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("water_m3", sa.Float(), nullable=True),
        sa.Column("electricity_kwh", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["house_id"], ["houses.id"], name=op.f("fk_utility_readings_house_id_houses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_utility_readings")),
        sa.UniqueConstraint("house_id", "day", name=op.f("uq_utility_readings_house_id")),
    )


def downgrade() -> None:
    op.drop_table("utility_readings")
