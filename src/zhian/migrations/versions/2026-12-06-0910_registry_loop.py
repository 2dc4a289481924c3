"""registry loop: confirmed model findings change the registry (一标三实, #15)

`house_changes` records each change a confirmed finding made to a house (its registered
use, a residence ended), with the alert and the officer; `residents.moved_out_at` ends a
residence without deleting the resident; `registration_drafts` holds the registrations a
confirmed unregistered-resident finding asks the officer to complete.

Revision ID: 0016registryloop
Revises: 0001
Create Date: 2026-12-06 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016registryloop"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("moved_out_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "house_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("house_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change", sa.String(length=32), nullable=False),
        sa.Column("before", sa.String(length=64), nullable=True),
        sa.Column("after", sa.String(length=64), nullable=True),
        sa.Column("resident_id", sa.String(length=64), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["house_id"], ["houses.id"], name=op.f("fk_house_changes_house_id_houses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_house_changes")),
    )
    op.create_index(op.f("ix_house_changes_house_id"), "house_changes", ["house_id"])
    op.create_table(
        "registration_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=True),
        sa.Column("place_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_drafts")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_registration_drafts_alert_id")),
    )
    op.create_index(
        op.f("ix_registration_drafts_community_id"), "registration_drafts", ["community_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_registration_drafts_community_id"), table_name="registration_drafts")
    op.drop_table("registration_drafts")
    op.drop_index(op.f("ix_house_changes_house_id"), table_name="house_changes")
    op.drop_table("house_changes")
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("moved_out_at")
