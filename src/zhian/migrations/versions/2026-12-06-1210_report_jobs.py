"""report jobs: reports generated on demand in the background, with progress (#18)

Revision ID: 0024reportjobs
Revises: 0001
Create Date: 2026-12-06 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0024reportjobs"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=64), nullable=True),
        sa.Column("day", sa.String(length=10), nullable=True),
        sa.Column("lang", sa.String(length=4), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("file_name", sa.String(length=128), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", zhian.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_jobs")),
    )
    op.create_index(op.f("ix_report_jobs_user_id"), "report_jobs", ["user_id"])
    op.create_index(op.f("ix_report_jobs_created_at"), "report_jobs", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_report_jobs_created_at"), table_name="report_jobs")
    op.drop_index(op.f("ix_report_jobs_user_id"), table_name="report_jobs")
    op.drop_table("report_jobs")
