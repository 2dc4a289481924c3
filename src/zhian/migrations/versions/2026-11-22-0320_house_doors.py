"""house doors: a device may stand at one house (a rental's smart door lock)

Revision ID: 0004housedoors
Revises: 0001
Create Date: 2026-11-22 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004housedoors"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("house_id", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_devices_house_id_houses"), "houses", ["house_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_devices_house_id"), ["house_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_house_id"))
        batch_op.drop_constraint(batch_op.f("fk_devices_house_id_houses"), type_="foreignkey")
        batch_op.drop_column("house_id")
