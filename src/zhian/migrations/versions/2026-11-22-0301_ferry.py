"""ferry import ledger

Revision ID: 0002ferry
Revises: 0001
Create Date: 2026-11-22 03:01:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0002ferry"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ferry_imports",
        sa.Column("package_id", sa.String(length=64), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("images", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("package_id", name=op.f("pk_ferry_imports")),
    )
    with op.batch_alter_table("ferry_imports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ferry_imports_imported_at"), ["imported_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ferry_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ferry_imports_imported_at"))
    op.drop_table("ferry_imports")
