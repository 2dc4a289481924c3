"""cases: case records, analysts' link decisions, linkage model versions (#16)

Revision ID: 0012cases
Revises: 0001
Create Date: 2026-12-06 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from zhian.db.base import UtcDateTime

revision: str = "0012cases"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("time_from", UtcDateTime(), nullable=False),
        sa.Column("time_to", UtcDateTime(), nullable=False),
        sa.Column("time_of_day", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("house_id", sa.String(length=64), nullable=True),
        sa.Column("building_id", sa.String(length=64), nullable=True),
        sa.Column("community_id", sa.String(length=64), nullable=True),
        sa.Column("jurisdiction_id", sa.String(length=64), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("mo", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("is_solved", sa.Boolean(), nullable=False),
        sa.Column("offender_token", sa.String(length=64), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_index(op.f("ix_cases_category"), "cases", ["category"])
    op.create_index(op.f("ix_cases_time_from"), "cases", ["time_from"])
    op.create_index(op.f("ix_cases_jurisdiction_id"), "cases", ["jurisdiction_id"])
    op.create_index(op.f("ix_cases_latitude"), "cases", ["latitude"])
    op.create_index(op.f("ix_cases_offender_token"), "cases", ["offender_token"])
    op.create_table(
        "case_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_a", sa.String(length=64), nullable=False),
        sa.Column("case_b", sa.String(length=64), nullable=False),
        sa.Column("is_accepted", sa.Boolean(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_links")),
        sa.UniqueConstraint("case_a", "case_b", name=op.f("uq_case_links_case_a")),
    )
    op.create_index("ix_case_links_case_b", "case_links", ["case_b"])
    op.create_table(
        "linkage_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("labelled_cases", sa.Integer(), nullable=False),
        sa.Column("train_cases", sa.Integer(), nullable=False),
        sa.Column("test_cases", sa.Integer(), nullable=False),
        sa.Column("train_pairs", sa.Integer(), nullable=False),
        sa.Column("test_pairs", sa.Integer(), nullable=False),
        sa.Column("auc", sa.Float(), nullable=True),
        sa.Column("auc_distance", sa.Float(), nullable=True),
        sa.Column("auc_time", sa.Float(), nullable=True),
        sa.Column("auc_distance_time", sa.Float(), nullable=True),
        sa.Column("brier", sa.Float(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkage_models")),
    )


def downgrade() -> None:
    op.drop_table("linkage_models")
    op.drop_index("ix_case_links_case_b", table_name="case_links")
    op.drop_table("case_links")
    for column in ("offender_token", "latitude", "jurisdiction_id", "time_from", "category"):
        op.drop_index(op.f(f"ix_cases_{column}"), table_name="cases")
    op.drop_table("cases")
