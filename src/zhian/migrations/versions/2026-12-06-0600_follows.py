"""follows: the persons, vehicles and houses an officer follows (辖区关注) (#15)

Revision ID: 0012follows
Revises: 0001
Create Date: 2026-12-06 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0012follows"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_follows_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follows")),
        sa.UniqueConstraint("user_id", "kind", "subject_id", name=op.f("uq_follows_user_id")),
    )
    op.create_index(op.f("ix_follows_user_id"), "follows", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_follows_user_id"), table_name="follows")
    op.drop_table("follows")
