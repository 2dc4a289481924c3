"""report archive: generated report files kept per template, area, period and format (#18)

Revision ID: 0018reportarchive
Revises: 0001
Create Date: 2026-12-06 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0018reportarchive"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_archive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("jurisdiction_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("period_start", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("lang", sa.String(length=4), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_archive")),
        sa.UniqueConstraint(
            "kind",
            "jurisdiction_id",
            "period",
            "format",
            "lang",
            name=op.f("uq_report_archive_kind"),
        ),
    )
    op.create_index(
        op.f("ix_report_archive_jurisdiction_id"), "report_archive", ["jurisdiction_id"]
    )
    op.create_index(op.f("ix_report_archive_period_start"), "report_archive", ["period_start"])


def downgrade() -> None:
    op.drop_index(op.f("ix_report_archive_period_start"), table_name="report_archive")
    op.drop_index(op.f("ix_report_archive_jurisdiction_id"), table_name="report_archive")
    op.drop_table("report_archive")
