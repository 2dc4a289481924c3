"""tips: resident tips (随手拍) with sealed contact and photo references (#19)

Revision ID: 0016tips
Revises: 0001
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from zhian.db.base import UtcDateTime

revision: str = "0016tips"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("building_id", sa.String(length=64), nullable=True),
        sa.Column("community_id", sa.String(length=64), nullable=True),
        sa.Column("jurisdiction_id", sa.String(length=64), nullable=True),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("contact_token", sa.String(length=64), nullable=True),
        sa.Column("contact_enc", sa.LargeBinary(), nullable=True),
        sa.Column("contact_masked", sa.String(length=64), nullable=True),
        sa.Column("address_token", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rated_at", UtcDateTime(), nullable=True),
        sa.Column("submitted_at", UtcDateTime(), nullable=False),
        sa.Column("triaged_at", UtcDateTime(), nullable=True),
        sa.Column("triaged_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tips")),
        sa.UniqueConstraint("code", name=op.f("uq_tips_code")),
    )
    for name in (
        "category",
        "community_id",
        "jurisdiction_id",
        "contact_token",
        "address_token",
        "status",
        "alert_id",
        "submitted_at",
    ):
        op.create_index(op.f(f"ix_tips_{name}"), "tips", [name])


def downgrade() -> None:
    op.drop_table("tips")
