"""place restrictions: which vehicles may pass a device or zone, when and which way (#20)

Revision ID: 0020restrict
Revises: 0001
Create Date: 2026-12-06 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020restrict"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "place_restrictions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("zone_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("governs_classes", sa.String(length=200), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("allowed_classes", sa.String(length=200), nullable=False),
        sa.Column("allowed_owners", sa.String(length=64), nullable=False),
        sa.Column("allowed_from_hour", sa.Integer(), nullable=True),
        sa.Column("allowed_until_hour", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_place_restrictions_device_id_devices")
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_place_restrictions_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_restrictions")),
    )
    op.create_index(op.f("ix_place_restrictions_device_id"), "place_restrictions", ["device_id"])
    op.create_index(op.f("ix_place_restrictions_zone_id"), "place_restrictions", ["zone_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_place_restrictions_zone_id"), table_name="place_restrictions")
    op.drop_index(op.f("ix_place_restrictions_device_id"), table_name="place_restrictions")
    op.drop_table("place_restrictions")
