"""quarantine raw cut: original size and sha256 of an item kept only in part (#12)

Revision ID: 0011quarantinecut
Revises: 0001
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011quarantinecut"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine_items") as batch:
        batch.add_column(sa.Column("raw_size", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("raw_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantine_items") as batch:
        batch.drop_column("raw_sha256")
        batch.drop_column("raw_size")
