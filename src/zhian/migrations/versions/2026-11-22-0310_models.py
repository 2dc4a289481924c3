"""models: per-community model parameters and welfare-check opt-ins (issue #6)

Revision ID: 0003models
Revises: 0001
Create Date: 2026-11-22 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhian.db.base

revision: str = "0003models"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_parameters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated_at", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_model_parameters_community_id_communities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_parameters")),
        sa.UniqueConstraint("community_id", "name", name=op.f("uq_model_parameters_community_id")),
    )
    op.create_index(op.f("ix_model_parameters_community_id"), "model_parameters", ["community_id"])
    op.create_table(
        "welfare_optins",
        sa.Column("resident_id", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=16), nullable=False),
        sa.Column("since", zhian.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_welfare_optins_resident_id_residents"),
        ),
        sa.PrimaryKeyConstraint("resident_id", name=op.f("pk_welfare_optins")),
    )


def downgrade() -> None:
    op.drop_table("welfare_optins")
    op.drop_index(op.f("ix_model_parameters_community_id"), table_name="model_parameters")
    op.drop_table("model_parameters")
