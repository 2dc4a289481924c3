"""the case library (案例库): entries with lessons, shared up the cascade (#19)

Revision ID: 0023caselib
Revises: 0001
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0023caselib"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXED = ("category", "occurred_at", "jurisdiction_id", "share_seq", "updated_at")


def upgrade() -> None:
    op.create_table(
        "case_studies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("what_worked", sa.Text(), nullable=False),
        sa.Column("lessons", sa.Text(), nullable=False),
        sa.Column("tags", sa.String(length=400), nullable=False),
        sa.Column("occurred_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("alert_ids", sa.JSON(), nullable=False),
        sa.Column("case_ids", sa.JSON(), nullable=False),
        sa.Column("is_shared", sa.Boolean(), nullable=False),
        sa.Column("share_seq", sa.Integer(), nullable=True),
        sa.Column("origin_node", sa.String(length=64), nullable=True),
        sa.Column("origin_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_studies")),
        sa.UniqueConstraint("origin_node", "origin_id", name=op.f("uq_case_studies_origin_node")),
    )
    for column in _INDEXED:
        op.create_index(op.f(f"ix_case_studies_{column}"), "case_studies", [column], unique=False)


def downgrade() -> None:
    for column in _INDEXED:
        op.drop_index(op.f(f"ix_case_studies_{column}"), table_name="case_studies")
    op.drop_table("case_studies")
