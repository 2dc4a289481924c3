"""place type parameters: zombie and vacancy thresholds per kind of place (issue #20)

Revision ID: 0020placetypes
Revises: 0001
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0020placetypes"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "place_type_parameters",
        sa.Column("place_type", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated_at", zhian.db.base.UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("place_type", "name", name=op.f("pk_place_type_parameters")),
    )


def downgrade() -> None:
    op.drop_table("place_type_parameters")
